"""Properties every streaming filter must have (parametrised over all registered methods).

Equivalence (one-by-one == batch == split batch with state carried over), known rotations,
convergence from a wrong start, unit norm, gaps/flags/diagnostics.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motiontrack.fusion import FILTERS, FusionFlag, fuse, sample_periods
from motiontrack.quaternion import angle_between, from_rotvec, multiply, rotate, to_rotvec

METHODS = sorted(FILTERS)
OWN = ["complementary", "ekf", "madgwick", "mahony"]  # classic filters (this module's focus)
FS = 100.0

# zero-gain settings per method: no correction at all, i.e. pure gyroscope integration
ZERO_GAIN = {
    "madgwick": {"beta": 0.0},
    "mahony": {"kp": 0.0, "ki": 0.0},
    "complementary": {"tau_acc": 0.0, "tau_mag": 0.0},
}
# first-order integrators (Madgwick, Mahony: q += q_dot dt) vs. exact exp-map integrators
FIRST_ORDER = {"madgwick", "mahony"}


def motion(n: int = 600, seed: int = 0, fs: float = FS):
    """Smooth random rotation; acc/mag consistent with it (ENU, 49 µT field), light noise."""
    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(0, 0.08, (n, 3)), axis=0)
    w -= w.mean(axis=0)
    q = np.empty((n, 4))
    q[0] = [1.0, 0, 0, 0]
    for i in range(1, n):
        q[i] = multiply(q[i - 1], from_rotvec(w[i] / fs))
    acc = rotate(q, np.array([0, 0, 9.81]), inverse=True) + rng.normal(0, 0.05, (n, 3))
    mag = rotate(q, np.array([0.0, 20.0, -44.0]), inverse=True) + rng.normal(0, 0.5, (n, 3))
    gyr = w + rng.normal(0, 0.01, (n, 3))
    return acc, gyr, mag, q


def with_gaps(acc, gyr, mag):
    """Copies with NaN/inf rows, a zero accelerometer row and irregular/invalid periods."""
    acc, gyr, mag = acc.copy(), gyr.copy(), mag.copy()
    acc[50:55] = np.nan
    acc[90] = 0.0
    gyr[120] = np.inf
    mag[200:203] = np.nan
    dt = np.full(acc.shape[0], 1.0 / FS)
    dt[300] = 0.0  # clock did not advance
    dt[301] = -0.01  # clock jumped back
    dt[302] = np.nan
    dt[400:420] = 0.013  # jitter
    return acc, gyr, mag, dt


@pytest.fixture(scope="module")
def data():
    return motion()


@pytest.mark.parametrize("use_mag", [False, True], ids=["6D", "9D"])
@pytest.mark.parametrize("method", METHODS)
def test_one_by_one_equals_batch_equals_split(method, use_mag, data):
    acc, gyr, mag, _ = data
    acc, gyr, mag, dt = with_gaps(acc, gyr, mag)
    m = mag if use_mag else None
    cls = FILTERS[method]

    batch = cls(fs=FS)
    q_batch = batch.update(acc, gyr, m, dt=dt)
    flags_batch = batch.flags

    single = cls(fs=FS)
    q_single = np.array(
        [single.update(acc[i], gyr[i], None if m is None else m[i], dt=dt[i : i + 1]) for i in range(len(acc))]
    )
    # the fast path (exact float64 (3,) arrays, nominal dt) must agree as well
    nominal = cls(fs=FS)
    q_nominal_batch = nominal.update(acc, gyr, m)
    fast = cls(fs=FS)
    q_fast = np.array([fast.update(acc[i].copy(), gyr[i].copy(), None if m is None else m[i].copy())
                       for i in range(len(acc))])

    first = cls(fs=FS)
    k = 237
    q_a = first.update(acc[:k], gyr[:k], None if m is None else m[:k], dt=dt[:k])
    second = cls(fs=FS)
    second.state = first.state
    q_b = second.update(acc[k:], gyr[k:], None if m is None else m[k:], dt=dt[k:])

    np.testing.assert_array_equal(q_single, q_batch)
    np.testing.assert_array_equal(np.vstack([q_a, q_b]), q_batch)
    np.testing.assert_array_equal(q_fast, q_nominal_batch)
    np.testing.assert_array_equal(batch.state, second.state)
    np.testing.assert_array_equal(fast.state, nominal.state)
    assert np.all(np.isfinite(q_batch))
    assert flags_batch[300] & FusionFlag.DT_INVALID and flags_batch[302] & FusionFlag.DT_INVALID
    assert single.diagnostics == batch.diagnostics
    assert fast.diagnostics == nominal.diagnostics
    assert fast.diagnostics.samples == len(acc)


@pytest.mark.parametrize("with_dt", [False, True], ids=["nominal", "periods"])
@pytest.mark.parametrize("use_mag", [False, True], ids=["6D", "9D"])
@pytest.mark.parametrize("method", METHODS)
def test_fast_block_and_sample_entries_report_what_batch_reports(method, use_mag, with_dt, data):
    """Blocks of 1..65 rows and single samples (the fast entries, and the general path for 65
    rows) give the batch's quaternions, flags, extras and diagnostics, call by call, at the
    nominal period or with per-sample periods (jitter, zero, negative and NaN ones)."""
    acc, gyr, mag, _ = data
    acc, gyr, mag, dt = with_gaps(acc, gyr, mag)  # NaN/inf/zero rows
    if not with_dt:
        dt = None
    m = mag if use_mag else None
    cls = FILTERS[method]
    batch = cls(fs=FS)
    q_batch = batch.update(acc, gyr, m, dt=dt)
    fl_batch = batch.flags
    ex_batch = batch.extras
    f = cls(fs=FS)
    q, fl, ex = [], [], {k: [] for k in ex_batch}
    sizes = [1, 10, 64, 65, 0, 3, 1, 17, 2, 33, 5, 64, 8]
    i, j = 0, 0
    while i < len(acc):
        n = min(sizes[j % len(sizes)], len(acc) - i)
        j += 1
        sl = slice(i, i + n)
        if j % 3 == 0 and n:  # one sample as (3,) arrays
            sl = slice(i, i + 1)
            q.append(f.update(acc[i].copy(), gyr[i].copy(), None if m is None else m[i].copy(),
                              dt=None if dt is None else dt[i : i + 1])[None])
        else:
            q.append(f.update(acc[sl], gyr[sl], None if m is None else m[sl], dt=None if dt is None else dt[sl]))
        fl.append(f.flags)
        for k, v in f.extras.items():
            ex[k].append(v)
        i = sl.stop
    np.testing.assert_array_equal(np.vstack(q), q_batch)
    np.testing.assert_array_equal(np.concatenate(fl), fl_batch)
    for k in ex_batch:
        np.testing.assert_array_equal(np.vstack(ex[k]), ex_batch[k], err_msg=k)
    assert f.diagnostics == batch.diagnostics
    # the last call's flags and extras belong to that call, also once the state is replaced
    f.update(acc[5].copy(), gyr[5].copy(), None if m is None else m[5].copy())
    before = (f.flags, f.extras)
    f.state = batch.state
    np.testing.assert_array_equal(f.flags, before[0])
    for k, v in before[1].items():
        np.testing.assert_array_equal(f.extras[k], v)
    f.reset()
    assert f.flags.size == 0 and f.diagnostics.samples == 0


@pytest.mark.parametrize("method", METHODS)
def test_one_sample_calls_accept_any_layout(method, data):
    """Strided, read-only, float32 and list samples all give the batch result."""
    acc, gyr, mag, _ = data
    n = 40
    q_batch = FILTERS[method](fs=FS).update(acc[:n], gyr[:n], mag[:n])
    fa, fg, fm = np.asfortranarray(acc), np.asfortranarray(gyr), np.asfortranarray(mag)  # rows are strided
    f = FILTERS[method](fs=FS)
    q = np.array([f.update(fa[i], fg[i], fm[i]) for i in range(n)])
    np.testing.assert_array_equal(q, q_batch)
    ro = acc[:n].copy()
    ro.flags.writeable = False
    f = FILTERS[method](fs=FS)
    q = np.array([f.update(ro[i], gyr[i].tolist(), tuple(mag[i])) for i in range(n)])
    np.testing.assert_array_equal(q, q_batch)
    f32 = FILTERS[method](fs=FS)
    q32 = np.array([f32.update(acc[i].astype(np.float32), gyr[i], mag[i]) for i in range(3)])
    np.testing.assert_array_equal(q32, FILTERS[method](fs=FS).update(acc[:3].astype(np.float32), gyr[:3], mag[:3]))


@pytest.mark.parametrize("use_mag", [False, True], ids=["6D", "9D"])
@pytest.mark.parametrize("method", METHODS)
def test_streaming_outputs_are_fresh_arrays(method, use_mag, data):
    """Every update returns its own float64 array: later calls, state changes and reset leave
    the earlier results as they were (one-sample and block fast paths, and the general path);
    ``dt`` given by position equals ``dt`` by keyword."""
    acc, gyr, mag, _ = data
    m = mag if use_mag else None
    f = FILTERS[method](fs=FS)
    outs = []
    for i in range(12):  # one sample (3,), a block of 3, a block of 70 (general path)
        outs.append(f.update(acc[i], gyr[i], None if m is None else m[i]))
    outs.append(f.update(acc[12:15], gyr[12:15], None if m is None else m[12:15]))
    outs.append(f.update(acc[15:85], gyr[15:85], None if m is None else m[15:85]))
    kept = [q.copy() for q in outs]
    for i in range(85, 140):
        f.update(acc[i], gyr[i], None if m is None else m[i])
    f.update(acc[140:150], gyr[140:150], None if m is None else m[140:150])
    f.state = f.state
    f.reset()
    for q, k in zip(outs, kept, strict=True):
        assert q.dtype == np.float64
        np.testing.assert_array_equal(q, k)
    for a in range(len(outs)):
        for b in range(a):
            assert not np.shares_memory(outs[a], outs[b])
    dt = np.full(5, 1.0 / FS)
    g = FILTERS[method](fs=FS)
    np.testing.assert_array_equal(
        g.update(acc[:5], gyr[:5], None if m is None else m[:5], dt),
        FILTERS[method](fs=FS).update(acc[:5], gyr[:5], None if m is None else m[:5], dt=dt),
    )


@pytest.mark.parametrize("method", METHODS)
def test_reset_restores_initial_state(method, data):
    acc, gyr, mag, _ = data
    f = FILTERS[method](fs=FS)
    s0 = f.state
    q1 = f.update(acc[:100], gyr[:100], mag[:100])
    f.reset()
    np.testing.assert_array_equal(f.state, s0)
    assert f.diagnostics.samples == 0 and f.flags.size == 0
    np.testing.assert_array_equal(f.update(acc[:100], gyr[:100], mag[:100]), q1)


@pytest.mark.parametrize("method", OWN)
def test_constant_rate_integrates_to_rate_times_time(method):
    # accelerometer missing -> no correction: pure strapdown integration from the identity
    n, fs = 500, 200.0
    rate = np.array([0.4, -0.25, 0.6])
    acc = np.full((n, 3), np.nan)
    gyr = np.tile(rate, (n, 1))
    f = FILTERS[method](fs=fs, initialize=False)
    q = f.update(acc, gyr)
    t = np.arange(1, n + 1) / fs
    expected = from_rotvec(rate[None, :] * t[:, None])
    # exp-map integrators are exact to round-off; q += q_dot dt has an O(dt^2) error per step
    tol = 2e-3 if method in FIRST_ORDER else 1e-10
    assert angle_between(q, expected).max() < tol * np.linalg.norm(rate) * t[-1]
    assert f.diagnostics.counts["acc_gap"] == n


@pytest.mark.parametrize("method", sorted(ZERO_GAIN))
def test_zero_gain_is_pure_gyro_integration(method, data):
    acc, gyr, mag, _ = data
    zero = FILTERS[method](fs=FS, initialize=False, **ZERO_GAIN[method])
    no_acc = FILTERS[method](fs=FS, initialize=False, **ZERO_GAIN[method])
    q_zero = zero.update(acc, gyr, mag)
    q_ref = no_acc.update(np.full_like(acc, np.nan), gyr)
    np.testing.assert_allclose(q_zero, q_ref, rtol=0, atol=1e-15)
    # and both equal an independent integration of the gyroscope
    ref = np.empty_like(q_ref)
    qk = np.array([1.0, 0, 0, 0])
    for i in range(len(gyr)):
        if method in FIRST_ORDER:
            qk = qk + 0.5 * multiply(qk, np.r_[0.0, gyr[i]]) / FS
            qk /= np.linalg.norm(qk)
        else:
            qk = multiply(qk, from_rotvec(gyr[i] / FS))
        ref[i] = qk
    np.testing.assert_allclose(q_zero, ref, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_static_tilt_converges_to_truth(method):
    """Start at the identity while the sensor sits tilted 40°: the estimate must find up."""
    n = int(120 * FS)  # Mahony's integral term needs ~2 min to unwind a 50° heading error
    q_true = from_rotvec(np.radians([30.0, -25.0, 50.0]))
    acc = np.tile(rotate(q_true, np.array([0, 0, 9.81]), inverse=True), (n, 1))
    mag = np.tile(rotate(q_true, np.array([0.0, 20.0, -44.0]), inverse=True), (n, 1))
    gyr = np.zeros((n, 3))
    rng = np.random.default_rng(1)
    acc += rng.normal(0, 0.02, acc.shape)
    gyr += rng.normal(0, 0.002, gyr.shape)
    f = FILTERS[method](fs=FS, initialize=False)
    q = f.update(acc, gyr, mag)
    up_est = rotate(q[-1], np.array([0, 0, 1.0]), inverse=True)
    up_true = rotate(q_true, np.array([0, 0, 1.0]), inverse=True)
    assert np.degrees(np.arccos(np.clip(up_est @ up_true, -1, 1))) < 0.5  # inclination
    assert np.degrees(angle_between(q[-1], q_true)) < 1.0  # with the magnetometer: heading too


@pytest.mark.parametrize("method", METHODS)
def test_initialises_from_first_sample(method, data):
    acc, gyr, mag, q_true = data
    q0 = from_rotvec(np.radians([20.0, 10.0, -70.0]))
    a = rotate(q0, np.array([0, 0, 9.81]), inverse=True)
    m = rotate(q0, np.array([0.0, 20.0, -44.0]), inverse=True)
    f = FILTERS[method](fs=FS)
    q = f.update(a, np.zeros(3), m)
    assert np.degrees(angle_between(q, q0)) < 0.5


@pytest.mark.parametrize("method", METHODS)
def test_tracks_moving_truth(method):
    acc, gyr, mag, q_true = motion(n=3000, seed=5)
    q = fuse(acc, gyr, mag, fs=FS, method=method)
    err = np.degrees(angle_between(q[500:], q_true[500:]))
    assert np.sqrt(np.mean(err**2)) < 3.0


@pytest.mark.parametrize("method", METHODS)
def test_gaps_skip_and_are_counted(method, data):
    acc, gyr, mag, _ = data
    acc, gyr, mag, dt = with_gaps(acc, gyr, mag)
    f = FILTERS[method](fs=FS)
    q = f.update(acc, gyr, mag, dt=dt)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    c = f.diagnostics.counts
    assert (c["acc_gap"], c["gyr_gap"], c["mag_gap"], c["dt_invalid"]) == (5, 1, 3, 3)
    assert f.diagnostics.samples == len(acc)
    fl = f.flags
    assert all(fl[i] & FusionFlag.ACC_GAP for i in range(50, 55))
    assert fl[120] & FusionFlag.GYR_GAP
    np.testing.assert_array_equal(q[300], q[299])  # dt = 0: sample skipped, orientation held
    np.testing.assert_array_equal(q[301], q[299])
    assert "acc_gap=5" in str(f.diagnostics)


@pytest.mark.parametrize("method", METHODS)
def test_saturation_is_flagged(method, data):
    acc, gyr, _, _ = data
    gyr = gyr.copy()
    acc = acc.copy()
    gyr[10, 1] = 34.5  # 98.8 % of 2000 °/s
    acc[20, 0] = -155.0  # 98.8 % of 16 g
    f = FILTERS[method](fs=FS, gyr_range=np.radians(2000.0), acc_range=16 * 9.80665)
    q = f.update(acc, gyr)
    assert f.flags[10] & FusionFlag.GYR_SATURATED and f.flags[20] & FusionFlag.ACC_SATURATED
    assert f.diagnostics.counts["gyr_saturated"] == 1 and f.diagnostics.counts["acc_saturated"] == 1
    assert np.all(np.isfinite(q))


def test_flag_bits_match_kernel_constants():
    from motiontrack._kernels import fusion_common as fc

    for flag in FusionFlag:
        assert getattr(fc, flag.name) == flag.value
    assert len(FusionFlag) == fc.N_FLAGS


vec = st.tuples(*[st.floats(-50, 50, allow_nan=False)] * 3)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(vec, vec, vec, st.floats(1e-4, 0.1)), min_size=1, max_size=40))
def test_unit_norm_kept_on_arbitrary_input(method, rows):
    acc = np.array([r[0] for r in rows])
    gyr = np.array([r[1] for r in rows]) / 5.0
    mag = np.array([r[2] for r in rows])
    dt = np.array([r[3] for r in rows])
    f = FILTERS[method](fs=FS)
    q = f.update(acc, gyr, mag, dt=dt)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(f.state))


def test_fuse_timestamps_equal_explicit_periods(data):
    acc, gyr, mag, _ = data
    t = np.cumsum(np.full(len(acc), 0.01))
    t[100:] += 0.05  # a 50 ms gap
    q_ts = fuse(acc, gyr, mag, timestamps=t, method="mahony")
    dt, rate = sample_periods(len(t), None, t)
    assert rate == pytest.approx(FS) and dt[100] == pytest.approx(0.06)
    f = FILTERS["mahony"](fs=rate)
    np.testing.assert_array_equal(q_ts, f.update(acc, gyr, mag, dt=dt))


def test_rotvec_helper_sanity():
    # the reference helpers themselves (guards the tests above)
    r = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(to_rotvec(from_rotvec(r)), r, atol=1e-15)
