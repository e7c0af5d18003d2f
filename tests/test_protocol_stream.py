"""Batch decoding, stream reassembly (loss, duplicates, reordering, wrap) and clock sync."""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.errors import InputError, ProtocolError
from motiontrack.protocol import SensorConfig, decode_samples, encode_data_packet, encode_mag_packet
from motiontrack.protocol.batch import decode_batch
from motiontrack.protocol.clock import ClockSync
from motiontrack.protocol.reassembly import ReassemblySettings, StreamReassembler

CFG = SensorConfig(sample_rate_hz=100.0, mag_rate_hz=25.0)
PERIOD_US = 10_000


def make_stream(
    n_packets: int, rng, *, seq0: int = 65_000, ts0: int = 2**32 - 3_000_000, mag_every: int = 0
):
    """Packets in device order with random 1..4 samples each; sequence and timestamp wrap."""
    pkts, truth = [], []
    t = ts0
    mag_t = ts0
    for k in range(n_packets):
        seq = (seq0 + k) % 65536
        if mag_every and k % mag_every == mag_every - 1:
            mag = rng.normal(0, 40, (2, 3))
            pkts.append(
                encode_mag_packet(sequence=seq, timestamp_us=mag_t % 2**32, mag=mag, config=CFG)
            )
            truth.append(("mag", mag_t, 2))
            mag_t += 2 * 40_000
            continue
        n = int(rng.integers(1, 5))
        acc = rng.normal(0, 3, (n, 3))
        gyr = rng.normal(0, 1, (n, 3))
        pkts.append(
            encode_data_packet(sequence=seq, timestamp_us=t % 2**32, acc=acc, gyr=gyr, config=CFG)
        )
        truth.append(("imu", t, n))
        t += n * PERIOD_US
    return pkts, truth


def corrupt(pkts, rng, *, loss=0.05, dup=0.03, max_shift=3):
    """Drop (never first/last), duplicate and locally reorder; return arrival list and dropped idx."""
    n = len(pkts)
    drop = set(np.flatnonzero(rng.random(n) < loss).tolist()) - {0, n - 1}
    kept = [i for i in range(n) if i not in drop]
    arrivals = [(float(j), i) for j, i in enumerate(kept)]
    n_dup = 0
    for j, i in enumerate(kept):
        if rng.random() < dup:
            arrivals.append((j + rng.uniform(0.1, 5.0), i))
            n_dup += 1
    # reorder: jitter the arrival key by less than max_shift positions
    arrivals = [(key + rng.uniform(0, max_shift), i) for key, i in arrivals]
    arrivals.sort()
    return [i for _, i in arrivals], sorted(drop), n_dup


# ------------------------------------------------------------------------ batch decode
def test_decode_batch_matches_per_packet_decoder_and_reports_errors():
    rng = np.random.default_rng(1)
    pkts, _ = make_stream(300, rng, mag_every=7)
    pkts = list(pkts)
    pkts.append(
        encode_data_packet(
            sequence=1,
            timestamp_us=2,
            acc=rng.normal(0, 3, (13, 3)),
            gyr=rng.normal(0, 1, (13, 3)),
            mag=rng.normal(0, 40, (13, 3)),
            config=CFG,
        )
    )
    bad = [
        b"",
        b"\x11\x00",
        pkts[0][:-1],
        b"\x21" + pkts[0][1:],
        b"\x14" + pkts[0][1:],
        pkts[0][:8],
    ]
    mixed = pkts[:100] + bad + pkts[100:]
    batch = decode_batch(mixed, CFG)
    want_errors = []
    for i, p in enumerate(mixed):
        try:
            decode_samples(p, CFG)
        except ProtocolError as e:
            want_errors.append((i, e.code))
    assert list(batch.errors) == want_errors and len(want_errors) == len(bad)
    acc, gyr, mag, mag_only, ts = [], [], [], [], []
    for p in pkts:
        blk = decode_samples(p, CFG)
        if blk.acc is None:
            mag_only.append(blk.mag)
        else:
            acc.append(blk.acc)
            gyr.append(blk.gyr)
            mag.append(blk.mag if blk.mag is not None else np.full((blk.n_samples, 3), np.nan))
            ts.append(blk.timestamps_us)
    np.testing.assert_array_equal(batch.acc, np.concatenate(acc))
    np.testing.assert_array_equal(batch.gyr, np.concatenate(gyr))
    np.testing.assert_array_equal(batch.mag, np.concatenate(mag))
    np.testing.assert_array_equal(batch.mag_only, np.concatenate(mag_only))
    np.testing.assert_allclose(batch.sample_timestamps_us, np.concatenate(ts), rtol=0, atol=1e-6)
    with pytest.raises(ProtocolError) as e:
        decode_batch(mixed, CFG, errors="raise")
    assert e.value.code == want_errors[0][1]


