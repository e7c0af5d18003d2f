"""Sensor profiles (extension point, WitMotion, Movella DOT) and arrival-time loss inference."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motiontrack.conventions import from_scipy
from motiontrack.errors import ConfigurationError, ProtocolError
from motiontrack.protocol import SensorConfig, encode_data_packet, gatt
from motiontrack.protocol.arrival import ArrivalSequencer
from motiontrack.protocol.profiles import (
    ProfileSamples,
    SensorProfile,
    available_profiles,
    get_profile,
    profile_for_services,
    register_profile,
)
from motiontrack.protocol.profiles import movella_dot as dot
from motiontrack.protocol.profiles import witmotion as wit

VECTORS = Path(__file__).resolve().parents[1] / "firmware_protocol" / "vectors"
WIT = json.loads((VECTORS / "witmotion.json").read_text(encoding="utf-8"))
DOT = json.loads((VECTORS / "movella_dot.json").read_text(encoding="utf-8"))


def test_registry_and_extension_point():
    assert {"motiontrack", "witmotion", "movella_dot"} <= set(available_profiles())
    assert profile_for_services(["0000FFE5-0000-1000-8000-00805F9A34FB"]).name == "witmotion"
    assert profile_for_services([gatt.SERVICE_UUID]).name == "motiontrack"
    assert profile_for_services(["1517" + "2000-4947-11e9-8646-d663bd873d93"]).name == "movella_dot"
    for name in available_profiles():
        p = get_profile(name)
        assert isinstance(p, SensorProfile) and p.confidence

    class Toy:  # a new sensor is one class + register_profile
        name = "toy_sensor_for_test"
        service_uuid = "0000abcd-0000-1000-8000-00805f9b34fb"
        notify_uuids = ("0000abce-0000-1000-8000-00805f9b34fb",)
        write_uuid = None
        name_prefixes = ("TOY",)
        has_sequence = False
        has_device_time = False
        confidence = "test only"

        def start_commands(self, *, sample_rate_hz=None):
            return []

        def stop_commands(self):
            return []

        def decode(self, data, *, characteristic=None):
            if len(data) != 6:
                raise ProtocolError("toy", code="length")
            return ProfileSamples(n=1, acc=np.frombuffer(bytes(data), "<i2").astype(float)[None, :])

    toy = register_profile(Toy())
    assert get_profile("toy_sensor_for_test") is toy
    with pytest.raises(ConfigurationError):
        register_profile(Toy())  # a different object under the same name
    with pytest.raises(ConfigurationError):
        get_profile("no_such_sensor")


def test_native_profile_decodes_motiontrack_packets():
    cfg = SensorConfig(sample_rate_hz=50.0)
    p = get_profile("motiontrack").with_config(cfg)
    b = encode_data_packet(
        sequence=5,
        timestamp_us=1000,
        acc=[[0, 0, 9.8], [0, 0, 9.7]],
        gyr=np.zeros((2, 3)),
        config=cfg,
    )
    s = p.decode(b)
    assert s.n == 2 and s.device_time_us.tolist() == [1000.0, 21000.0]
    assert s.extra("sequence").tolist() == [5]
    assert p.start_commands(sample_rate_hz=50.0)[0][1][:2] == b"\x13\x03"


# ---------------------------------------------------------------------------- WitMotion
@pytest.mark.parametrize("vec", WIT["valid"], ids=[v["name"] for v in WIT["valid"]])
def test_witmotion_vectors(vec):
    s = wit.PROFILE.decode(bytes.fromhex(vec["hex"]))
    d = vec["decoded"]
    assert s.n == d["n"]
    for k in ("acc", "gyr", "euler_deg", "q_earth_sensor"):
        if k in d:
            np.testing.assert_allclose(getattr(s, k), d[k], rtol=0, atol=1e-12)
    if "temperature_c" in vec:
        _, regs = wit.decode_frames(bytes.fromhex(vec["hex"]))
        assert regs[0].temperature_c() == vec["temperature_c"]


@pytest.mark.parametrize("vec", WIT["malformed"], ids=[v["name"] for v in WIT["malformed"]])
def test_witmotion_malformed(vec):
    with pytest.raises(ProtocolError) as e:
        wit.PROFILE.decode(bytes.fromhex(vec["hex"]))
    assert e.value.code == vec["error"]


def test_witmotion_units_and_frames_by_hand():
    # 2048 counts = 1 g at ±16 g; 16384 counts = 1000 °/s at ±2000 °/s; 16384 = 90°
    frame = bytes([0x55, 0x61]) + np.array([0, 0, 2048, 16384, 0, 0, 0, 0, 16384], "<i2").tobytes()
    s = wit.PROFILE.decode(frame)
    assert s.acc[0, 2] == pytest.approx(9.80665, abs=1e-12)
    assert s.gyr[0, 0] == pytest.approx(1000 * math.pi / 180, abs=1e-12)
    np.testing.assert_allclose(s.euler_deg[0], [0, 0, 90.0])
    rng = np.random.default_rng(0)
    eul = rng.uniform([-180, -89, -180], [180, 89, 180], (200, 3))
    q = wit.euler_zyx_deg_to_quaternion(eul)
    ref = from_scipy(Rotation.from_euler("ZYX", eul[:, ::-1], degrees=True).as_quat())
    np.testing.assert_allclose(np.abs(np.sum(q * ref, axis=1)), 1.0, atol=1e-12)


def test_witmotion_commands():
    assert wit.read_register_command(0x3A) == bytes.fromhex("ffaa273a00")
    assert wit.PROFILE.start_commands(sample_rate_hz=100.0) == [
        (wit.WRITE_UUID, bytes.fromhex("ffaa6988b5")),
        (wit.WRITE_UUID, bytes.fromhex("ffaa030900")),
    ]
    with pytest.raises(ConfigurationError):
        wit.PROFILE.start_commands(sample_rate_hz=33.0)


# -------------------------------------------------------------------------- Movella DOT
@pytest.mark.parametrize("vec", DOT["valid"], ids=[v["name"] for v in DOT["valid"]])
def test_movella_vectors(vec):
    d = vec["decoded"]
    mode = dot.PayloadMode[d["mode"]]
    s = dot.MovellaDotProfile(mode).decode(
        bytes.fromhex(vec["hex"]), characteristic=dot.MODES[mode].characteristic
    )
    assert s.n == 1 and s.device_time_us.tolist() == d["device_time_us"] == [123456789.0]
    for k in ("acc", "gyr", "q_earth_sensor", "euler_deg", "free_acc"):
        if k in d:
            np.testing.assert_array_equal(getattr(s, k), np.array(d[k]))
        else:
            assert getattr(s, k) is None
    for k, v in s.extras:
        np.testing.assert_array_equal(v, np.array(d[k]))


@pytest.mark.parametrize("vec", DOT["malformed"], ids=[v["name"] for v in DOT["malformed"]])
def test_movella_malformed(vec):
    with pytest.raises(ProtocolError) as e:
        dot.MovellaDotProfile(dot.PayloadMode[vec["mode"]]).decode(bytes.fromhex(vec["hex"]))
    assert e.value.code == vec["error"]


def test_movella_units_by_hand():
    b = dot.encode_payload(
        dot.PayloadMode.RATE_QUANTITIES_MAG,
        7,
        acc=[0, 0, 9.81],
        gyr=[90.0, 0, 0],
        mag=[1.0, 0, -0.5],
    )
    assert len(b) == 40 and b[:4] == (7).to_bytes(4, "little")  # medium payload, padded
    assert b[28:30] == (4096).to_bytes(2, "little")  # mag 1.0 a.u. = 2^12
    s = dot.MovellaDotProfile().decode(b)
    assert s.gyr[0, 0] == pytest.approx(math.pi / 2, rel=1e-7)
    assert s.extra("mag_au")[0].tolist() == [1.0, 0.0, -0.5] and s.mag is None
    assert dot.control_command(dot.PayloadMode.RATE_QUANTITIES_MAG, start=True) == bytes([1, 1, 20])
    assert dot.MovellaDotProfile().stop_commands()[0][1] == bytes([1, 0, 20])
    with pytest.raises(ProtocolError) as e:
        dot.MovellaDotProfile().decode(b, characteristic=dot.SHORT_PAYLOAD_UUID)
    assert e.value.code == "packet_type"


# ------------------------------------------------------------ arrival-time loss inference
def simulate_witmotion(
    rng,
    *,
    n=6000,
    fs=100.0,
    odr_error=0.015,
    losses=((1500, 40), (3000, 30), (4500, 60)),
    stalls=((1000, 0.15), (2500, 0.2), (4000, 0.12)),
):
    """Frames produced at fs*(1+odr_error); loss runs dropped; stalls queue frames (no loss)."""
    t_gen = np.arange(n) / (fs * (1 + odr_error))
    ci = 0.0075
    arrival = np.ceil(t_gen / ci) * ci + 0.001 + rng.exponential(0.0015, n)
    for start, dur in stalls:  # link stall: frames queue, then arrive in a burst
        blocked = (t_gen >= t_gen[start]) & (t_gen < t_gen[start] + dur)
        arrival[blocked] = np.maximum(arrival[blocked], t_gen[start] + dur + 0.002)
    keep = np.ones(n, bool)
    for start, k in losses:
        keep[start : start + k] = False
    arrival = np.maximum.accumulate(arrival)  # notifications are delivered in order
    return arrival[keep], np.flatnonzero(keep), sum(k for _, k in losses)


def test_arrival_sequencer_infers_losses_not_stalls():
    rng = np.random.default_rng(4)
    arrival, true_idx, n_lost = simulate_witmotion(rng)
    seq = ArrivalSequencer(100.0, latency_bound_s=0.25)
    idx = np.array([seq.push(t)[0] for t in arrival])
    assert seq.stats.gaps == 3  # the three losses; no stall taken for a loss
    assert abs(seq.stats.lost_samples - n_lost) <= 2  # 130 lost, sized from arrival times
    assert np.all(np.diff(idx) >= 1)
    # every index within 2 samples of the truth (ODR error absorbed by the envelope)
    assert np.max(np.abs(idx - true_idx)) <= 2


def test_profile_stream_movella_timestamps_wrap_and_gaps():
    from motiontrack.protocol.profiles import ProfileStream

    st = ProfileStream(dot.MovellaDotProfile(dot.PayloadMode.RATE_QUANTITIES), 60.0)
    period = 1e6 / 60
    ts = (2**32 - 5 * period + period * np.arange(40)).round().astype(np.int64)
    ts = np.delete(ts, [10, 11, 12, 30])  # 2 gaps: 3 and 1 samples
    out = []
    for k, t in enumerate(ts):
        b = dot.encode_payload(
            dot.PayloadMode.RATE_QUANTITIES, int(t) % 2**32, acc=[0, 0, 9.8], gyr=[0, 0, 0]
        )
        s, lost = st.push(b, host_time_s=k * 0.0167)
        out.append(s.device_time_us[0])
    assert st.stats.lost_samples == 4 and st.stats.gaps == 2
    assert np.all(np.diff(out) > 0) and out[-1] > 2**32  # unwrapped across the u32 wrap
    assert st.push(b"\x00" * 5, host_time_s=1.0) == (None, 0) and st.stats.malformed == 1


def test_profile_stream_witmotion_uses_arrival_times():
    from motiontrack.protocol.profiles import ProfileStream

    rng = np.random.default_rng(9)
    arrival, true_idx, n_lost = simulate_witmotion(rng, n=3000, losses=((1200, 50),), stalls=())
    st = ProfileStream(wit.PROFILE, 100.0)
    frame = wit.encode_imu_frame([0, 0, 9.8], [0, 0, 0], [0, 0, 0])
    times = [st.push(frame, host_time_s=t)[0].device_time_us[0] for t in arrival]
    assert st.stats.lost_samples == n_lost == 50
    np.testing.assert_allclose(times, true_idx * 1e4)
