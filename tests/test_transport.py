"""motiontrack.transport end to end: the real bleak API against virtual sensors (no mocks),
plus the pure pieces (time base, buffer, source strings).

Simulated time runs faster than real time (SimulationClock), so a minute of
streaming takes a couple of seconds of wall time.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motiontrack.errors import ConfigurationError, DeviceNotFoundError
from motiontrack.protocol.clock import ClockSync, ClockSyncSettings
from motiontrack.transport import (
    BleOptions,
    BufferOverflow,
    EventBuffer,
    Gap,
    GapCause,
    LinkEvent,
    LinkState,
    SampleBatch,
    SensorGroup,
    StatusUpdate,
    StreamTracker,
    open_sensors,
    parse_source,
    scan,
)
from motiontrack.virtual import (
    KneeMotion,
    SimulationClock,
    StillMotion,
    VirtualFleet,
    VirtualSensorSettings,
)

pytestmark = pytest.mark.timeout(90)

FS = 100.0
FAST = BleOptions(reconnect_initial_delay=0.01, reconnect_max_delay=0.2, connect_timeout=2.0)


async def _knee_fleet(speed: float, **settings: object) -> tuple[VirtualFleet, KneeMotion]:
    fleet = VirtualFleet(SimulationClock(speed))
    knee = KneeMotion("seated_knee_extension", reps=3, fs=200.0, seed=1)
    for i, name in enumerate(("thigh", "shank")):
        await fleet.add(
            VirtualSensorSettings(name=name, sample_rate_hz=FS, clock_offset_us=4_294_000_000 + i, seed=i, **settings),  # type: ignore[arg-type]
            knee.segment(name),
        )
    return fleet, knee


class Collector:
    """Consumes a group's events into per-sensor arrays."""

    def __init__(self, group: SensorGroup) -> None:
        self.batches: dict[str, list[SampleBatch]] = {name: [] for name in group.sensors}
        self.events: list[object] = []
        self.task = asyncio.get_running_loop().create_task(self._run(group))

    async def _run(self, group: SensorGroup) -> None:
        async for event in group.events():
            if isinstance(event, SampleBatch):
                self.batches[event.sensor].append(event)
            else:
                self.events.append(event)

    def t(self, name: str) -> np.ndarray:
        return np.concatenate([b.t for b in self.batches[name]])

    def acc(self, name: str) -> np.ndarray:
        return np.concatenate([b.acc for b in self.batches[name]])

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(self, name: str, t_s: float, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.batches[name] or self.batches[name][-1].t[-1] < t_s:
                await asyncio.sleep(0.005)


async def test_two_sensors_discover_connect_in_parallel_stream_60s_without_loss() -> None:
    fleet, knee = await _knee_fleet(speed=40.0)
    found = await scan(0.3, kind="sim")
    assert {r.source for r in found} == {"sim:thigh", "sim:shank"}
    assert all(r.rssi < 0 for r in found)
    async with open_sensors({"thigh": "sim:thigh", "shank": "sim:shank"}, FAST) as group:
        for name in ("thigh", "shank"):
            sensor = group[name]
            assert sensor.mtu_size == 247
            assert sensor.config == fleet[name].config
            assert sensor.device_info["serial"] == fleet[name].config.serial
            assert sensor.battery_percent == 87
        collector = Collector(group)
        await group.start()
        await collector.until("thigh", 60.0)
        await collector.until("shank", 60.0)
        await group.stop()
    await collector.task
    for name in ("thigh", "shank"):
        t = collector.t(name)
        n = int(round(60.0 * FS)) + 1
        assert t.size >= n
        # zero lost samples: contiguous 10 ms steps on the device clock, nothing reported missing
        np.testing.assert_allclose(np.diff(t), 1.0 / FS, atol=1e-9)
        stats = group[name].stats
        assert stats.missing_samples == 0 and stats.gaps == 0 and stats.malformed == 0
        assert stats.samples == t.size
        # every sample the firmware made arrived (STOP's response follows the last DATA)
        assert fleet[name].counters.samples_generated == t.size
        # values: the motion model's samples, quantised (within half a count)
        sensor = fleet[name]
        origin_us = sensor._stream_origin_us
        t_true = sensor.device_clock.true_time(origin_us + t * 1e6)
        acc_true = knee.segment(name).sample(t_true)[0]
        half_count = sensor.config.acc_scale / 2
        assert np.max(np.abs(collector.acc(name) - acc_true)) <= half_count * (1 + 1e-6)
        # host time base (SPEC §10.3): the transport gives (device t, received_at) pairs
        # and ClockSync fits them; samples are acquired before they arrive, and the sensor
        # clock runs ``speed`` times faster than the host's here
        batches = collector.batches[name]
        assert all(b.received_at <= time.perf_counter() for b in batches)
        sync = ClockSync(ClockSyncSettings(bin_s=2.0))
        sync.update([b.t[-1] * 1e6 for b in batches], [b.received_at for b in batches])
        late = batches[len(batches) // 2 :]
        latency = np.array([b.received_at - sync.to_host(b.t[-1] * 1e6) for b in late])
        # on the host clock, close to the arrival times (exactly checking the fit is the
        # protocol's ClockSync tests' job; a 40x simulation with stalls only bounds it)
        assert abs(np.median(latency)) < 0.5
        # the sensor clock runs ~speed times faster than the host's (less when a loaded
        # machine stalls the loop: SimulationClock then slows the simulation down)
        assert 5e6 < sync.drift_ppm < 40e6
    assert not collector.of(Gap) and not collector.of(BufferOverflow)
    await fleet.close()


async def test_link_drop_reconnects_reports_gap_exactly_and_resumes() -> None:
    fleet, _ = await _knee_fleet(speed=20.0)
    async with open_sensors(["sim:thigh", "sim:shank"], FAST) as group:
        collector = Collector(group)
        await group.start()
        await collector.until("thigh", 3.0)
        assert fleet["thigh"].drop_link(down_s=1.0)  # out of range for 1 s, then back
        await collector.until("thigh", 8.0)
        await group.stop()
    await collector.task
    links = [e for e in collector.of(LinkEvent) if e.sensor == "thigh"]
    states = [e.state for e in links]
    assert states[:3] == [LinkState.CONNECTED, LinkState.DISCONNECTED, LinkState.RECONNECTED]
    gaps = collector.of(Gap)
    assert len(gaps) == 1
    gap = gaps[0]
    truth = fleet["thigh"].counters
    stats = group["thigh"].stats
    # exactly what the firmware sampled but the host never got (unsent while the link
    # was down, plus any packet in flight when it dropped); STOP's response came after
    # every DATA packet on the link, so everything generated is accounted for
    assert (gap.sensor, gap.cause) == ("thigh", GapCause.LINK_LOST)
    assert gap.missing_samples == truth.samples_generated - stats.samples
    assert gap.missing_packets == truth.packets_generated - stats.packets
    assert gap.missing_samples >= truth.samples_unsent > 0
    assert gap.end_s - gap.start_s == pytest.approx(gap.missing_samples / FS, abs=1e-9)
    assert gap.end_s - gap.start_s >= 1.0  # at least the time the sensor was away
    # the time base continues: before and after the gap lie on the same 10 ms grid
    t = collector.t("thigh")
    steps = np.round(np.diff(t) * FS).astype(int)
    assert set(steps.tolist()) == {1, gap.missing_samples + 1}
    assert t[-1] >= 8.0  # streaming resumed
    assert group["thigh"].stats.reconnects == 1
    assert group["shank"].stats.gaps == 0


async def test_malformed_notifications_are_counted_never_raised() -> None:
    fleet, _ = await _knee_fleet(speed=20.0)
    async with open_sensors(["sim:thigh"], FAST) as group:
        collector = Collector(group)
        await group.start()
        await collector.until("thigh", 1.0)
        sent = fleet["thigh"].send_malformed(8)
        await collector.until("thigh", 2.0)
        await group.stop()
    await collector.task
    stats = group["thigh"].stats
    assert sent == 8 and stats.malformed == 8
    assert dict(stats.malformed_codes) == {"truncated": 4, "version": 2, "length": 2}
    assert stats.gaps == 0 and stats.missing_samples == 0  # no valid sample was lost


async def test_packet_loss_reported_exactly() -> None:
    fleet, _ = await _knee_fleet(speed=20.0)
    fleet["thigh"].set_packet_loss(0.1)
    async with open_sensors(["sim:thigh"], FAST) as group:
        collector = Collector(group)
        await group.start()
        await collector.until("thigh", 10.0)
        await group.stop()
    await collector.task
    truth = fleet["thigh"].counters
    stats = group["thigh"].stats
    assert truth.packets_lost_air > 5
    assert stats.missing_packets == truth.packets_lost_air
    assert stats.missing_samples == truth.samples_lost_air
    assert all(g.cause is GapCause.PACKET_LOSS for g in collector.of(Gap))
    assert stats.samples + stats.missing_samples == truth.samples_generated


async def test_slow_consumer_never_stalls_reception_and_overflow_is_reported() -> None:
    fleet, _ = await _knee_fleet(speed=20.0)
    options = BleOptions(buffer_packets=16, connect_timeout=2.0)
    async with open_sensors(["sim:thigh"], options) as group:
        await group.start()
        await fleet.clock.sleep(5.0)  # nobody reads for 5 s of sensor time
        await group.stop()
        stats = group["thigh"].stats
        # reception went on at full speed while nobody consumed
        assert stats.samples == fleet["thigh"].counters.samples_generated >= 480
        assert group.buffer.dropped_packets == stats.packets - 16
        first = await group.buffer.get()
        assert isinstance(first, BufferOverflow)
        assert first.dropped_packets == group.buffer.dropped_packets
        kept = []
        while (item := group.buffer.get_nowait()) is not None:
            kept.append(item)
        batches = [k for k in kept if isinstance(k, SampleBatch)]
        assert len(batches) == 16 and batches[-1].sequence == stats.latest.sequence
        assert first.dropped_samples + sum(b.n_samples for b in batches) == stats.samples


async def test_status_battery_and_clock_drift() -> None:
    fleet, _ = await _knee_fleet(speed=20.0, clock_drift_ppm=20_000.0)
    async with open_sensors(["sim:thigh"], FAST) as group:
        collector = Collector(group)
        await group.start()
        t_true0 = fleet.clock.now()
        await collector.until("thigh", 1.0)
        fleet["thigh"].set_battery(5)
        await collector.until("thigh", 20.0)
        t_true1 = fleet.clock.now()
        await group.stop()
    await collector.task
    status = [s for s in collector.of(StatusUpdate) if s.battery_percent == 5]
    assert status and status[0].error_flags & 0x10  # LOW_BATTERY
    assert group["thigh"].battery_percent == 5
    # 2 % fast: device time runs ahead of true (simulated) time by that much; the
    # readings of true time bracket the stream to within a packet (0.05 s of 20 s)
    t = collector.t("thigh")
    elapsed_device = t[-1] - t[0]
    assert elapsed_device / (t_true1 - t_true0) == pytest.approx(1.02, abs=0.006)
    np.testing.assert_allclose(np.diff(t), 1 / FS, atol=1e-9)


async def test_peripheral_disconnect_triggers_reconnect_and_close_is_clean() -> None:
    fleet, _ = await _knee_fleet(speed=20.0)
    group = open_sensors(["sim:thigh"], FAST)
    await group.connect()
    collector = Collector(group)
    await group.start()
    await collector.until("thigh", 1.0)
    await fleet["thigh"].disconnect()
    await collector.until("thigh", 3.0)
    await group.close()
    await collector.task  # the event stream ends after close
    states = [e.state for e in collector.of(LinkEvent)]
    assert states == [
        LinkState.CONNECTED,
        LinkState.DISCONNECTED,
        LinkState.RECONNECTED,
        LinkState.CLOSED,
    ]
    assert not group["thigh"].is_connected
    assert not fleet["thigh"].is_streaming  # close sent STOP
    await asyncio.sleep(0.05)
    assert not fleet["thigh"].is_connected


async def test_connect_to_missing_sensor_times_out() -> None:
    fleet = VirtualFleet(SimulationClock(1.0))
    await fleet.add(VirtualSensorSettings(name="thigh"), StillMotion())
    await fleet["thigh"].vanish()
    group = open_sensors(["sim:thigh"], BleOptions(scan_timeout=0.3, connect_timeout=0.3))
    with pytest.raises(DeviceNotFoundError):
        await group.connect()
    await fleet.close()


async def test_sim_source_starts_a_virtual_sensor_on_demand() -> None:
    async with open_sensors(["sim:lonely"], FAST) as group:
        collector = Collector(group)
        await group.start()
        await collector.until("lonely", 0.2, timeout=10.0)
        await group.stop()
        acc = collector.acc("lonely")
        # a still sensor: |acc| is gravity
        assert np.mean(np.linalg.norm(acc, axis=1)) == pytest.approx(9.80665, abs=0.05)


# ----------------------------------------------------------------------------- pure parts


def test_parse_source() -> None:
    assert str(parse_source("ble:aa:bb:cc:dd:ee:ff")) == "ble:AA:BB:CC:DD:EE:FF"
    assert parse_source("sim:thigh").kind == "sim"
    for bad in ("thigh", "usb:0", "sim:", 3):
        with pytest.raises(ConfigurationError):
            parse_source(bad)  # type: ignore[arg-type]


def test_tracker_unwraps_u32_timestamps_and_u16_sequence() -> None:
    tracker = StreamTracker()
    period = 10_000.0
    ts = (2**32 - 25_000) % 2**32
    seq = 65_534
    t_out = []
    for _ in range(6):
        v = tracker.observe(seq & 0xFFFF, ts % 2**32, 1, period)
        assert v.accept and v.missing_samples == 0 and v.missing_packets == 0
        t_out.append(v.t0_s)
        ts += 10_000
        seq += 1
    np.testing.assert_allclose(t_out, np.arange(6) * 0.01)
    dup = tracker.observe((seq - 1) & 0xFFFF, (ts - 10_000) % 2**32, 1, period)
    assert not dup.accept and tracker.duplicates == 1


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 19), min_size=2, max_size=200),
    lost=st.lists(st.booleans(), min_size=2, max_size=200),
    start_ts=st.integers(0, 2**32 - 1),
    start_seq=st.integers(0, 2**16 - 1),
)
def test_tracker_gaps_account_for_every_lost_sample(sizes, lost, start_ts, start_seq) -> None:
    period = 5_000.0
    tracker = StreamTracker()
    received = missing = 0
    lost_samples = 0
    ts, seq = start_ts, start_seq
    lost = (lost + [False] * len(sizes))[: len(sizes)]
    lost[0] = False  # the first packet defines the time base
    last_received = 0
    for i, (n, gone) in enumerate(zip(sizes, lost)):
        if gone:
            lost_samples += n
        else:
            v = tracker.observe(seq & 0xFFFF, ts % 2**32, n, period)
            assert v.accept
            received += n
            missing += v.missing_samples
            last_received = i
        ts += int(n * period)
        seq += 1
    trailing = sum(n for n, g in zip(sizes[last_received + 1 :], lost[last_received + 1 :]) if g)
    assert received == sum(n for n, g in zip(sizes, lost) if not g)
    assert missing == lost_samples - trailing  # losses after the last packet are not yet visible


