"""The start of a sensor stream (motiontrack.exercise.streams): the gyroscope's offset learnt
from the first still second before the orientation filter runs, so that a biased gyroscope
does not tilt the first seconds of a session."""

from __future__ import annotations

import json
import math

import numpy as np

from motiontrack.conventions import GRAVITY
from motiontrack.exercise.streams import SensorStream
from motiontrack.kinematics.inclination import up_in_sensor

FS = 100.0
BIAS = np.radians([1.8, -2.0, 1.5])  # rad/s: the benchmark's worst case (±2 °/s per axis)


def _still(seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A still sensor tilted 30° about x: readings with noise and a constant gyroscope bias."""
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    t = np.arange(n) / FS
    up = np.array([0.0, math.sin(math.radians(30.0)), math.cos(math.radians(30.0))])
    acc = GRAVITY * up + rng.normal(0.0, 0.02, (n, 3))
    gyr = BIAS + rng.normal(0.0, math.radians(0.1), (n, 3))
    return t, acc, gyr


def _feed(stream: SensorStream, t, acc, gyr, size: int = 7) -> list:
    rows = []
    for k in range(0, t.size, size):
        r, _ = stream.feed(t[k:k + size], acc[k:k + size], gyr[k:k + size], None,
                           np.full(t[k:k + size].size, math.nan))
        if r is not None:
            rows.append(r)
    return rows


def _tilt_err_deg(rows, acc_up: np.ndarray) -> np.ndarray:
    q = np.vstack([r.q for r in rows])
    u = up_in_sensor(q)
    return np.degrees(np.arccos(np.clip(u @ acc_up, -1.0, 1.0)))


def test_a_still_start_learns_the_offset_and_the_tilt_stays_true():
    t, acc, gyr = _still(3.0)
    s = SensorStream("s", FS)
    rows = _feed(s, t, acc, gyr)
    assert rows[0].t.size >= round(SensorStream.START_S * FS)  # the start was held back
    assert np.all(np.abs(np.degrees(s.gyr_offset - BIAS)) < 0.05)
    g = np.vstack([r.gyr for r in rows])
    np.testing.assert_allclose(g, gyr[: g.shape[0]])  # the rows keep the raw readings
    up = acc.mean(axis=0) / np.linalg.norm(acc.mean(axis=0))
    assert _tilt_err_deg(rows, up)[-50:].max() < 0.1
    # without the offset the same filter carries the bias's tilt out of its first seconds
    old = SensorStream("s", FS)
    old.gyr_offset = np.zeros(3)
    assert _tilt_err_deg(_feed(old, t, acc, gyr), up)[-50:].max() > 0.3


def test_a_moving_start_has_no_offset():
    t, acc, gyr = _still(3.0)
    gyr = gyr + np.radians(40.0) * np.sin(2 * np.pi * 0.7 * t)[:, None] * np.array([1.0, 0, 0])
    s = SensorStream("s", FS)
    _feed(s, t, acc, gyr)
    np.testing.assert_array_equal(s.gyr_offset, np.zeros(3))


def test_a_session_shorter_than_the_start_is_flushed():
    t, acc, gyr = _still(0.5)
    s = SensorStream("s", FS)
    assert _feed(s, t, acc, gyr) == []
    rows = s.flush()
    assert rows is not None and rows.t.size == t.size and np.isfinite(rows.q).all()
    assert s.flush() is None


def test_the_held_start_survives_a_saved_state():
    t, acc, gyr = _still(3.0)
    ref = np.vstack([r.q for r in _feed(SensorStream("s", FS), t, acc, gyr)])
    a = SensorStream("s", FS)
    k = 43  # inside the held start
    first = _feed(a, t[:k], acc[:k], gyr[:k])
    assert first == []
    b = SensorStream("s", FS)
    b.restore(json.loads(json.dumps(a.state())))
    rest = _feed(b, t[k:], acc[k:], gyr[k:])
    np.testing.assert_allclose(np.vstack([r.q for r in rest]), ref, atol=1e-12)


def _slow_turn(rate_deg_s: float, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor turning steadily at ``rate_deg_s`` about ``axis`` (sensor frame) for its
    first 1.5 s, then still: the gyroscope's variance is that of a still sensor."""
    t, acc, gyr = _still(3.0)
    axis = axis / np.linalg.norm(axis)
    turning = t < 1.5
    gyr = gyr - BIAS  # an unbiased gyroscope: any offset learnt is the turn
    gyr[turning] += math.radians(rate_deg_s) * axis
    ang = np.radians(rate_deg_s) * np.minimum(t, 1.5)
    up0 = acc[0] / np.linalg.norm(acc[0])
    for k in range(t.size):  # the gravity direction in the sensor frame turns the other way
        c, s_ = math.cos(-ang[k]), math.sin(-ang[k])
        up = up0 * c + np.cross(axis, up0) * s_ + axis * (axis @ up0) * (1 - c)
        acc[k] = GRAVITY * up + (acc[k] - GRAVITY * up0)
    return t, acc, gyr


def test_a_slow_steady_turn_at_the_start_is_not_taken_for_an_offset():
    # 3 °/s about a horizontal axis: the gyroscope is steady (still by its variance), but the
    # accelerometer turns by 3° over the second
    t, acc, gyr = _slow_turn(3.0, np.array([1.0, 0.0, 0.0]))
    s = SensorStream("s", FS)
    _feed(s, t, acc, gyr)
    np.testing.assert_array_equal(s.gyr_offset, np.zeros(3))
    # 7 °/s about the vertical: gravity does not move, but no gyroscope is offset that far
    up = np.array([0.0, math.sin(math.radians(30.0)), math.cos(math.radians(30.0))])
    t, acc, gyr = _slow_turn(7.0, up)
    s = SensorStream("s", FS)
    _feed(s, t, acc, gyr)
    np.testing.assert_array_equal(s.gyr_offset, np.zeros(3))
