"""The calibration's zero-phase low-pass (numpy, no ``scipy.signal`` import) is scipy's
``sosfiltfilt(butter(2, cutoff, fs=fs, output="sos"), x, axis=0)`` to the last bit, and a
Butterworth filter: unit gain at DC, half the power at the cutoff (two passes of -3 dB)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from motiontrack.kinematics._calib_math import _butter2_sos, _lowpass

FS = (100.0, 100.00000000009095, 99.87, 50.0, 60.0, 200.0, 285.714, 1000.0)
CUTOFF = (0.5, 1.0, 2.5, 3.0, 5.0, 7.3, 10.0)


def test_coefficients_are_scipys_bit_for_bit():
    rng = np.random.default_rng(7)
    pairs = [(c, f) for f in FS for c in CUTOFF if c < 0.45 * f]
    pairs += [(float(rng.uniform(0.05, 0.44)) * f, f) for f in rng.uniform(20.0, 2000.0, 300)]
    for cutoff, fs in pairs:
        ref = butter(2, cutoff, fs=fs, output="sos")
        assert ref.shape == (1, 6)
        got = _butter2_sos(cutoff, fs)
        np.testing.assert_array_equal(got, ref[0], err_msg=f"{cutoff} Hz at {fs} Hz")


@pytest.mark.parametrize("n", [30, 31, 1201, 31151])
def test_filter_is_scipys_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for fs, cutoff in ((100.00000000009095, 2.5), (50.0, 5.0), (285.714, 1.0)):
        # gyroscope-like: a slow motion, noise and an offset, at several scales
        t = np.arange(n) / fs
        x = np.column_stack([np.sin(2 * np.pi * 0.4 * t), np.cos(2 * np.pi * 1.7 * t), 0.3 + 0 * t])
        x = (x + 0.05 * rng.normal(size=(n, 3))) * 10.0 ** rng.uniform(-3, 3)
        ref = sosfiltfilt(butter(2, cutoff, fs=fs, output="sos"), x, axis=0)
        np.testing.assert_array_equal(_lowpass(x, fs, cutoff), ref)


def test_butterworth_response():
    fs, cutoff, n = 100.0, 2.5, 4000
    t = np.arange(n) / fs
    dc = _lowpass(np.full((n, 1), 3.0), fs, cutoff)
    np.testing.assert_allclose(dc, 3.0, rtol=1e-12)
    # a sine at the cutoff keeps half its power in the middle (away from the padded ends)
    y = _lowpass(np.sin(2 * np.pi * cutoff * t)[:, None], fs, cutoff)[1000:-1000, 0]
    assert np.sqrt(2 * np.mean(y**2)) == pytest.approx(0.5, abs=2e-3)


def test_short_or_near_nyquist_input_is_returned_as_is():
    x = np.arange(87.0).reshape(29, 3)
    assert _lowpass(x, 100.0, 2.5) is x
    x = np.arange(300.0).reshape(100, 3)
    assert _lowpass(x, 10.0, 4.5) is x
