"""Property tests: every decoder decodes or raises ProtocolError; encoders round-trip.

The long fuzz run (>= 1,000,000 inputs) is benchmarks/protocol_fuzz.py; these keep the
CI share small (a few hundred examples per property, fixed seed via the derandomize
profile below).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motiontrack.errors import ProtocolError
from motiontrack.protocol import commands as c
from motiontrack.protocol.batch import decode_batch
from motiontrack.protocol.config import Capabilities, SensorConfig, Status, StreamState
from motiontrack.protocol.gatt import PacketType
from motiontrack.protocol.packets import DataPacket, decode_samples
from motiontrack.protocol.profiles import movella_dot as dot
from motiontrack.protocol.profiles import native, witmotion
from motiontrack.protocol.reassembly import StreamReassembler

SETTINGS = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
CFG = SensorConfig(sample_rate_hz=100.0, mag_rate_hz=25.0)

# bytes that often look like a packet: a plausible header byte, then anything
header_bytes = st.sampled_from([0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x55, 0x21, 0x01, 0x1F])
packets = st.one_of(
    st.binary(max_size=600),
    st.tuples(header_bytes, st.binary(max_size=80)).map(lambda t: bytes([t[0]]) + t[1]),
    st.tuples(st.sampled_from([0x61, 0x71]), st.integers(1, 3)).flatmap(
        lambda t: st.binary(
            min_size=18 * t[1] + 2 * (t[1] - 1), max_size=18 * t[1] + 2 * (t[1] - 1)
        ).map(
            lambda body, t=t: b"".join(
                bytes([0x55, t[0]]) + body[i * 20 : i * 20 + 18] for i in range(t[1])
            )
        )
    ),
)

DECODERS = {
    "data": lambda b: DataPacket.from_bytes(b).to_si(CFG),
    "config": SensorConfig.from_bytes,
    "status": Status.from_bytes,
    "command": c.Command.from_bytes,
    "response": c.Response.from_bytes,
    "native": native.MotionTrackProfile(CFG).decode,
    "witmotion": witmotion.PROFILE.decode,
    **{f"dot_{m.name}": dot.MovellaDotProfile(m).decode for m in dot.MODES},
}


@SETTINGS
@given(data=packets)
def test_every_decoder_decodes_or_raises_protocol_error(data):
    for name, fn in DECODERS.items():
        try:
            fn(data)
        except ProtocolError as e:
            assert isinstance(e.code, str) and e.code, name


@SETTINGS
@given(data=st.lists(packets, max_size=30))
def test_decode_batch_matches_single_decoder(data):
    b = decode_batch(data, CFG)
    errs = []
    n = 0
    for i, p in enumerate(data):
        try:
            n += decode_samples(p, CFG).n_samples
        except ProtocolError as e:
            errs.append((i, e.code))
    assert list(b.errors) == errs
    assert b.acc.shape[0] + b.mag_only.shape[0] == n


@SETTINGS
@given(arrivals=st.lists(st.one_of(packets, st.integers(0, 65535)), max_size=60))
def test_reassembler_never_raises_and_accounts_for_every_packet(arrivals):
    r = StreamReassembler(CFG)
    emitted = 0
    for a in arrivals:
        if isinstance(a, int):  # a valid packet with an arbitrary sequence number
            a = bytes(
                DataPacket(
                    packet_type=PacketType.DATA,
                    flags=0,
                    sequence=a,
                    timestamp_us=a * 10_000,
                    counts=np.zeros((1, 6), np.int16),
                )
            )
        emitted += r.push(a).n_samples
    emitted += r.flush().n_samples
    s = r.stats
    assert s.received == len(arrivals)
    assert s.emitted_packets + s.duplicates + s.late + sum(s.malformed.values()) == s.received
    assert emitted == s.emitted_samples


# ------------------------------------------------------------------------- round trips
@SETTINGS
@given(
    ptype=st.sampled_from([PacketType.DATA, PacketType.MAG]),
    flags=st.integers(0, 255),
    seq=st.integers(0, 65535),
    ts=st.integers(0, 2**32 - 1),
    n=st.integers(1, 28),
    seed=st.integers(0, 2**32 - 1),
)
def test_data_packet_round_trip(ptype, flags, seq, ts, n, seed):
    axes = 3 if ptype == PacketType.MAG else (9 if flags & 1 else 6)
    counts = np.random.default_rng(seed).integers(-32768, 32768, (n, axes))
    p = DataPacket(packet_type=ptype, flags=flags, sequence=seq, timestamp_us=ts, counts=counts)
    assert DataPacket.from_bytes(bytes(p)) == p


@SETTINGS
@given(
    rate=st.integers(1, 2**32 - 1),
    mag_rate=st.integers(0, 2**32 - 1),
    ranges=st.tuples(st.integers(1, 65535), st.integers(1, 65535), st.integers(1, 65535)),
    scales=st.tuples(*[st.floats(1e-30, 1e30, allow_nan=False, allow_infinity=False)] * 3),
    serial=st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=8),
    caps=st.integers(0, 65535),
    minor=st.integers(0, 255),
)
def test_config_round_trip(rate, mag_rate, ranges, scales, serial, caps, minor):
    cfg = SensorConfig(
        sample_rate_hz=rate / 1000,
        mag_rate_hz=mag_rate / 1000,
        acc_range_g=ranges[0],
        gyr_range_dps=ranges[1],
        mag_range_ut=ranges[2],
        acc_scale=scales[0],
        gyr_scale=scales[1],
        mag_scale=scales[2],
        serial=serial,
        capabilities=Capabilities(caps),
        protocol_minor=minor,
    )
    assert SensorConfig.from_bytes(bytes(cfg)) == cfg


@SETTINGS
@given(
    state=st.sampled_from(list(StreamState)),
    battery=st.one_of(st.none(), st.integers(0, 100)),
    temp=st.one_of(st.none(), st.integers(-32767, 32767)),
    mv=st.one_of(st.none(), st.integers(1, 65535)),
    errors=st.integers(0, 2**32 - 1),
    dropped=st.integers(0, 65535),
    token=st.integers(0, 255),
)
def test_status_and_get_status_round_trip(state, battery, temp, mv, errors, dropped, token):
    s = Status(
        state=state,
        battery_percent=battery,
        temperature_c=None if temp is None else temp / 100,
        battery_mv=mv,
        error_flags=errors,
        device_dropped=dropped,
    )
    assert Status.from_bytes(bytes(s)) == s
    assert c.Response.from_bytes(bytes(c.status_response(s, token=token))).status() == s


@SETTINGS
@given(
    op=st.sampled_from(list(c.Opcode)),
    token=st.integers(0, 255),
    seed=st.integers(0, 2**32 - 1),
    result=st.integers(0, 255),
)
def test_command_and_response_round_trip(op, token, seed, result):
    rng = np.random.default_rng(seed)
    params = {f.name: int(rng.integers(0, 2 ** (8 * f.size))) for f in c.COMMAND_PARAMS[op].fields}
    cmd = c.Command(opcode=op, token=token, params=params)
    assert c.Command.from_bytes(bytes(cmd)) == cmd
    values = (
        {}
        if result
        else {
            f.name: (
                0
                if f.name.startswith("reserved")
                else int(rng.integers(-(2**15), 2**15))
                if f.type == "i16"
                else int(rng.integers(0, 2 ** (8 * f.size)))
            )
            for f in c.REPLY_PAYLOADS[op].fields
        }
    )
    rsp = c.Response(opcode=op, token=token, result=result, values=values)
    assert c.Response.from_bytes(bytes(rsp)) == rsp