def test_saturation_flags_surface_in_batch():
    p = encode_data_packet(
        sequence=0,
        timestamp_us=0,
        acc=[[0, 0, 500.0], [0, 0, 1.0]],
        gyr=np.zeros((2, 3)),
        config=CFG,
    )
    b = decode_batch(
        [
            p,
            encode_data_packet(
                sequence=1, timestamp_us=20000, acc=[0, 0, 1.0], gyr=[0, 0, 0], config=CFG
            ),
        ],
        CFG,
    )
    assert b.saturated().tolist() == [True, True, False]


# ------------------------------------------------------------------------- reassembly
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("batched", [False, True])
def test_loss_duplicates_reordering_exact_counts(seed, batched):
    rng = np.random.default_rng(seed)
    pkts, truth = make_stream(3000, rng)
    order, dropped, n_dup = corrupt(pkts, rng)
    r = StreamReassembler(CFG, ReassemblySettings(window=16))  # > max displacement incl. drops
    chunks = []
    if batched:
        i = 0
        while i < len(order):
            k = int(rng.integers(1, 200))
            chunks.append(r.push_batch([pkts[j] for j in order[i : i + k]]))
            i += k
    else:
        chunks = [r.push(pkts[j]) for j in order]
    chunks.append(r.flush())
    st = r.stats
    assert st.lost == len(dropped)
    assert st.duplicates == n_dup
    assert st.late == 0 and st.restarts == 0 and st.timestamp_anomalies == 0
    t = np.concatenate([c.device_time_us for c in chunks])
    acc = np.concatenate([c.acc for c in chunks])
    kept = [i for i in range(len(pkts)) if i not in set(dropped)]
    want_t = np.concatenate(
        [tr[1] + PERIOD_US * np.arange(tr[2]) for tr in (truth[i] for i in kept)]
    )
    want_acc = np.concatenate([decode_samples(pkts[i], CFG).acc for i in kept])
    np.testing.assert_array_equal(t, want_t)  # in order, unwrapped across the 2**32 µs wrap
    assert np.all(np.diff(t) > 0) and t[-1] > 2**32
    np.testing.assert_array_equal(acc, want_acc)
    gaps = [g for c in chunks for g in c.gaps]
    assert sum(g.lost_packets for g in gaps) == len(dropped)
    assert sum(g.missing_samples for g in gaps) == sum(truth[i][2] for i in dropped)
    seqs = np.concatenate([c.sequence for c in chunks])
    assert np.all(np.diff(seqs) >= 0) and seqs[-1] - seqs[0] == len(pkts) - 1  # wrapped 65535 -> 0


def test_late_packet_beyond_window_is_dropped_and_counted():
    rng = np.random.default_rng(5)
    pkts, _ = make_stream(40, rng)
    order = list(range(40))
    order.remove(3)
    order.insert(20, 3)  # 17 positions late, window 8
    r = StreamReassembler(CFG)
    chunks = [r.push(pkts[j]) for j in order] + [r.flush()]
    assert (r.stats.lost, r.stats.late) == (1, 1)
    t = np.concatenate([c.device_time_us for c in chunks])
    assert np.all(np.diff(t) > 0)


