"""Quaternion kernels against SciPy's Rotation on 10,000 random cases (scalar-last converted)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation

from motiontrack import quaternion as mq
from motiontrack.conventions import enu_from_ned, from_scipy, ned_from_enu, to_scipy
from motiontrack.errors import InputError

N = 10_000
TOL = 1e-12  # double-precision round-off over a handful of operations


@pytest.fixture(scope="module")
def rotations() -> tuple[Rotation, Rotation, np.ndarray]:
    r1 = Rotation.random(N, random_state=11)
    r2 = Rotation.random(N, random_state=12)
    v = np.random.default_rng(13).normal(size=(N, 3))
    return r1, r2, v


def test_multiply_matches_scipy(rotations):
    r1, r2, _ = rotations
    q = mq.multiply(from_scipy(r1.as_quat()), from_scipy(r2.as_quat()))
    assert np.max(mq.angle_between(q, from_scipy((r1 * r2).as_quat()))) < 1e-12


def test_rotate_matches_scipy(rotations):
    r1, _, v = rotations
    q = from_scipy(r1.as_quat())
    np.testing.assert_allclose(mq.rotate(q, v), r1.apply(v), atol=TOL)
    np.testing.assert_allclose(mq.rotate(q, v, inverse=True), r1.inv().apply(v), atol=TOL)


def test_matrix_round_trip_matches_scipy(rotations):
    r1, _, _ = rotations
    q = from_scipy(r1.as_quat())
    np.testing.assert_allclose(mq.to_matrix(q), r1.as_matrix(), atol=TOL)
    assert np.max(mq.angle_between(mq.from_matrix(r1.as_matrix()), q)) < 1e-12


def test_rotvec_matches_scipy(rotations):
    r1, _, _ = rotations
    q = from_scipy(r1.as_quat())
    np.testing.assert_allclose(mq.to_rotvec(q), r1.as_rotvec(), atol=1e-11)
    assert np.max(mq.angle_between(mq.from_rotvec(r1.as_rotvec()), q)) < 1e-12


def test_euler_zyx_matches_scipy(rotations):
    r1, _, _ = rotations
    ypr = mq.to_euler_zyx(from_scipy(r1.as_quat()))
    ref = r1.as_euler("ZYX", degrees=True)
    ok = np.abs(ref[:, 1]) < 89.0  # skip gimbal lock, as Fusion's tests do
    np.testing.assert_allclose(ypr[ok], ref[ok], atol=1e-9)


def test_small_rotvec_is_unit_and_exact():
    r = np.array([[1e-10, -2e-10, 3e-11], [0.0, 0.0, 0.0]])
    q = mq.from_rotvec(r)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-15)
    np.testing.assert_allclose(mq.to_rotvec(q), r, atol=1e-20)


def test_from_two_vectors_including_antiparallel():
    rng = np.random.default_rng(3)
    u = rng.normal(size=(500, 3))
    v = rng.normal(size=(500, 3))
    v[:50] = -u[:50] * 2.0  # antiparallel
    v[50:60] = u[50:60] * 3.0  # parallel
    q = mq.from_two_vectors(u, v)
    got = mq.rotate(q, u / np.linalg.norm(u, axis=1, keepdims=True))
    np.testing.assert_allclose(got, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-12)


def test_ned_enu_round_trip_and_meaning():
    # A sensor aligned with NED (x north, y east, z down) expressed in ENU.
    q_enu = enu_from_ned([1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(mq.rotate(q_enu, [1.0, 0, 0]), [0, 1.0, 0], atol=1e-15)  # north
    np.testing.assert_allclose(mq.rotate(q_enu, [0, 0, 1.0]), [0, 0, -1.0], atol=1e-15)  # down
    q = from_scipy(Rotation.random(100, random_state=5).as_quat())
    assert np.max(mq.angle_between(ned_from_enu(enu_from_ned(q)), q)) < 1e-15
    np.testing.assert_allclose(to_scipy(from_scipy(q)), q)


@given(arrays(np.float64, (4,), elements=st.floats(-1e6, 1e6)))
def test_normalize_is_unit_or_typed_error(q):
    try:
        n = mq.normalize(q)
    except InputError:
        assert not np.linalg.norm(q) > 0
    else:
        assert abs(np.linalg.norm(n) - 1.0) < 1e-12


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((2, 5)), np.zeros((2, 2, 4)), "abc"])
def test_bad_shapes_raise_input_error(bad):
    with pytest.raises((InputError, ValueError)):
        mq.multiply(bad, [1.0, 0, 0, 0])
