"""Native .mtrec recordings: round trip, permissions, crash safety, damage recovery."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from motiontrack.errors import CorruptRecordingError, RecordingError
from motiontrack.io import load
from motiontrack.recording import RecordingWriter, read_recording
from motiontrack.recording import format as fmt


def _write(path, n=500, seed=0, mag=False):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0 + 3.0
    acc, gyr = rng.normal([0.0, 0.0, 9.81], size=(n, 3)), rng.normal(size=(n, 3))  # m/s², rad/s
    m = rng.normal(size=(n, 3)) if mag else None
    with RecordingWriter(path, meta={"exercise": "squat"}) as w:
        w.add_sensor("thigh", fs=100.0, address="AA:BB")
        w.add_sensor("shank", fs=100.0)
        for i in range(0, n, 10):  # packet-sized blocks, as a live session writes them
            w.write_samples(
                "thigh",
                t[i : i + 10],
                acc[i : i + 10],
                gyr[i : i + 10],
                None if m is None else m[i : i + 10],
            )
            w.write_samples(
                "shank",
                t[i : i + 10],
                -acc[i : i + 10],
                gyr[i : i + 10],
                None if m is None else m[i : i + 10],
            )
            w.write_packet("thigh", b"\x11\x00" + bytes(18), host_time_s=i / 100.0)
        w.write_calibration(
            {"kind": "segment", "sensor": "thigh", "q_segment_sensor": [1.0, 0, 0, 0]}
        )
        w.write_event({"type": "rep_completed", "t": 4.0, "rom_deg": 80.5})
    return t, acc, gyr, m


@pytest.mark.parametrize("mag", [False, True])
def test_round_trip_is_exact(tmp_path, mag):
    p = tmp_path / "a.mtrec"
    t, acc, gyr, m = _write(p, mag=mag)
    rec = read_recording(p)
    assert rec.complete and rec.warnings == []
    assert rec.names == ["thigh", "shank"]
    s = rec.sensors["thigh"]
    np.testing.assert_array_equal(s.t, t)
    np.testing.assert_array_equal(s.acc, acc)
    np.testing.assert_array_equal(rec.sensors["shank"].acc, -acc)
    np.testing.assert_array_equal(s.gyr, gyr)
    if mag:
        np.testing.assert_array_equal(s.mag, m)
    else:
        assert s.mag is None
    assert s.fs == 100.0
    assert rec.meta["exercise"] == "squat" and rec.meta["version"] == "1.0"
    assert len(rec.packets) == 50 and rec.packets[3].host_time_s == 0.3
    assert rec.calibration[0]["sensor"] == "thigh"
    assert rec.events == [{"type": "rep_completed", "t": 4.0, "rom_deg": 80.5}]
    assert load(p).sensors["thigh"].t.shape == (500,)


def test_owner_only_permissions_and_no_overwrite(tmp_path):
    p = tmp_path / "a.mtrec"
    _write(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    with pytest.raises(RecordingError, match="exists"):
        RecordingWriter(p)


def test_header_magic_and_version(tmp_path):
    p = tmp_path / "a.mtrec"
    _write(p)
    raw = p.read_bytes()
    assert raw[:8] == b"MTREC\r\n\x1a" and raw[8] == 1
    (tmp_path / "x.mtrec").write_bytes(raw[:8] + b"\x02" + raw[9:])
    with pytest.raises(RecordingError, match="format 2"):
        read_recording(tmp_path / "x.mtrec")
    (tmp_path / "y.mtrec").write_bytes(b"hello world, not a recording")
    with pytest.raises(RecordingError, match="not a motiontrack recording"):
        read_recording(tmp_path / "y.mtrec")


def test_every_truncation_recovers_all_complete_records(tmp_path):
    p = tmp_path / "a.mtrec"
    t, *_ = _write(p, n=200)
    raw = p.read_bytes()
    rng = np.random.default_rng(1)
    for cut in sorted(
        rng.choice(np.arange(fmt.FILE_HEADER.size + 1, len(raw) - 1), 40, replace=False)
    ):
        q = tmp_path / f"cut{cut}.mtrec"
        q.write_bytes(raw[:cut])
        try:
            rec = read_recording(q)
        except CorruptRecordingError as err:
            assert "truncated" in str(err) and "Recovered" in str(err)
            rec = err.recovered
            assert read_recording(q, recover=True).names == rec.names
        assert not rec.complete
        # every sample block that lies wholly before the cut is there, in order
        if "thigh" in rec.sensors:
            got = rec.sensors["thigh"].t
            np.testing.assert_array_equal(got, t[: got.shape[0]])


def test_corruption_in_the_middle_keeps_later_records(tmp_path):
    p = tmp_path / "a.mtrec"
    t, *_ = _write(p, n=500)
    raw = bytearray(p.read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 4] = b"\xff\xff\xff\xff"
    p.write_bytes(bytes(raw))
    with pytest.raises(CorruptRecordingError) as info:
        read_recording(p)
    rec = info.value.recovered
    assert (
        "CRC mismatch" in str(info.value)
        or "damaged" in str(info.value)
        or "garbage" in str(info.value)
    )
    got = rec.sensors["thigh"].t
    # at most one 10-sample block lost per sensor, the END record after it still read
    assert got.shape[0] >= 490 and got[-1] == t[-1]
    assert rec.complete


WRITER = textwrap.dedent(
    """
    import sys, time, numpy as np
    from motiontrack.recording import RecordingWriter
    w = RecordingWriter(sys.argv[1])
    w.add_sensor("thigh", fs=100.0)
    t0 = time.monotonic(); k = 0
    print("ready", flush=True)
    while True:  # 100 Hz in blocks of 5 samples, like BLE notifications
        t = (k + np.arange(5)) / 100.0
        w.write_samples("thigh", t, np.zeros((5, 3)), np.zeros((5, 3)))
        k += 5
        time.sleep(max(0.0, t0 + k / 100.0 - time.monotonic()))
    """
)


def test_sigkill_loses_at_most_the_last_second(tmp_path):
    p = tmp_path / "killed.mtrec"
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(p)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout.readline().strip() == "ready"
            t_start = time.monotonic()
            time.sleep(2.5)
            os.kill(proc.pid, signal.SIGKILL)
            elapsed = time.monotonic() - t_start
        finally:
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    rec = read_recording(p)  # ends between records: readable, flagged unfinished
    assert not rec.complete and "not closed cleanly" in rec.warnings[-1]
    got = rec.sensors["thigh"].t
    assert got[-1] + 1.0 >= elapsed - 0.2  # timing slack for a loaded 2-core machine
    np.testing.assert_allclose(np.diff(got), 0.01)


def test_raw_packets_alone_are_decoded_with_the_stored_config(tmp_path):
    """A recording that only kept raw notifications (no decoded samples) still reads:
    the CONFIG characteristic stored with the sensor gives the scale factors."""
    from motiontrack.protocol import SensorConfig, encode_config, encode_data_packet

    cfg = SensorConfig(sample_rate_hz=100.0, acc_range_g=16, gyr_range_dps=2000)
    rng = np.random.default_rng(3)
    acc = rng.normal([0, 0, 9.81], 1.0, (60, 3))
    gyr = rng.normal(0, 1.0, (60, 3))
    p = tmp_path / "raw.mtrec"
    with RecordingWriter(p) as w:
        w.add_sensor("thigh", fs=100.0, config=encode_config(cfg))
        for k in range(0, 60, 4):  # 4 samples per packet; packet 5 lost on the air
            if k // 4 == 5:
                continue
            payload = encode_data_packet(
                sequence=k // 4,
                timestamp_us=(2**32 - 100_000) + k * 10_000,
                acc=acc[k : k + 4],
                gyr=gyr[k : k + 4],
                config=cfg,
            )
            w.write_packet("thigh", payload, host_time_s=k / 100)
    s = read_recording(p).sensors["thigh"]
    keep = np.ones(60, bool)
    keep[20:24] = False
    # device time continues across the u32 µs wrap; counts quantise to range/32768
    np.testing.assert_allclose(
        np.diff(s.t), np.where(np.diff(np.flatnonzero(keep)) > 1, 0.05, 0.01), atol=1e-9
    )
    np.testing.assert_allclose(s.acc, acc[keep], atol=16 * 9.80665 / 32768)
    np.testing.assert_allclose(s.gyr, gyr[keep], atol=np.radians(2000) / 32768)