def test_device_side_hole_and_mag_stream():
    rng = np.random.default_rng(7)
    pkts, truth = make_stream(60, rng, mag_every=5)
    r = StreamReassembler(CFG)
    chunk = r.push_batch(pkts)
    r.flush()
    assert chunk.gaps == () and r.stats.lost == 0
    assert chunk.mag_only.shape == (2 * 12, 3) and np.all(np.diff(chunk.mag_time_us) == 40_000)
    # a hole in device time without a missing sequence number (sensor FIFO overflow)
    a = encode_data_packet(
        sequence=1, timestamp_us=0, acc=np.zeros((2, 3)), gyr=np.zeros((2, 3)), config=CFG
    )
    b = encode_data_packet(
        sequence=2, timestamp_us=70_000, acc=np.zeros((1, 3)), gyr=np.zeros((1, 3)), config=CFG
    )
    r2 = StreamReassembler(CFG)
    gaps = r2.push(a).gaps + r2.push(b).gaps + r2.flush().gaps
    assert len(gaps) == 1 and gaps[0].lost_packets == 0 and gaps[0].missing_samples == 5


def test_restart_and_malformed_are_counted_not_raised():
    rng = np.random.default_rng(8)
    pkts, _ = make_stream(10, rng, seq0=0)
    later, _ = make_stream(10, rng, seq0=30_000, ts0=5)
    r = StreamReassembler(CFG)
    r.push_batch(pkts + [b"\x11\x00", b"garbage"] + later)
    r.flush()
    assert r.stats.restarts == 1 and r.stats.lost == 0
    assert dict(r.stats.malformed) == {"truncated": 1, "version": 1}
    assert r.stats.emitted_packets == 20


# ------------------------------------------------------------------------------ clock
def simulate_clock(drift_ppm, offset_s, rng, duration_s=60.0, rate_hz=100.0, odr_error=0.004):
    """Packets every sample of the IMU; arrival = generation + BLE latency.

    The IMU's output data rate comes from its own oscillator (``odr_error``, MEMS parts are
    specified to a few %), timestamps from the MCU crystal (``drift_ppm`` vs the host);
    packets wait for the next connection event of the host's 15 ms grid, then OS latency.
    """
    dev_us = np.arange(0, duration_s * 1e6, 1e6 / rate_hz * (1 + odr_error)) + 123_456.0
    true_host = offset_s + dev_us * 1e-6 / (1 + drift_ppm * 1e-6)
    ci = 0.0075  # 7.5 ms connection interval (streaming sensors request the minimum)
    events = np.ceil((true_host - 0.0031) / ci) * ci + 0.0031
    latency = (events - true_host) + 0.001 + rng.exponential(0.0015, dev_us.size)  # host stack
    spikes = rng.random(dev_us.size) < 0.03
    latency[spikes] += rng.uniform(0.05, 0.3, spikes.sum())  # OS scheduling, retransmissions
    return dev_us, true_host, true_host + latency


@pytest.mark.parametrize("drift_ppm", [100.0, -100.0, 37.0])
def test_drift_within_5_ppm_after_60_s(drift_ppm):
    rng = np.random.default_rng(int(abs(drift_ppm)))
    dev_us, true_host, arrival = simulate_clock(drift_ppm, 1000.0, rng)
    sync = ClockSync()
    for k in range(0, dev_us.size, 50):  # streaming updates, half a second at a time
        sync.update(dev_us[k : k + 50], arrival[k : k + 50])
    assert abs(sync.drift_ppm - drift_ppm) < 5.0, sync.drift_ppm
    # mapped time = true acquisition time + (common) minimum latency, within 1 ms
    err = sync.to_host(dev_us) - true_host
    assert 0.0 < np.median(err) < 0.01 and np.ptp(err) < 0.001


