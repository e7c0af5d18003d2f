"""RepCounter / count_reps: synthetic sessions with known reps, stream = batch, summaries."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from motiontrack.errors import ConfigurationError, InputError
from motiontrack.reps import (
    PRESETS,
    RejectReason,
    RepCounter,
    RepFlags,
    RepSettings,
    count_reps,
    summarize,
    summarize_session,
)

FS = 50.0


def session(amps, *, fs=FS, rest=10.0, move_s=1.5, hold_s=1.0, pause_s=1.5, still_s=2.0,
            noise_deg=0.0, seed=0, direction=1):
    """Angle trace: rest, then reps (raised-cosine strokes, a hold at the top, a pause).

    Returns (t, x, truth) where truth lists (start_s, peak_s, end_s) per rep.
    """
    rng = np.random.default_rng(seed)
    pieces = [np.full(int(still_s * fs), rest)]
    truth = []
    t_now = still_s
    for a in amps:
        n_move = int(move_s * fs)
        up = rest + direction * a * 0.5 * (1 - np.cos(np.linspace(0, np.pi, n_move)))
        hold = np.full(int(hold_s * fs), rest + direction * a)
        down = up[::-1]
        pause = np.full(int(pause_s * fs), rest)
        start = t_now
        peak = start + move_s + hold_s / 2
        end = start + 2 * move_s + hold_s
        truth.append((start, peak, end))
        t_now = end + pause_s
        pieces += [up, hold, down, pause]
    pieces.append(np.full(int(still_s * fs), rest))
    x = np.concatenate(pieces)
    x = x + rng.normal(0, noise_deg, x.size) if noise_deg else x
    return np.arange(x.size) / fs, x, truth


def test_counts_clean_reps_with_times_and_rom():
    _, x, truth = session([60.0] * 8)
    reps = count_reps(x, fs=FS)
    assert len(reps) == 8
    for r, (start, peak, end) in zip(reps, truth):
        assert abs(r.start_s - start) < 0.3
        assert abs(r.peak_s - peak) < 0.7  # anywhere in the 1 s hold
        assert end - 0.6 < r.end_s <= end + 0.3
        assert r.rom_deg == pytest.approx(60.0, abs=1.0)
        assert r.max_deg == pytest.approx(70.0, abs=1.0)
        assert r.min_deg == pytest.approx(10.0, abs=1.0)
        assert r.duration_s == pytest.approx(r.end_s - r.start_s)
        assert 0.5 < r.hold_s < 2.0
        assert r.flags == RepFlags.NONE
    d = reps[0].as_dict()
    assert d["rom_deg"] == reps[0].rom_deg and d["flags"] == []
    assert json.loads(json.dumps(d))["start_s"] == reps[0].start_s


def test_shallow_reps_in_the_same_set_still_count_and_are_flagged():
    amps = [60.0] * 5 + [20.0] * 5 + [60.0] * 3  # a third of the set's ROM
    reps = count_reps(session(amps, noise_deg=0.5)[1], fs=FS)
    assert len(reps) == 13
    assert [r.partial for r in reps] == [a < 30 for a in amps]


def test_decreasing_reps_knee_extension_preset():
    # seated knee extension measured as flexion: 90 deg at rest, down to 10 deg
    _, x, _ = session([80.0] * 6, rest=90.0, direction=-1)
    reps = count_reps(x, fs=FS, preset="knee_extension")
    assert len(reps) == 6
    assert all(r.peak_deg == pytest.approx(10.0, abs=1.0) for r in reps)
    assert all(r.start_deg == pytest.approx(90.0, abs=1.0) for r in reps)
    # automatic direction gives the same count
    assert len(count_reps(x, fs=FS)) == 6


def test_noise_pauses_and_gaps():
    amps = [50.0] * 4 + [45.0] * 4
    _, x, _ = session(amps, noise_deg=1.5, pause_s=8.0, seed=3)  # long pauses split sets
    rng = np.random.default_rng(1)
    for start in rng.integers(0, x.size - 5, 40):  # short bursts of dropped samples
        x[start : start + rng.integers(1, 6)] = np.nan
    reps = count_reps(x, fs=FS)
    assert len(reps) == 8
    assert len({r.set_index for r in reps}) >= 2


def test_long_gap_abandons_candidate():
    _, x, truth = session([60.0] * 4)
    peak = truth[2][1]
    i0, i1 = int((peak - 0.2) * FS), int((peak + 3.0) * FS)
    x[i0:i1] = np.nan  # the top and the whole way back are lost
    res = count_reps(x, fs=FS, full_output=True)
    assert len(res.reps) == 3
    # what was seen of the cut rep is reported as interrupted (not a rejection, not counted)
    (cut,) = res.interrupted
    assert cut.flags == RepFlags.INTERRUPTED and cut.index == -1
    assert truth[2][0] - 0.5 < cut.start_s < peak and cut.end_s <= peak
    assert not any(c.reason == RejectReason.GAP for c in res.rejected)


def test_a_rep_with_a_hole_longer_than_the_bridge_is_interrupted_not_counted():
    _, x, truth = session([60.0] * 5, seed=4)
    rng = np.random.default_rng(0)
    for start, peak, _end in truth:  # one-sample drops everywhere: only missing samples
        for i in rng.integers(int(start * FS), int(peak * FS), 3):
            x[i] = np.nan
    s2, p2, e2 = truth[2]
    x[int(p2 * FS) : int(p2 * FS) + int(0.5 * FS)] = np.nan  # 0.5 s hole in rep 3
    res = count_reps(x, fs=FS, full_output=True)
    peaks = [p for i, (_, p, _) in enumerate(truth) if i != 2]
    assert len(res.reps) == 4
    assert all(abs(r.peak_s - p) < 0.6 for r, p in zip(res.reps, peaks))
    (cut,) = res.interrupted
    assert s2 - 0.5 < cut.start_s and cut.end_s < e2 + 1.0
    # the same hole shorter than the bridge (0.25 s): counted normally
    _, y, _ = session([60.0] * 5, seed=4)
    y[int(p2 * FS) : int(p2 * FS) + int(0.2 * FS)] = np.nan
    res = count_reps(y, fs=FS, full_output=True)
    assert len(res.reps) == 5 and not res.interrupted


def test_transition_and_slow_drift_are_not_reps():
    fs = FS
    rest = np.full(int(5 * fs), 0.0)
    change = np.linspace(0, 40, int(1.5 * fs))  # change of posture, then stays there
    stay = np.full(int(25 * fs), 40.0)
    drift = 40 + np.linspace(0, 30, int(60 * fs))  # 0.5 deg/s drift
    x = np.concatenate([rest, change, stay, drift])
    assert count_reps(x, fs=fs) == []


def test_flags_relative_to_normal_tempo_and_full_rom_across_sets():
    # like the physical-therapy protocol: correct reps, a pause, fast reps, a pause, shallow reps
    normal = session([60.0] * 4, move_s=1.5, hold_s=1.0)[1]
    fast = session([60.0] * 4, move_s=0.5, hold_s=0.1, still_s=8.0)[1]
    shallow = session([30.0] * 4, move_s=1.5, hold_s=1.0, still_s=8.0)[1]
    reps = count_reps(np.concatenate([normal, fast, shallow]), fs=FS)
    assert len(reps) == 12
    assert len({r.set_index for r in reps}) == 3
    assert [r.too_fast for r in reps] == [False] * 4 + [True] * 4 + [False] * 4
    assert [r.partial for r in reps] == [False] * 8 + [True] * 4


def test_change_of_exercise_between_sets():
    # knee extensions (rest 90 deg, down to 10), rest, stand up (2 s), rest, squats (0 -> 70)
    a = session([80.0] * 5, rest=90.0, direction=-1, still_s=6.0)[1]
    ramp = 90.0 - 90.0 * 0.5 * (1 - np.cos(np.linspace(0, np.pi, int(2 * FS))))
    b = session([70.0] * 6, rest=0.0, still_s=6.0, seed=1)[1]
    x = np.concatenate([a, ramp, b]) + np.random.default_rng(2).normal(0, 0.5, a.size + ramp.size + b.size)
    reps = count_reps(x, fs=FS)
    assert len(reps) == 11
    assert [r.peak_deg < 50 for r in reps] == [True] * 5 + [False] * 6


def test_too_fast_and_target_flags():
    s = RepSettings(fast_s=2.5, target_rom_deg=70.0)
    _, x1, _ = session([60.0] * 3, move_s=0.5, hold_s=0.2)
    reps = count_reps(x1, fs=FS, settings=s)
    assert len(reps) == 3
    assert all(r.too_fast and r.flags & RepFlags.PARTIAL_TARGET for r in reps)
    assert reps[0].as_dict()["flags"] == ["PARTIAL_TARGET", "TOO_FAST"]
    assert not any(r.too_slow for r in reps)


@pytest.mark.parametrize("split_seed", [0, 1, 2])
def test_stream_one_by_one_blocks_and_batch_are_identical(split_seed):
    _, x, _ = session([60.0] * 4 + [25.0] * 3, noise_deg=1.0, seed=split_seed)
    x[300:303] = np.nan
    batch = count_reps(x, fs=FS)
    one = RepCounter(fs=FS)
    one_by_one = [r for v in x for r in one.update(float(v))] + one.flush()
    rng = np.random.default_rng(split_seed)
    cuts = np.sort(rng.choice(np.arange(1, x.size), 25, replace=False))
    blocks = RepCounter(fs=FS)
    by_block = [r for part in np.split(x, cuts) for r in blocks.update(part)] + blocks.flush()
    assert len(batch) == 7
    assert one_by_one == batch
    assert by_block == batch


def test_recording_that_stops_right_after_the_last_rep():
    _, x, truth = session([60.0] * 3, still_s=0.0, pause_s=0.0)
    x = x[: int((truth[-1][2] - 0.5) * FS)]  # cut when the last return is ~70 % home
    c = RepCounter(fs=FS)
    streamed = c.update(x)
    assert len(streamed) == 2  # the last return has not been seen to settle yet
    assert len(streamed + c.flush()) == 3
    assert len(count_reps(x, fs=FS)) == 3  # count_reps flushes
    assert c.flush() == []  # nothing pending any more


def test_gaps_are_counted_in_diagnostics():
    _, x, _ = session([60.0] * 3)
    x[100:110] = np.nan  # short gap
    x[400:500] = np.nan  # 2 s gap
    c = RepCounter(fs=FS)
    c.update(x)
    d = c.diagnostics
    assert d.missing_samples == 110 and d.long_gaps == 1


def test_state_snapshot_restores_and_reset():
    _, x, _ = session([60.0] * 6)
    c = RepCounter(fs=FS)
    first = c.update(x[:400])
    snap = c.state
    rest_a = c.update(x[400:])
    c.state = snap
    rest_b = c.update(x[400:])
    assert rest_a == rest_b and len(first) + len(rest_a) == 6
    c.reset()
    assert c.rep_count == 0 and c.update(x) == count_reps(x, fs=FS)
    with pytest.raises(InputError):
        c.state = np.zeros(3)


def test_event_is_emitted_within_settle_time_of_the_rep_end():
    _, x, truth = session([60.0] * 5, pause_s=3.0)
    c = RepCounter(fs=FS)
    emitted_at = []
    for i, v in enumerate(x):
        for r in c.update(v):
            emitted_at.append(i / FS)
            assert r.emitted_s == pytest.approx(i / FS)
    assert len(emitted_at) == 5
    for t_emit, (_, _, end) in zip(emitted_at, truth):
        assert t_emit - end <= 0.3


def test_diagnostics_show_phase_peak_and_rejections():
    c = RepCounter(fs=FS)
    assert c.diagnostics.phase == "seek" and math.isnan(c.diagnostics.last_peak_s)
    # the last one passes the hysteresis (0.15 x 60 deg) but is too small for the set (0.2 x 60)
    # (brisk strokes: the rest level follows slow drift and would absorb a slow small one)
    x = np.concatenate([session([60.0] * 2)[1], session([11.0], move_s=0.4, still_s=1.0)[1]])
    c.update(x)
    d = c.diagnostics
    assert d.phase == "rest" and d.direction == 1
    assert d.last_peak_deg == pytest.approx(21.0, abs=1.0)  # the rejected candidate's top
    assert d.last_rejection == RejectReason.SMALL_FOR_SET and d.n_rejected >= 1
    assert 30.0 < d.reference_rom_deg < 59.0  # pulled down a little by the small candidate
    assert c.rejected[-1].reason == RejectReason.SMALL_FOR_SET


def test_summaries_match_numpy():
    amps = [60.0, 55.0, 62.0, 20.0, 58.0]
    reps = count_reps(session(amps)[1], fs=FS)
    s = summarize(reps)
    roms = np.array([r.rom_deg for r in reps])
    durs = np.array([r.duration_s for r in reps])
    starts = np.array([r.start_s for r in reps])
    assert s.n_reps == 5 and s.n_partial == 1
    assert s.rom_mean_deg == pytest.approx(roms.mean())
    assert s.rom_sd_deg == pytest.approx(roms.std(ddof=1))
    assert s.rom_median_deg == pytest.approx(np.median(roms))
    assert s.tempo_cv == pytest.approx(durs.std(ddof=1) / durs.mean())
    assert s.cadence_mean_s == pytest.approx(np.diff(starts).mean())
    assert s.max_angle_deg == pytest.approx(max(r.max_deg for r in reps))
    sess = summarize_session(reps)
    assert sess.total.n_reps == 5 and sum(x.n_reps for x in sess.sets) == 5
    # two sets separated by a long pause at rest
    x2 = np.concatenate([session([60.0] * 3)[1], np.full(int(10 * FS), 10.0),
                         session([40.0] * 4)[1]])
    sets = summarize_session(count_reps(x2, fs=FS)).sets
    assert [st.n_reps for st in sets] == [3, 4]
    assert sets[1].rom_mean_deg == pytest.approx(40.0, abs=1.5)
    empty = summarize([])
    assert empty.n_reps == 0 and math.isnan(empty.rom_mean_deg)
    assert set(s.as_dict()) >= {"n_reps", "rom_mean_deg", "tempo_cv"}


def test_settings_validation():
    with pytest.raises(ConfigurationError):
        RepSettings(min_rom_deg=-1.0)
    with pytest.raises(ConfigurationError):
        RepSettings(hysteresis_frac=2.0)
    with pytest.raises(ConfigurationError):
        RepSettings(direction=2)
    with pytest.raises(ConfigurationError):
        RepSettings(settle_s=float("nan"))
    with pytest.raises(ConfigurationError):
        RepCounter(fs=FS, preset="no_such_exercise")
    with pytest.raises(ConfigurationError):
        RepCounter(fs=FS, preset="squat", settings=RepSettings())
    with pytest.raises(ConfigurationError):
        RepCounter(fs=FS, mode="radar")  # type: ignore[arg-type]
    assert PRESETS["knee_extension"].direction == -1
    assert RepSettings().replace(min_rom_deg=3.0).min_rom_deg == 3.0


# ---------------------------------------------------------------------------------------
# single-sensor mode
# ---------------------------------------------------------------------------------------
def _rotating_imu(angle_rad, axis, fs, g_dir, seed=0, noise=True):
    """Gyro + acc of a sensor rotating by angle_rad(t) about a fixed sensor-frame axis."""
    from motiontrack import quaternion as Q

    rng = np.random.default_rng(seed)
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    q = Q.from_rotvec(np.outer(angle_rad, axis))  # q_start_sensor
    w = np.gradient(angle_rad, 1 / fs)
    gyr = np.outer(w, axis)
    q_inv = q * np.array([1, -1, -1, -1])
    acc = Q.rotate(q_inv, 9.81 * np.asarray(g_dir, float))  # gravity seen by the sensor
    if noise:
        gyr = gyr + rng.normal(0, 0.01, gyr.shape) + np.array([0.01, -0.02, 0.015])
        acc = acc + rng.normal(0, 0.05, acc.shape)
    return gyr, acc


@pytest.mark.parametrize("axis", [[0, 0, 1], [1, 1, 0], [-0.3, 0.8, 0.5]])
def test_single_sensor_counts_and_measures_rom(axis):
    fs = 100.0
    _, x, _ = session([70.0] * 6 + [30.0] * 4, fs=fs, rest=0.0)
    axis_n = np.asarray(axis, float) / np.linalg.norm(axis)
    g_dir = np.cross(axis_n, [0.2, 0.3, 0.9])  # gravity perpendicular to the hinge
    gyr, acc = _rotating_imu(np.radians(x), axis, fs, g_dir / np.linalg.norm(g_dir))
    res = count_reps(gyroscope=gyr, accelerometer=acc, fs=fs, full_output=True)
    assert len(res.reps) == 10
    roms = np.array([r.rom_deg for r in res.reps])
    np.testing.assert_allclose(roms[:6], 70.0, atol=5.0)
    np.testing.assert_allclose(roms[6:], 30.0, atol=5.0)
    c = RepCounter(fs=fs, mode="imu")
    streamed = [r for i in range(0, len(gyr), 37) for r in c.update(gyr[i : i + 37], acc[i : i + 37])]
    assert streamed == res.reps
    ax = c.diagnostics.axis
    assert abs(abs(ax @ axis_n) - 1) < 1e-2  # dominant axis found, up to sign
    # without an accelerometer (high-passed gyro integral) the count holds
    assert len(count_reps(gyroscope=gyr, fs=fs)) == 10
    # dropped samples (bursts of 1-5, about 5 %): bridged, the ROM holds
    rng = np.random.default_rng(5)
    g2, a2 = gyr.copy(), acc.copy()
    for i0 in rng.integers(0, len(g2) - 5, len(g2) // 60):
        g2[i0 : i0 + rng.integers(1, 6)] = np.nan
        a2[i0 : i0 + 5] = np.nan
    reps2 = count_reps(gyroscope=g2, accelerometer=a2, fs=fs)
    assert len(reps2) == 10
    np.testing.assert_allclose([r.rom_deg for r in reps2[:6]], 70.0, atol=5.0)


def test_single_sensor_on_simulated_shank():
    sim = pytest.importorskip("motiontrack.simulation")
    for seed in range(3):
        s = sim.simulate_knee_session("seated_knee_extension", reps=8, fs=100.0, seed=seed,
                                      partial_reps=2, drop_rate=0.01)
        imu = s.sensors["shank"]
        reps = count_reps(gyroscope=imu.gyr, accelerometer=imu.acc, fs=s.fs,
                          preset="knee_extension")
        assert len(reps) == len(s.truth.reps)
        truth = s.truth.flexion_deg
        reps_angle = count_reps(truth, fs=s.fs, preset="knee_extension")
        assert len(reps_angle) == len(s.truth.reps)
        for r, tr in zip(reps_angle, s.truth.reps):
            assert r.rom_deg == pytest.approx(tr.rom_deg, abs=5.0)
            assert r.emitted_s - tr.end_s <= 0.3


def test_input_errors():
    with pytest.raises(InputError):
        count_reps(np.zeros((10, 2)), fs=FS)
    with pytest.raises(InputError):
        count_reps(np.zeros(10), fs=0.0)
    with pytest.raises(InputError):
        count_reps(np.zeros(10), fs=float("inf"))
    with pytest.raises(InputError):
        count_reps(np.zeros(10), fs=1e9)
    with pytest.raises(InputError):
        count_reps(np.array(["a", "b"]), fs=FS)
    with pytest.raises(InputError):
        count_reps(np.zeros(10), gyroscope=np.zeros((10, 3)), fs=FS)
    with pytest.raises(InputError):
        count_reps(gyroscope=np.zeros((10, 2)), fs=FS)
    with pytest.raises(InputError):
        count_reps(gyroscope=np.zeros((10, 3)), accelerometer=np.zeros((9, 3)), fs=FS)
    with pytest.raises(InputError):
        count_reps(np.full(10, 1e9), fs=FS)
    with pytest.raises(InputError):
        RepCounter(fs=FS).update(1.0, np.zeros(3))
