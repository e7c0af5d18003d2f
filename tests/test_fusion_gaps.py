"""Dropped gyroscope samples: their time is integrated with the next valid rate, not lost."""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.fusion import FILTERS, FusionFlag
from motiontrack.quaternion import angle_between, from_rotvec

CLASSIC = ["madgwick", "mahony", "complementary", "ekf"]
# first-order integrators (Madgwick, Mahony) take one step of 2 dt instead of two of dt
TOL_RAD = {"madgwick": 2e-4, "mahony": 2e-4, "complementary": 1e-12, "ekf": 1e-12}


def _integrate(method: str, gyr: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    f = FILTERS[method](fs=fs, initialize=False)
    acc = np.full_like(gyr, np.nan)  # no corrections: pure strapdown integration
    return f.update(acc, gyr), f.flags


@pytest.mark.parametrize("method", CLASSIC)
def test_dropped_samples_keep_their_rotation(method):
    fs, n = 100.0, 1000
    rate = np.array([0.4, -0.3, 0.8])
    gyr = np.tile(rate, (n, 1))
    holes = gyr.copy()
    holes[5::10] = np.nan  # every 10th sample dropped, never the last
    q_full, _ = _integrate(method, gyr, fs)
    q_holes, flags = _integrate(method, holes, fs)
    assert np.count_nonzero(flags & FusionFlag.GYR_GAP) == n // 10
    truth = from_rotvec(rate * n / fs)
    assert angle_between(q_holes[-1], q_full[-1]) < TOL_RAD[method]
    assert angle_between(q_holes[-1], truth) < max(TOL_RAD[method], 1e-9) + angle_between(q_full[-1], truth)


@pytest.mark.parametrize("method", CLASSIC)
def test_long_gap_time_is_not_carried(method):
    fs = 100.0
    rate = np.array([0.0, 0.0, 1.0])
    gyr = np.tile(rate, (300, 1))
    gyr[100:200] = np.nan  # 1 s without gyroscope: longer than MAX_GAP_CARRY_S
    q, _ = _integrate(method, gyr, fs)
    # only the 200 valid samples rotate the sensor
    assert angle_between(q[-1], from_rotvec(rate * 200 / fs)) < 1e-3


@pytest.mark.parametrize("method", CLASSIC)
def test_gap_carry_is_the_same_one_by_one_and_in_blocks(method):
    fs = 100.0
    rng = np.random.default_rng(7)
    gyr = rng.normal(0, 0.5, (200, 3))
    acc = rng.normal([0, 0, 9.81], 0.2, (200, 3))
    gyr[rng.random(200) < 0.1] = np.nan
    batch = FILTERS[method](fs=fs).update(acc, gyr)
    f = FILTERS[method](fs=fs)
    one = np.array([f.update(a, g) for a, g in zip(acc, gyr, strict=True)])
    np.testing.assert_array_equal(one, batch)
