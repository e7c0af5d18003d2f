"""Madgwick against the ahrs package on identical inputs (after the NWU -> ENU frame change)."""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.conventions import enu_from_nwu
from motiontrack.fusion import FusionFlag, Madgwick, fuse

ahrs_filters = pytest.importorskip("ahrs.filters")

MATCH_TOL = 1e-9  # acceptance: match ahrs to 1e-9


def _motion(n: int = 2000, fs: float = 100.0, seed: int = 0):
    """Smooth random rotation with noisy acc/mag consistent with it (ENU, 49 µT field)."""
    from motiontrack.quaternion import from_rotvec, multiply, rotate

    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(0, 0.05, (n, 3)), axis=0)
    w -= w.mean(axis=0)
    q = np.empty((n, 4))
    q[0] = [1.0, 0, 0, 0]
    for i in range(1, n):
        q[i] = multiply(q[i - 1], from_rotvec(w[i] / fs))
    g = rotate(q, np.array([0, 0, 9.81]), inverse=True)
    field = np.array([0.0, 20.0, -44.0])
    m = rotate(q, field, inverse=True)
    acc = g + rng.normal(0, 0.05, (n, 3))
    mag = m + rng.normal(0, 0.5, (n, 3))
    gyr = w + rng.normal(0, 0.01, (n, 3))
    return acc, gyr, mag, q, fs


def _seeded(fs: float, beta: float, q0: np.ndarray) -> Madgwick:
    f = Madgwick(fs=fs, beta=beta, initialize=False)
    s = f.state
    s[:4] = q0
    s[4] = 1.0  # initialised
    f.state = s
    return f


def _same_sign(ref: np.ndarray, q: np.ndarray) -> np.ndarray:
    return ref * np.sign(np.sum(ref * q, axis=1, keepdims=True))


@pytest.mark.parametrize("seed", [0, 1])
def test_imu_matches_ahrs(seed):
    acc, gyr, _, _, fs = _motion(seed=seed)
    ref = ahrs_filters.Madgwick(gyr=gyr, acc=acc, frequency=fs, gain=0.033).Q
    q = _seeded(fs, 0.033, ref[0]).update(acc[1:], gyr[1:])
    np.testing.assert_allclose(q, _same_sign(ref[1:], q), atol=MATCH_TOL)


@pytest.mark.parametrize("seed", [0, 1])
def test_marg_matches_ahrs_after_frame_change(seed):
    acc, gyr, mag, _, fs = _motion(seed=seed)
    ref = enu_from_nwu(ahrs_filters.Madgwick(gyr=gyr, acc=acc, mag=mag, frequency=fs, gain=0.041).Q)
    q = _seeded(fs, 0.041, ref[0]).update(acc[1:], gyr[1:], mag[1:])
    np.testing.assert_allclose(q, _same_sign(ref[1:], q), atol=MATCH_TOL)


def test_marg_tracks_truth_in_enu():
    from motiontrack.quaternion import angle_between

    acc, gyr, mag, q_true, fs = _motion(n=4000, seed=3)
    q = fuse(acc, gyr, mag, fs=fs, method="madgwick", beta=0.05)
    err = np.degrees(angle_between(q[1000:], q_true[1000:]))
    # noise-limited: 0.5 µT magnetometer and 0.05 m/s² accelerometer noise give ~1.5° RMS
    assert np.sqrt(np.mean(err**2)) < 2.0
    assert err.max() < 4.0


def test_zero_gain_is_pure_gyro_integration():
    fs = 200.0
    rate = np.array([0.3, -0.2, 0.5])
    n = 400
    f = Madgwick(fs=fs, beta=0.0, initialize=False)
    q = f.update(np.tile([0, 0, 9.81], (n, 1)), np.tile(rate, (n, 1)))
    from motiontrack.quaternion import to_rotvec

    # first-order integration of a constant rate: the rotation angle is rate * time to O(dt^2)
    np.testing.assert_allclose(to_rotvec(q[-1]), rate * n / fs, rtol=2e-3)


def test_nan_rows_are_skipped_and_counted():
    acc, gyr, mag, _, fs = _motion(n=500)
    acc[100:110] = np.nan
    gyr[200] = np.inf
    mag[300:305] = np.nan
    f = Madgwick(fs=fs)
    q = f.update(acc, gyr, mag)
    assert np.all(np.isfinite(q))
    c = f.diagnostics.counts
    assert (c["acc_gap"], c["gyr_gap"], c["mag_gap"]) == (10, 1, 5)
    assert f.flags[200] & FusionFlag.GYR_GAP
    np.testing.assert_array_equal(q[200], q[199])  # orientation held over a gyro gap
