"""Properties of the calibration fits: exact recovery from noise-free data (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from motiontrack.calibration import SensorCalibration, calibrate_magnetometer, fit_six_face
from motiontrack.conventions import GRAVITY

small = st.floats(-1.0, 1.0, allow_nan=False)


@st.composite
def acc_distortions(draw):
    offset = np.array([draw(st.floats(-0.5, 0.5)) for _ in range(3)])
    gains = np.array([draw(st.floats(0.9, 1.1)) for _ in range(3)])
    mis = np.eye(3) + np.radians(np.array([[0 if i == j else draw(st.floats(-2.0, 2.0)) for j in range(3)] for i in range(3)]))
    return offset, mis @ np.diag(gains)


@settings(max_examples=60, deadline=None)
@given(acc_distortions())
def test_six_face_is_exact_on_noise_free_faces(dist):
    offset, gain = dist  # raw = gain @ a + offset
    faces = np.zeros((6, 3))
    for i in range(6):
        a = np.zeros(3)
        a[i // 2] = GRAVITY if i % 2 == 0 else -GRAVITY
        faces[i] = gain @ a + offset
    o, scale, mis, resid = fit_six_face(faces)
    np.testing.assert_allclose(o, offset, atol=1e-9)
    np.testing.assert_allclose(mis * scale[None, :], np.linalg.inv(gain), atol=1e-9)
    np.testing.assert_allclose(np.diag(mis), 1.0, atol=1e-12)
    assert resid < 1e-9
    # apply() inverts the distortion for any specific force
    cal = SensorCalibration(acc_offset=o, acc_scale=scale, acc_misalignment=mis)
    a = np.random.default_rng(0).normal(size=(20, 3)) * 10
    np.testing.assert_allclose(cal.apply_accelerometer(a @ gain.T + offset), a, atol=1e-8)


@st.composite
def mag_distortions(draw):
    hard = np.array([draw(st.floats(-60.0, 60.0)) for _ in range(3)])
    s = np.array([[draw(st.floats(-0.15, 0.15)) for _ in range(3)] for _ in range(3)])
    soft = np.eye(3) + 0.5 * (s + s.T)
    return hard, soft


@settings(max_examples=30, deadline=None)
@given(mag_distortions(), st.integers(0, 2**16))
def test_ellipsoid_fit_is_exact_on_noise_free_data(dist, seed):
    hard, soft = dist
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(400, 3))
    b = 49.0 * u / np.linalg.norm(u, axis=1, keepdims=True)
    raw = b @ soft.T + hard
    res = calibrate_magnetometer(raw, field_ut=49.0)
    np.testing.assert_allclose(res.hard_iron, hard, atol=1e-6 * 49)
    np.testing.assert_allclose(res.soft_iron @ soft, np.eye(3), atol=1e-6)
    assert res.residual < 1e-8 and res.coverage > 0.95
