"""Mahony against the ahrs package on identical inputs and parameters."""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.fusion import Mahony, fuse

ahrs_filters = pytest.importorskip("ahrs.filters")

MATCH_TOL = 1e-9  # acceptance: match ahrs to 1e-9 (observed ~1e-15)


def _motion(n: int = 2000, fs: float = 100.0, seed: int = 0, bias=(0.0, 0.0, 0.0)):
    from motiontrack.quaternion import from_rotvec, multiply, rotate

    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(0, 0.05, (n, 3)), axis=0)
    w -= w.mean(axis=0)
    q = np.empty((n, 4))
    q[0] = [1.0, 0, 0, 0]
    for i in range(1, n):
        q[i] = multiply(q[i - 1], from_rotvec(w[i] / fs))
    acc = rotate(q, np.array([0, 0, 9.81]), inverse=True) + rng.normal(0, 0.05, (n, 3))
    mag = rotate(q, np.array([0.0, 20.0, -44.0]), inverse=True) + rng.normal(0, 0.5, (n, 3))
    gyr = w + rng.normal(0, 0.01, (n, 3)) + np.asarray(bias)
    return acc, gyr, mag, q, fs


def _seeded(fs: float, q0: np.ndarray, **gains) -> Mahony:
    f = Mahony(fs=fs, initialize=False, **gains)
    s = f.state
    s[:4] = q0
    s[4] = 1.0  # initialised
    f.state = s
    return f


def _same_sign(ref: np.ndarray, q: np.ndarray) -> np.ndarray:
    return ref * np.sign(np.sum(ref * q, axis=1, keepdims=True))


@pytest.mark.parametrize(("seed", "kp", "ki"), [(0, 1.0, 0.3), (1, 0.5, 0.05), (2, 2.0, 1e-3)])
def test_imu_matches_ahrs(seed, kp, ki):
    acc, gyr, _, _, fs = _motion(seed=seed, bias=(0.01, -0.02, 0.005))
    ref = ahrs_filters.Mahony(gyr=gyr, acc=acc, frequency=fs, k_P=kp, k_I=ki).Q
    f = _seeded(fs, ref[0], kp=kp, ki=ki)
    q = f.update(acc[1:], gyr[1:])
    np.testing.assert_allclose(q, _same_sign(ref[1:], q), atol=MATCH_TOL)


@pytest.mark.parametrize(("seed", "kp", "ki"), [(0, 1.0, 0.3), (1, 0.5, 0.05)])
def test_marg_matches_ahrs(seed, kp, ki):
    # ahrs's Mahony takes the magnetic reference as (0, |h_xy|, h_z): north along +y, up +z,
    # i.e. ENU already, so no frame change is needed (unlike its Madgwick, which is NWU).
    acc, gyr, mag, _, fs = _motion(seed=seed, bias=(0.01, -0.02, 0.005))
    ref = ahrs_filters.Mahony(gyr=gyr, acc=acc, mag=mag, frequency=fs, k_P=kp, k_I=ki).Q
    f = _seeded(fs, ref[0], kp=kp, ki=ki)
    q = f.update(acc[1:], gyr[1:], mag[1:])
    np.testing.assert_allclose(q, _same_sign(ref[1:], q), atol=MATCH_TOL)


def test_per_sample_periods_match_ahrs():
    acc, gyr, _, _, fs = _motion(n=400, seed=4)
    dt = np.random.default_rng(4).uniform(0.005, 0.02, len(acc))
    m = ahrs_filters.Mahony(k_P=1.0, k_I=0.3)
    ref = np.empty((len(acc), 4))
    ref[0] = [1.0, 0.0, 0.0, 0.0]
    for t in range(1, len(acc)):
        ref[t] = m.updateIMU(ref[t - 1], gyr[t], acc[t], dt=dt[t])
    q = _seeded(fs, ref[0]).update(acc[1:], gyr[1:], dt=dt[1:])
    np.testing.assert_allclose(q, _same_sign(ref[1:], q), atol=MATCH_TOL)


def test_integral_term_learns_gyro_bias():
    bias = np.array([0.02, -0.015, 0.01])
    acc, gyr, mag, q_true, fs = _motion(n=12000, seed=3, bias=bias)
    f = Mahony(fs=fs)
    f.update(acc, gyr, mag)
    # Mahony's integral term converges to the bias (eq. 32b); noise/motion limit it to ~3 mrad/s
    np.testing.assert_allclose(f.gyr_bias, bias, atol=3e-3)


def test_fuse_method_name():
    acc, gyr, mag, _, fs = _motion(n=300)
    f = Mahony(fs=fs, kp=0.7)
    np.testing.assert_array_equal(fuse(acc, gyr, mag, fs=fs, method="mahony", kp=0.7), f.update(acc, gyr, mag))
