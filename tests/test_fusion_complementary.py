"""Complementary filter: its time constants, decoupled heading, rejection."""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.fusion import Complementary, FusionFlag
from motiontrack.quaternion import angle_between, from_rotvec, rotate, to_euler_zyx

FS = 100.0
UP = np.array([0.0, 0.0, 1.0])
FIELD = np.array([0.0, 20.0, -44.0])  # µT, ENU (north +y, dipping down)


def _static(q_true: np.ndarray, n: int):
    acc = np.tile(rotate(q_true, 9.81 * UP, inverse=True), (n, 1))
    mag = np.tile(rotate(q_true, FIELD, inverse=True), (n, 1))
    return acc, np.zeros((n, 3)), mag


def _inclination_deg(q: np.ndarray, q_ref: np.ndarray) -> np.ndarray:
    a = rotate(q, UP, inverse=True)
    b = rotate(q_ref, UP, inverse=True)
    return np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)))


@pytest.mark.parametrize("tau", [0.5, 2.0])
def test_tilt_error_decays_with_the_time_constant(tau):
    """A static tilt error about a fixed horizontal axis decays exactly as exp(-t / tau)."""
    theta0 = 20.0
    q_true = from_rotvec(np.radians([theta0, 0.0, 0.0]))
    n = int(3 * tau * FS)
    acc, gyr, _ = _static(q_true, n)
    f = Complementary(fs=FS, tau_acc=tau, initialize=False)
    q = f.update(acc, gyr)
    t = np.arange(1, n + 1) / FS
    np.testing.assert_allclose(_inclination_deg(q, q_true), theta0 * np.exp(-t / tau), rtol=1e-9, atol=1e-12)


def test_time_constant_holds_with_irregular_periods():
    theta0, tau = 15.0, 1.0
    q_true = from_rotvec(np.radians([0.0, theta0, 0.0]))
    rng = np.random.default_rng(0)
    dt = rng.uniform(0.002, 0.03, 200)
    acc, gyr, _ = _static(q_true, len(dt))
    q = Complementary(fs=FS, tau_acc=tau, initialize=False).update(acc, gyr, dt=dt)
    np.testing.assert_allclose(_inclination_deg(q, q_true), theta0 * np.exp(-np.cumsum(dt) / tau), rtol=1e-9)


def test_heading_error_decays_with_its_time_constant():
    tau_mag, psi0 = 1.5, 30.0
    q_true = from_rotvec(np.radians([0.0, 0.0, psi0]))
    n = int(2 * tau_mag * FS)
    acc, gyr, mag = _static(q_true, n)
    q = Complementary(fs=FS, tau_mag=tau_mag, initialize=False).update(acc, gyr, mag)
    yaw_deg = to_euler_zyx(q)[:, 0]
    t = np.arange(1, n + 1) / FS
    np.testing.assert_allclose(yaw_deg, psi0 * (1 - np.exp(-t / tau_mag)), rtol=1e-9, atol=1e-9)


def test_magnetometer_never_changes_inclination():
    """Heading corrections turn about the vertical only: 6D and 9D share their inclination,
    even with a badly disturbed magnetometer."""
    from test_fusion_common import motion

    acc, gyr, mag, _ = motion(n=1500, seed=2)
    disturbed = mag + np.random.default_rng(3).normal(0, 30.0, mag.shape)
    q6 = Complementary(fs=FS).update(acc, gyr)
    q9 = Complementary(fs=FS, initialize=False).update(acc, gyr, disturbed)
    q6b = Complementary(fs=FS, initialize=False).update(acc, gyr)
    np.testing.assert_allclose(_inclination_deg(q9, q6b), 0.0, atol=1e-5)
    assert np.all(np.isfinite(q6))


def test_acc_rejection_skips_and_flags():
    q_true = from_rotvec(np.radians([10.0, 0.0, 0.0]))
    acc, gyr, _ = _static(q_true, 100)
    acc[40:60] *= 1.5  # 14.7 m/s²: linear acceleration
    f = Complementary(fs=FS, tau_acc=0.5, acc_rejection=2.0, initialize=False)
    q = f.update(acc, gyr)
    assert f.diagnostics.counts["acc_rejected"] == 20
    assert all(f.flags[40:60] & FusionFlag.ACC_REJECTED)
    np.testing.assert_array_equal(q[40:60], np.tile(q[39], (20, 1)))  # held while rejected


def test_zero_time_constants_are_pure_integration():
    rate = np.array([0.0, 0.0, 1.0])
    acc, _, mag = _static(np.array([1.0, 0, 0, 0]), 100)
    q = Complementary(fs=FS, tau_acc=0.0, tau_mag=0.0, initialize=False).update(acc, np.tile(rate, (100, 1)), mag)
    assert angle_between(q[-1], from_rotvec(rate)) < 1e-12