async def test_event_buffer_keeps_order_and_control_events() -> None:
    buf = EventBuffer(2)

    def batch(seq: int) -> SampleBatch:
        z = np.zeros((1, 3))
        return SampleBatch(
            sensor="s", sequence=seq, t=np.zeros(1), acc=z, gyr=z, mag=None, flags=0, received_at=0.0
        )

    link = LinkEvent(sensor="s", state=LinkState.CONNECTED, at=0.0)
    buf.put(batch(0))
    buf.put(link)
    buf.put(batch(1))
    buf.put(batch(2))  # drops batch 0, never the link event
    items = [buf.get_nowait() for _ in range(4)]
    assert isinstance(items[0], BufferOverflow) and items[0].dropped_packets == 1
    assert items[1] is link
    assert [i.sequence for i in items[2:]] == [1, 2]
    assert buf.get_nowait() is None
    buf.close()
    with pytest.raises(EOFError):
        await buf.get()


async def test_magnetometer_streams_as_nine_axis_samples() -> None:
    fleet = VirtualFleet(SimulationClock(20.0))
    await fleet.add(VirtualSensorSettings(name="thigh", with_mag=True), StillMotion(mag=(0.0, 20.0, -40.0)))
    async with open_sensors(["sim:thigh"], FAST) as group:
        collector = Collector(group)
        await group["thigh"].start(mag=True)
        await collector.until("thigh", 1.0)
        await group.stop()
    await collector.task
    mags = [b.mag for b in collector.batches["thigh"]]
    assert all(m is not None for m in mags)
    scale = fleet["thigh"].config.mag_scale
    np.testing.assert_allclose(np.concatenate(mags), np.tile([0.0, 20.0, -40.0], (sum(len(m) for m in mags), 1)), atol=scale)
    await fleet.close()


