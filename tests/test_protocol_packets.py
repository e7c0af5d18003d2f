"""DATA/MAG packets, config and status: round trips, scaling, flags, error codes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from motiontrack.conventions import GRAVITY
from motiontrack.errors import ConfigurationError, InputError, ProtocolError
from motiontrack.protocol import (
    Capabilities,
    DataFlags,
    DataPacket,
    ErrorFlags,
    PacketType,
    SensorConfig,
    Status,
    StreamState,
    decode_config,
    decode_data_packet,
    decode_samples,
    decode_status,
    encode_config,
    encode_data_packet,
    encode_mag_packet,
    encode_status,
    gatt,
    max_samples,
)

CFG = SensorConfig(
    sample_rate_hz=100.0,
    acc_range_g=16,
    gyr_range_dps=2000,
    mag_range_ut=4900,
    mag_rate_hz=50.0,
    serial="MT000001",
    capabilities=Capabilities.HAS_MAG,
)


def test_uuids_match_interface():
    assert gatt.SERVICE_UUID == "6d740001-0b5e-4c3a-9f10-6d6f74726b00"
    assert gatt.DATA_UUID == "6d740002-0b5e-4c3a-9f10-6d6f74726b00"
    assert gatt.CONTROL_UUID == "6d740003-0b5e-4c3a-9f10-6d6f74726b00"
    assert gatt.STATUS_UUID == "6d740004-0b5e-4c3a-9f10-6d6f74726b00"
    assert gatt.CONFIG_UUID == "6d740005-0b5e-4c3a-9f10-6d6f74726b00"
    assert gatt.BATTERY_LEVEL_UUID == "00002a19-0000-1000-8000-00805f9b34fb"


def test_one_sample_fits_default_payload_and_capacity_at_244():
    b = encode_data_packet(
        sequence=1, timestamp_us=10, acc=[0, 0, GRAVITY], gyr=[0, 0, 0], config=CFG
    )
    assert len(b) == gatt.DEFAULT_PAYLOAD
    assert max_samples(244) == 19
    assert max_samples(244, mag=True) == 13
    assert max_samples(20, mag=True) == 0
    assert max_samples(20, packet_type=PacketType.MAG) == 2


def test_known_bytes_and_scaling():
    # 1 g on z at ±16 g is 2048 counts; 1 rad/s at ±2000 °/s is 938.7 -> 939 counts.
    b = encode_data_packet(
        sequence=0x1234, timestamp_us=0xA1B2C3D4, acc=[0, 0, GRAVITY], gyr=[1.0, 0, 0], config=CFG
    )
    assert b[:8] == bytes([0x11, 0x00, 0x34, 0x12, 0xD4, 0xC3, 0xB2, 0xA1])
    assert int.from_bytes(b[12:14], "little", signed=True) == 2048
    assert int.from_bytes(b[14:16], "little", signed=True) == round(
        1.0 / (2000 * math.pi / 180 / 32768)
    )
    blk = decode_samples(b, CFG)
    assert blk.acc.shape == (1, 3) and blk.mag is None
    np.testing.assert_allclose(blk.acc[0], [0, 0, GRAVITY], atol=CFG.acc_scale / 2)
    np.testing.assert_allclose(blk.gyr[0], [1, 0, 0], atol=CFG.gyr_scale / 2)
    assert blk.sequence == 0x1234 and blk.timestamp_us == 0xA1B2C3D4


def test_nine_axis_and_flags_surface():
    rng = np.random.default_rng(0)
    acc = rng.normal(0, 5, (13, 3))
    acc[3, 1] = 1000.0  # beyond ±16 g -> saturation
    gyr = rng.normal(0, 1, (13, 3))
    mag = rng.normal(0, 40, (13, 3))
    b = encode_data_packet(
        sequence=7,
        timestamp_us=5,
        acc=acc,
        gyr=gyr,
        mag=mag,
        config=CFG,
        flags=DataFlags.CLOCK_SYNCED,
    )
    assert len(b) == 8 + 13 * 18 <= 244
    pkt = decode_data_packet(b)
    assert pkt.flags == DataFlags.MAG_PRESENT | DataFlags.ACC_SATURATED | DataFlags.CLOCK_SYNCED
    assert pkt.has_mag and pkt.counts.shape == (13, 9)
    assert pkt.counts[3, 1] == 32767
    blk = pkt.to_si(CFG)
    np.testing.assert_allclose(blk.mag, mag, atol=CFG.mag_scale / 2 + 1e-12)
    np.testing.assert_allclose(blk.timestamps_us, 5 + 1e4 * np.arange(13))
    assert bytes(pkt) == b and DataPacket.from_bytes(bytes(pkt)) == pkt


def test_mag_packet():
    b = encode_mag_packet(
        sequence=3, timestamp_us=100, mag=[[10, -20, 30], [11, -21, 31]], config=CFG
    )
    assert len(b) == 20 and b[0] == 0x12
    blk = decode_samples(b, CFG)
    assert blk.acc is None and blk.packet_type == PacketType.MAG
    assert blk.sample_period_us == pytest.approx(2e4)
    np.testing.assert_allclose(blk.mag[1], [11, -21, 31], atol=CFG.mag_scale)


def test_reserved_flag_bits_are_kept():
    b = bytearray(
        encode_data_packet(sequence=0, timestamp_us=0, acc=[0, 0, 0], gyr=[0, 0, 0], config=CFG)
    )
    b[1] |= 0x80
    pkt = decode_data_packet(bytes(b))
    assert int(pkt.flags) == 0x80 and bytes(pkt) == bytes(b)


@pytest.mark.parametrize(
    "data,code",
    [
        (b"", "truncated"),
        (b"\x21" + bytes(19), "version"),
        (b"\x13" + bytes(19), "packet_type"),
        (b"\x11\x00\x00", "truncated"),
        (b"\x11" + bytes(7), "empty"),
        (b"\x11" + bytes(8), "length"),
        (b"\x11\x01" + bytes(18), "length"),  # MAG_PRESENT needs 18-byte samples
        (b"\x11" + bytes(520), "too_long"),
    ],
)
def test_data_packet_errors(data, code):
    with pytest.raises(ProtocolError) as e:
        decode_data_packet(data)
    assert e.value.code == code


def test_config_round_trip_and_float32_scales():
    b = encode_config(CFG)
    assert len(b) == 40 and b[0] == 0x15
    back = decode_config(b)
    assert back == CFG
    assert decode_config(b + b"\x99\x98") == CFG  # later minor versions append
    lsm = SensorConfig(gyr_range_dps=2000, gyr_scale=0.070 * math.pi / 180)  # LSM6DSx 70 mdps/LSB
    assert decode_config(bytes(lsm)).gyr_scale == pytest.approx(0.070 * math.pi / 180, rel=1e-7)
    assert CFG.acc_scale == pytest.approx(16 * GRAVITY / 32768, rel=1e-7)


def test_config_validation_and_errors():
    with pytest.raises(ConfigurationError):
        SensorConfig(sample_rate_hz=0)
    with pytest.raises(ConfigurationError):
        SensorConfig(acc_range_g=0)
    with pytest.raises(ConfigurationError):
        SensorConfig(serial="TOO-LONG-SERIAL")
    bad = bytearray(bytes(CFG))
    bad[4:8] = bytes(4)
    with pytest.raises(ProtocolError) as e:
        decode_config(bytes(bad))
    assert e.value.code == "value"
    with pytest.raises(ProtocolError) as e:
        decode_config(bytes(CFG)[:39])
    assert e.value.code == "truncated"


def test_status_round_trip():
    s = Status(
        state=StreamState.STREAMING,
        battery_percent=87,
        temperature_c=31.25,
        battery_mv=3912,
        error_flags=ErrorFlags.FIFO_OVERFLOW | ErrorFlags.LOW_BATTERY,
        device_dropped=3,
    )
    b = encode_status(s)
    assert len(b) == 16 and b[0] == 0x14
    assert decode_status(b) == s
    unknown = Status()
    assert decode_status(bytes(unknown)) == unknown and unknown.temperature_c is None


def test_encoder_rejects_bad_input():
    with pytest.raises(InputError):
        encode_data_packet(
            sequence=0, timestamp_us=0, acc=[np.nan, 0, 0], gyr=[0, 0, 0], config=CFG
        )
    with pytest.raises(InputError):
        encode_data_packet(
            sequence=0, timestamp_us=0, acc=np.zeros((2, 3)), gyr=np.zeros((3, 3)), config=CFG
        )


def test_commands_round_trip_and_fit_default_payload():
    from motiontrack.protocol import commands as c

    cmds = [
        c.start(mag=True, token=1),
        c.stop(token=2),
        c.set_sample_rate(208.0, token=3),
        c.set_ranges(acc_range_g=8, token=4),
        c.time_sync(123456789, apply=True, token=5),
        c.identify(3, token=6),
        c.get_config(token=7),
        c.get_status(token=8),
    ]
    for cmd in cmds:
        b = bytes(cmd)
        assert len(b) <= 20 and b[0] == 0x13
        assert c.decode_command(b) == cmd
    assert c.decode_command(bytes(cmds[2]))["sample_rate_mhz"] == 208000
    for op, layout in c.REPLY_PAYLOADS.items():
        assert 4 + layout.size <= 20, op


def test_responses_and_error_codes():
    from motiontrack.protocol import commands as c

    st = Status(state=StreamState.STREAMING, battery_percent=50, temperature_c=-3.5)
    r = c.status_response(st, token=9)
    assert c.decode_response(bytes(r)).status() == st
    err = c.Response(opcode=c.Opcode.SET_SAMPLE_RATE, token=1, result=c.ResultCode.INVALID_STATE)
    assert bytes(err) == bytes([0x16, 0x03, 0x01, 0x04])
    assert c.decode_response(bytes(err)) == err
    ts = c.Response(opcode=c.Opcode.TIME_SYNC, values={"host_time_us": 5, "device_time_us": 7})
    assert c.decode_response(bytes(ts))["device_time_us"] == 7
    for data, code in [
        (b"\x13\x99\x00", "opcode"),
        (b"\x13\x03\x00\x01", "length"),
        (b"\x13\x01", "truncated"),
        (b"\x16\x01\x00\x00", "length"),
        (b"\x16\x09\x00\x00", "opcode"),
    ]:
        with pytest.raises(ProtocolError) as e:
            (c.decode_command if data[0] == 0x13 else c.decode_response)(data)
        assert e.value.code == code


def test_unknown_result_code_is_a_failure_not_an_error():
    from motiontrack.protocol import commands as c

    r = c.decode_response(b"\x16\x01\x05\x42")
    assert r.result == 0x42 and not r.ok and r.token == 5


def test_minor_version_additions_are_tolerated():
    """SPEC §9: trailing fields and unknown bits from a later minor version decode."""
    from motiontrack.protocol import commands as c

    cmd = c.set_sample_rate(100.0, token=4)
    assert c.decode_command(bytes(cmd) + b"\x01\x02") == cmd
    rsp = c.Response(opcode=c.Opcode.START, token=1, values={"payload_size": 244})
    assert c.decode_response(bytes(rsp) + b"\x09") == rsp
    st = Status(battery_percent=10)
    assert decode_status(bytes(st) + bytes(4)) == st
    caps = decode_config(bytes(SensorConfig(capabilities=0x8001))).capabilities
    assert int(caps) == 0x8001 and Capabilities.HAS_MAG in caps