def test_two_sensors_share_one_time_base():
    rng = np.random.default_rng(11)
    syncs, events = [], []
    for drift, offset in ((80.0, 12.0), (-60.0, -3.5)):
        dev_us, true_host, arrival = simulate_clock(drift, offset, rng)
        s = ClockSync()
        s.update(dev_us, arrival)
        syncs.append(s)
        # the device time at which each sensor saw the same physical event at host t = 40 s
        events.append((40.0 - offset) * (1 + drift * 1e-6) * 1e6)
    t_a, t_b = (s.to_host(e) for s, e in zip(syncs, events))
    assert abs(float(t_a) - float(t_b)) < 0.002


def test_reassembler_feeds_clock_sync():
    rng = np.random.default_rng(3)
    pkts, _ = make_stream(2000, rng, seq0=0, ts0=0)
    r = StreamReassembler(CFG)
    dev_end = np.array([(decode_samples(p, CFG).timestamps_us[-1]) for p in pkts])
    host = dev_end * 1e-6 * (1 - 50e-6) + 7.0 + 0.01 + rng.exponential(0.005, len(pkts))
    chunk = r.push_batch(pkts, host_times_s=host)
    s = ClockSync()
    s.update(chunk.packet_times[:, 0], chunk.packet_times[:, 1])
    assert chunk.packet_times.shape == (2000, 2)
    assert abs(s.drift_ppm - 50.0) < 5.0


def test_clock_sync_split_equivalence():
    """One update or any split of updates gives the same estimate (STYLE §4)."""
    rng = np.random.default_rng(21)
    dev_us, _, arrival = simulate_clock(80.0, 2.0, rng, duration_s=30.0)
    whole = ClockSync()
    whole.update(dev_us, arrival)
    split = ClockSync()
    cuts = np.sort(rng.choice(np.arange(1, dev_us.size), 25, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, dev_us.size], strict=True):
        split.update(dev_us[a:b], arrival[a:b])
        split.estimate()
    assert whole.estimate() == split.estimate()


def test_shared_time_base_and_time_sync_offset():
    from motiontrack.protocol import SharedTimeBase, time_sync_offset

    off, unc = time_sync_offset(10.000, 10.030, device_time_us=4_000_000)
    assert off == pytest.approx(6.015) and unc == pytest.approx(0.015)
    with pytest.raises(InputError):
        time_sync_offset(2.0, 1.0, 0)
    rng = np.random.default_rng(12)
    tb = SharedTimeBase()
    for name, drift, offset in (("thigh", 90.0, 1.0), ("shank", -70.0, 9.0)):
        dev_us, true_host, arrival = simulate_clock(drift, offset, rng)
        tb.update(name, dev_us, arrival)
        err = tb.to_host(name, dev_us) - true_host
        assert 0 < np.median(err) < 0.005
    assert set(tb.drift_ppm()) == {"thigh", "shank"}


def test_losses_in_a_mixed_data_and_mag_stream_are_attributed():
    rng = np.random.default_rng(13)
    pkts, truth = make_stream(200, rng, mag_every=4)
    mag_lost = [i for i in range(20, 180) if truth[i][0] == "mag"][:3]
    imu_lost = [i for i in range(20, 180) if truth[i][0] == "imu"][5:9:3]  # two, not adjacent
    dropped = set(mag_lost + imu_lost)
    r = StreamReassembler(CFG)
    chunks = [r.push_batch([p for i, p in enumerate(pkts) if i not in dropped]), r.flush()]
    gaps = [g for c in chunks for g in c.gaps]
    assert r.stats.lost == 5
    assert sum(g.lost_packets for g in gaps) == 5
    mag_missing = sum(g.missing_samples for g in gaps if g.stream == "mag")
    imu_missing = sum(g.missing_samples for g in gaps if g.stream == "imu")
    assert mag_missing == 2 * len(mag_lost)
    assert imu_missing == sum(truth[i][2] for i in imu_lost)
    t = np.concatenate([c.device_time_us for c in chunks])
    mt = np.concatenate([c.mag_time_us for c in chunks])
    assert np.all(np.diff(t) > 0) and np.all(np.diff(mt) > 0)