async def test_reconnect_backs_off_and_gives_up_when_the_sensor_stays_away() -> None:
    fleet = VirtualFleet(SimulationClock(1.0))
    await fleet.add(VirtualSensorSettings(name="T1"), StillMotion())
    found = await scan(0.2, kind="sim")
    assert [(r.name, r.battery_percent) for r in found] == [("T1", 87)]  # short name: battery fits
    options = BleOptions(
        connect_timeout=0.1, scan_timeout=0.1, reconnect_initial_delay=0.02, reconnect_max_attempts=3
    )
    group = open_sensors(["sim:T1"], options)
    await group.connect()
    collector = Collector(group)
    loop = asyncio.get_running_loop()
    await fleet["T1"].vanish()
    t0 = loop.time()
    async with asyncio.timeout(10):
        while not any(isinstance(e, LinkEvent) and e.state is LinkState.GAVE_UP for e in collector.events):
            await asyncio.sleep(0.01)
    elapsed = loop.time() - t0
    gave_up = [e for e in collector.events if isinstance(e, LinkEvent) and e.state is LinkState.GAVE_UP][0]
    assert gave_up.attempts == 3
    # three 0.1 s attempts with 0.02 s and 0.04 s pauses between them
    assert 0.3 + 0.06 <= elapsed < 3.0
    await group.close()
    await collector.task
    await fleet.close()
