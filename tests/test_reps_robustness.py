"""Bad input never crashes the rep counter: zero reps or a typed error (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from motiontrack.errors import ConfigurationError, InputError, MotionTrackError
from motiontrack.reps import RepCounter, count_reps

FS = 50.0
floats_any = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.float64, st.integers(0, 400), elements=floats_any))
def test_arbitrary_angle_arrays_give_reps_or_input_error(x):
    try:
        reps = count_reps(x, fs=FS)
    except InputError:
        assert np.any(np.abs(x[np.isfinite(x)]) > 1e6)
        return
    for r in reps:
        assert np.isfinite([r.start_s, r.peak_s, r.end_s, r.rom_deg]).all()
        assert r.start_s <= r.peak_s <= r.end_s <= r.emitted_s


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 300), st.just(3)), elements=floats_any),
       st.booleans())
def test_arbitrary_imu_arrays_give_reps_or_input_error(gyr, with_acc):
    acc = np.roll(gyr, 1, axis=0) if with_acc else None
    try:
        count_reps(gyroscope=gyr, accelerometer=acc, fs=FS)
    except InputError:
        pass


@settings(max_examples=40, deadline=None)
@given(st.floats(-1e5, 1e5), st.integers(1, 2000))
def test_constant_signal_gives_no_reps(value, n):
    assert count_reps(np.full(n, value), fs=FS) == []
    assert count_reps(gyroscope=np.full((n, 3), value * 1e-3),
                      accelerometer=np.tile([0.0, 0.0, 9.81], (n, 1)), fs=FS) == []


@pytest.mark.parametrize("sigma", [0.5, 2.0, 10.0])
def test_pure_noise_angle_gives_no_reps(sigma):
    rng = np.random.default_rng(7)
    x = rng.normal(40.0, sigma, int(120 * FS))
    assert count_reps(x, fs=FS) == []


# white gyro noise from a good MEMS gyro (0.005 rad/s) to a poor one (0.05 rad/s at 50 Hz)
@pytest.mark.parametrize("gyr_sigma", [0.005, 0.02, 0.05])
def test_pure_noise_imu_gives_no_reps(gyr_sigma):
    rng = np.random.default_rng(7)
    gyr = rng.normal(0, gyr_sigma, (int(120 * FS), 3))
    acc = np.array([0.0, 0.0, 9.81]) + rng.normal(0, 0.1, gyr.shape)
    assert count_reps(gyroscope=gyr, accelerometer=acc, fs=FS) == []
    assert count_reps(gyroscope=gyr, fs=FS) == []


def test_single_sample_glitches_are_not_reps():
    rng = np.random.default_rng(3)
    x = np.full(int(60 * FS), 20.0) + rng.normal(0, 0.3, int(60 * FS))
    where = rng.choice(np.arange(10, x.size - 10, 5), 30, replace=False)  # isolated samples
    x[where] += rng.choice([-1, 1], 30) * rng.uniform(20, 120, 30)
    assert count_reps(x, fs=FS) == []
    t = np.arange(x.size) / FS  # and reps with glitches on top are still counted exactly
    reps = 40 * (1 - np.cos(2 * np.pi * np.clip(t - 5, 0, 50) / 5))
    assert len(count_reps(x + reps, fs=FS)) == 10


def test_all_nan_and_sparse_data():
    assert count_reps(np.full(1000, np.nan), fs=FS) == []
    x = np.full(5000, np.nan)
    x[::97] = np.linspace(0, 90, x[::97].size)  # isolated samples, 2 s apart
    assert count_reps(x, fs=FS) == []
    c = RepCounter(fs=FS)
    assert c.update([]) == [] and c.update(np.nan) == []


@pytest.mark.parametrize("fs", [0.0, -25.0, float("nan"), float("inf"), 1e-3, 1e12])
def test_absurd_sample_rates_are_input_errors(fs):
    with pytest.raises(InputError):
        count_reps(np.zeros(10), fs=fs)
    with pytest.raises(MotionTrackError):
        RepCounter(fs=fs)


@pytest.mark.parametrize("fs", [2.0, 5.0, 10_000.0])
def test_extreme_but_valid_rates_count(fs):
    t = np.arange(0, 60, 1 / fs)
    x = 45 * (1 - np.cos(2 * np.pi * np.clip(t - 5, 0, 50) / 5))  # 10 reps of 5 s
    assert len(count_reps(x, fs=fs)) == 10


def test_wrong_types_are_typed_errors():
    with pytest.raises(InputError):
        count_reps([[1, 2], [3]], fs=FS)  # ragged
    with pytest.raises(InputError):
        count_reps(np.zeros(5, complex), fs=FS)
    with pytest.raises(InputError):
        count_reps(fs=FS)
    with pytest.raises(InputError):
        count_reps(np.zeros(5), fs="50")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RepCounter(fs=FS, t0=float("nan"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.lists(st.integers(1, 400), min_size=1, max_size=12))
def test_any_split_of_a_random_session_gives_the_batch_reps(seed, block_sizes):
    """Property: feeding the same samples in arbitrary blocks (state carried) = one batch."""
    rng = np.random.default_rng(seed)
    n = 3000
    t = np.arange(n) / FS
    x = (rng.uniform(10, 80) * np.maximum(0, np.sin(2 * np.pi * t / rng.uniform(2, 8))) ** 2
         + rng.normal(0, rng.uniform(0, 3), n) + rng.uniform(-20, 20) * t / t[-1])
    x[rng.random(n) < 0.02] = np.nan
    gyr = np.column_stack([np.gradient(np.radians(np.nan_to_num(x)), 1 / FS)] * 3) * [1, 0.2, -0.1]
    gyr[np.isnan(x)] = np.nan
    acc = np.tile([0.0, 9.81, 0.0], (n, 1)) + rng.normal(0, 0.05, (n, 3))
    cuts = np.cumsum(block_sizes)
    cuts = cuts[cuts < n]
    for mode, data in (("angle", (x,)), ("imu", (gyr, acc))):
        c = RepCounter(fs=FS, mode=mode)
        pieces = [np.split(d, cuts) for d in data]
        streamed = [r for blk in zip(*pieces) for r in c.update(*blk)] + c.flush()
        if mode == "angle":
            batch = count_reps(x, fs=FS)
        else:
            batch = count_reps(gyroscope=gyr, accelerometer=acc, fs=FS)
        assert streamed == batch


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({
    "min_rom_deg": st.floats(0, 50), "hysteresis_deg": st.floats(-1, 20),
    "hysteresis_frac": st.floats(0, 1.2), "reject_frac": st.floats(0, 1),
    "min_duration_s": st.floats(0, 5), "settle_s": st.floats(0, 2), "pause_s": st.floats(0, 20),
    "smoothing_s": st.floats(0, 1), "return_frac": st.floats(0, 1), "axis_tau_s": st.floats(0, 60),
}))
def test_any_settings_are_valid_or_a_configuration_error(fields):
    from motiontrack.reps import RepSettings

    try:
        s = RepSettings(**fields)
    except ConfigurationError:
        return
    t = np.arange(0, 30, 1 / FS)
    x = 40 * (1 - np.cos(2 * np.pi * np.clip(t - 2, 0, 25) / 5))
    reps = count_reps(x, fs=FS, settings=s)
    assert len(reps) <= 5
    count_reps(gyroscope=np.column_stack([np.gradient(np.radians(x), 1 / FS), 0 * t, 0 * t]),
               fs=FS, settings=s)
