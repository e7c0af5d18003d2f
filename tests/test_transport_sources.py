"""Sources in transport: the one source parser, the backend registry, open_source, and
ReplaySource.batches() (the one recording -> SampleBatch path, paced by events())."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from motiontrack.errors import ConfigurationError
from motiontrack.recording import Recording
from motiontrack.recording.model import SensorSamples
from motiontrack.transport import (
    BackendSpec,
    BleSource,
    Gap,
    ReplaySource,
    SampleBatch,
    backend_kinds,
    get_backend,
    open_source,
    parse_source,
    register_backend,
)
from motiontrack.transport import backends as registry


def _recording(host: bool, fs: float = 100.0, n: int = 200) -> Recording:
    t = np.arange(n) / fs
    rng = np.random.default_rng(0)
    sensors = {}
    for k, name in enumerate(("thigh", "shank")):
        host_t = None
        if host:
            # notifications of 4 samples, arriving 5 ms (thigh) / 7 ms (shank) after the last
            host_t = np.repeat(t[3::4] + 0.005 + 0.002 * k, 4)
        sensors[name] = SensorSamples(
            t + 0.001 * k, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), None, fs, host_t
        )
    return Recording(sensors=sensors)


def test_parse_source_is_the_one_parser():
    assert parse_source("AA:bb:CC:dd:EE:ff") == parse_source("ble:aa:bb:cc:dd:ee:ff")
    uuid = "1a2b3c4d-0000-1111-2222-333344445555"
    assert str(parse_source(uuid)) == f"ble:{uuid.upper()}"
    assert str(parse_source("sim:thigh")) == "sim:thigh"  # names keep their case
    assert parse_source("replay:/data/Squats.mtrec").target == "/data/Squats.mtrec"
    assert parse_source("replay:/data/Squats.mtrec").is_replay

    class FakeDevice:  # what bleak's scanner returns: anything with an address
        address = "aa:bb:cc:dd:ee:01"

    assert str(parse_source(FakeDevice())) == "ble:AA:BB:CC:DD:EE:01"
    with pytest.raises(ConfigurationError, match="unknown source kind 'usb'"):
        parse_source("usb:0")


def test_registry_builtin_entry_point_and_third_party():
    assert get_backend("ble") == BackendSpec()  # bleak's platform backend
    sim = get_backend("sim")  # from the entry point declared by motiontrack.virtual
    assert sim.target_is_name and sim.scanner.__name__ == "BumbleScanner"
    assert sim.prepare is not None
    assert {"ble", "sim"} <= set(backend_kinds())
    mine = BackendSpec(scanner=sim.scanner, client=sim.client, target_is_name=True)
    register_backend("bench_test_kind", mine)
    try:
        assert parse_source("bench_test_kind:Left Knee").target == "Left Knee"
        with pytest.raises(ConfigurationError, match="already registered"):
            register_backend("bench_test_kind", BackendSpec())
        with pytest.raises(ConfigurationError):
            register_backend("replay", BackendSpec())
    finally:
        registry._REGISTRY.pop("bench_test_kind")


def test_transport_imports_neither_bleak_for_events_nor_virtual():
    code = (
        "import sys, motiontrack.transport.events, motiontrack.transport as t;"
        "assert 'bleak' not in sys.modules, 'bleak';"
        "t.parse_source('ble:AA:BB:CC:DD:EE:FF'); t.Sensor;"
        "assert 'bleak' in sys.modules;"
        "assert not any(m.startswith(('motiontrack.virtual', 'motiontrack.simulation'))"
        " for m in sys.modules), 'virtual'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_open_source_picks_by_kind(tmp_path):
    src = open_source({"thigh": "sim:thigh", "shank": "AA:BB:CC:DD:EE:FF"})
    assert isinstance(src, BleSource) and src.live
    assert [str(s.spec) for s in src.group.sensors.values()] == [
        "sim:thigh",
        "ble:AA:BB:CC:DD:EE:FF",
    ]
    with pytest.raises(ConfigurationError, match="cannot be mixed"):
        open_source({"thigh": "replay:a.csv", "shank": "sim:shank"})
    with pytest.raises(ConfigurationError, match="unknown source"):
        open_source({"thigh": "usb:0"})


def test_replay_batches_keep_recorded_notifications_in_arrival_order():
    rec = _recording(host=True)
    src = ReplaySource(rec)
    assert not src.live and src.uses_host_time
    batches = list(src.batches())
    assert all(isinstance(b, SampleBatch) and b.n_samples == 4 for b in batches)
    arrivals = [b.received_at for b in batches]
    assert arrivals == sorted(arrivals)
    assert [b.sensor for b in batches[:4]] == ["thigh", "shank", "thigh", "shank"]
    for name in ("thigh", "shank"):
        mine = [b for b in batches if b.sensor == name]
        assert [b.sequence for b in mine] == list(range(len(mine)))
        np.testing.assert_array_equal(np.concatenate([b.t for b in mine]), rec.sensors[name].t)
        np.testing.assert_array_equal(np.concatenate([b.gyr for b in mine]), rec.sensors[name].gyr)
        # received_at: the recorded host arrival time of the notification
        np.testing.assert_array_equal([b.received_at for b in mine], rec.sensors[name].host_t[3::4])


def test_replay_batches_without_host_times_use_blocks_in_device_order():
    src = ReplaySource(_recording(host=False), ["shank"], block_s=0.05)
    batches = list(src.batches())
    assert [b.n_samples for b in batches] == [5] * 40
    assert all(math.isnan(b.received_at) for b in batches)
    assert not src.uses_host_time
    both = list(ReplaySource(_recording(host=False), block_s=0.05).batches())
    last = [float(b.t[-1]) for b in both]
    assert last == sorted(last)


async def test_replay_events_are_the_batches_paced_and_nothing_else():
    rec = _recording(host=True)
    keep = np.ones(200, bool)
    keep[40:48] = False  # two notifications of the thigh lost
    s = rec.sensors["thigh"]
    rec.sensors["thigh"] = SensorSamples(
        s.t[keep], s.acc[keep], s.gyr[keep], None, 100.0, s.host_t[keep]
    )
    src = ReplaySource(rec, speed=0)
    events = [e async for e in src.events()]
    got = [e for e in events if isinstance(e, SampleBatch)]
    want = list(src.batches())
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert (a.sensor, a.sequence, a.received_at) == (b.sensor, b.sequence, b.received_at)
        np.testing.assert_array_equal(a.t, b.t)
    # a recording has no link to lose: the hole is left for the session engine to find
    assert not [e for e in events if isinstance(e, Gap)] and len(events) == len(want)


def test_replay_source_rejects_bad_arguments():
    with pytest.raises(ConfigurationError):
        ReplaySource(_recording(host=True), speed=-1)
    with pytest.raises(Exception, match="no sensor named 'femur'"):
        ReplaySource(_recording(host=True), ["femur"])
