"""The offline (smoothing) mode ``vqf-offline``: accuracy on simulated data, bias, gaps, peers."""

from __future__ import annotations

import numpy as np
import pytest
from test_fusion_vqf import _imu, _inclination_deg, _integrate, _random_motion

from motiontrack.errors import ConfigurationError
from motiontrack.fusion import FusionFlag, fuse, methods
from motiontrack.quaternion import angle_between

BIAS = np.array([0.012, -0.008, 0.01])  # rad/s


def _recording(n=12000, fs=100.0, seed=20, still_s=3.0):
    """Still, then smooth random motion, then still: q_true, acc, gyr (biased), mag."""
    w = _random_motion(n, fs, seed)
    k = int(still_s * fs)
    w[:k] = 0.0
    w[-k:] = 0.0
    q_true = _integrate(w, fs)
    acc, gyr, mag = _imu(q_true, w, seed=seed, bias=BIAS)
    return q_true, acc, gyr, mag, fs


def test_registered_batch_only():
    assert "vqf-offline" in methods()
    from motiontrack.fusion import FILTERS

    assert "vqf-offline" not in FILTERS  # no streaming class: it needs the future


def test_offline_tracks_truth_and_beats_realtime_early():
    q_true, acc, gyr, mag, fs = _recording()
    off = fuse(acc, gyr, mag, fs=fs, method="vqf-offline", full_output=True)
    rt = fuse(acc, gyr, mag, fs=fs, method="vqf", full_output=True)
    err_off = np.degrees(angle_between(off.quaternion, q_true))
    err_rt = np.degrees(angle_between(rt.quaternion, q_true))
    assert np.sqrt(np.mean(err_off**2)) < 1.0
    # the smoother knows the bias from the start (the backward pass): the first half is
    # clearly better than the causal filter, which still has to learn it
    half = len(q_true) // 2
    assert np.sqrt(np.mean(err_off[:half] ** 2)) < np.sqrt(np.mean(err_rt[:half] ** 2))
    # the fused bias is close to the truth everywhere, including the start
    np.testing.assert_allclose(off.extras["gyr_bias"][100], BIAS, atol=2e-3)
    np.testing.assert_allclose(off.extras["gyr_bias"][-100], BIAS, atol=2e-3)
    assert off.quaternion.shape == (len(q_true), 4)
    assert off.flags.dtype == np.uint16
    assert (off.flags[200:250] & FusionFlag.REST).all()  # still at the start


def test_six_d_mode_and_inclination():
    q_true, acc, gyr, _, fs = _recording(seed=21)
    q6 = fuse(acc, gyr, fs=fs, method="vqf-offline")
    incl = _inclination_deg(q6, q_true)
    assert np.sqrt(np.mean(incl**2)) < 0.5


def test_nan_rows_and_gaps_do_not_poison():
    q_true, acc, gyr, mag, fs = _recording(n=6000, seed=22)
    acc[1000:1020] = np.nan
    gyr[2000] = np.inf
    mag[3000:3050] = np.nan
    t = np.arange(len(acc)) / fs
    keep = np.ones(len(acc), bool)
    keep[4000:4020] = False  # a 0.2 s dropout: timestamps jump, the motion went on
    acc, gyr, mag, t, q_true = acc[keep], gyr[keep], mag[keep], t[keep], q_true[keep]
    r = fuse(acc, gyr, mag, timestamps=t, fs=fs, method="vqf-offline", full_output=True)
    assert np.all(np.isfinite(r.quaternion))
    assert np.all(np.isfinite(r.extras["gyr_bias"]))
    c = r.diagnostics.counts
    assert (c["acc_gap"], c["gyr_gap"], c["mag_gap"]) == (20, 1, 50)
    err = np.degrees(angle_between(r.quaternion, q_true))
    assert np.sqrt(np.mean(err**2)) < 1.5


def test_empty_input_and_bad_settings():
    r = fuse(np.empty((0, 3)), np.empty((0, 3)), fs=100.0, method="vqf-offline", full_output=True)
    assert r.quaternion.shape == (0, 4)
    with pytest.raises(ConfigurationError):
        fuse(
            np.zeros((3, 3)),
            np.zeros((3, 3)),
            fs=100.0,
            method="vqf-offline",
            smoothing_tau_acc=-1.0,
        )
    with pytest.raises(ConfigurationError):
        fuse(np.zeros((3, 3)), np.zeros((3, 3)), fs=100.0, method="vqf-offline", smoothing_tau=1.0)


vqf = pytest.importorskip("vqf")


def test_close_to_offline_vqf_on_simulated_data():
    q_true, acc, gyr, mag, fs = _recording(n=6000, seed=23)
    ref = vqf.offlineVQF(
        np.ascontiguousarray(gyr), np.ascontiguousarray(acc), np.ascontiguousarray(mag), 1.0 / fs
    )
    r = fuse(acc, gyr, mag, fs=fs, method="vqf-offline", full_output=True)
    # same two-pass bias and tilt smoothing: the bias agrees closely, the 6D inclination too
    np.testing.assert_allclose(r.extras["gyr_bias"], ref["bias"], atol=2e-4)
    assert _inclination_deg(r.extras["quaternion_6d"], ref["quat6D"]).max() < 0.2
    err_ours = np.degrees(angle_between(r.quaternion, q_true))
    err_ref = np.degrees(angle_between(ref["quat9D"], q_true))
    assert np.sqrt(np.mean(err_ours**2)) <= np.sqrt(np.mean(err_ref**2)) + 0.05


def test_broad_trial_at_least_as_good_as_offline_vqf(broad_dir):
    d = np.load(broad_dir / "10_undisturbed_slow_translation_A.npz")
    fs = float(d["fs_hz"])
    gyr = np.ascontiguousarray(d["gyr_rad_s"], dtype=np.float64)
    acc = np.ascontiguousarray(d["acc_m_s2"], dtype=np.float64)
    q_ref = d["quat_ref_wxyz"].astype(np.float64)
    mask = d["movement"] & np.isfinite(q_ref).all(axis=1)
    ours = fuse(acc, gyr, fs=fs, method="vqf-offline")
    theirs = vqf.offlineVQF(gyr, acc, None, 1.0 / fs)["quat6D"]
    rmse_ours = np.sqrt(np.mean(_inclination_deg(ours[mask], q_ref[mask]) ** 2))
    rmse_theirs = np.sqrt(np.mean(_inclination_deg(theirs[mask], q_ref[mask]) ** 2))
    assert rmse_ours <= rmse_theirs + 0.02  # 0.25° both, measured


def test_offline_uses_the_field_when_no_reference_was_ever_trusted():
    """A thigh that barely moves (seated exercise) never gets a trusted magnetic reference;
    the offline mode must still use the magnetometer for heading, not fall back to 6D."""
    from motiontrack.quaternion import angle_between
    from motiontrack.simulation import simulate_knee_session

    s = simulate_knee_session("seated_knee_extension", reps=6, seed=0)
    th = s.sensors["thigh"]
    q = fuse(th.acc, th.gyr, th.mag, fs=s.fs, method="vqf-offline")
    err = np.degrees(angle_between(q, th.q_earth_sensor))
    assert np.median(err) < 2.0 and err.max() < 4.0
