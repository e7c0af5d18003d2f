"""Write the protocol test vectors (run deliberately; the JSON files are the contract).

    /tmp/venv/bin/python firmware_protocol/vectors/make_vectors.py

Valid vectors are produced by the Python encoder and then frozen: once committed, a change
in their bytes is a protocol change (SPEC.md §9) and needs a CHANGELOG entry. Several
vectors were also checked by hand against the byte tables (see the "note" fields).
Malformed vectors give the error code every decoder must report (SPEC.md §3.1).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from motiontrack.conventions import GRAVITY
from motiontrack.protocol import commands as c
from motiontrack.protocol.config import Capabilities, ErrorFlags, SensorConfig, Status, StreamState
from motiontrack.protocol.gatt import PacketType
from motiontrack.protocol.packets import (
    DataFlags,
    DataPacket,
    encode_data_packet,
    encode_mag_packet,
)

HERE = Path(__file__).resolve().parent


def data_fields(pkt: DataPacket, cfg: SensorConfig) -> dict:
    blk = pkt.to_si(cfg)

    def lst(a):
        return None if a is None else a.tolist()

    return {
        "packet_type": pkt.packet_type.name,
        "flags": int(pkt.flags),
        "flag_names": [f.name for f in DataFlags if f in pkt.flags],
        "sequence": pkt.sequence,
        "timestamp_us": pkt.timestamp_us,
        "counts": pkt.counts.tolist(),
        "acc": lst(blk.acc),
        "gyr": lst(blk.gyr),
        "mag": lst(blk.mag),
    }


def config_fields(cfg: SensorConfig) -> dict:
    return {
        "protocol_minor": cfg.protocol_minor,
        "capabilities": int(cfg.capabilities),
        "sample_rate_hz": cfg.sample_rate_hz,
        "mag_rate_hz": cfg.mag_rate_hz,
        "acc_range_g": cfg.acc_range_g,
        "gyr_range_dps": cfg.gyr_range_dps,
        "mag_range_ut": cfg.mag_range_ut,
        "acc_scale": cfg.acc_scale,
        "gyr_scale": cfg.gyr_scale,
        "mag_scale": cfg.mag_scale,
        "serial": cfg.serial,
    }


def status_fields(s: Status) -> dict:
    return {
        "state": s.state.name,
        "battery_percent": s.battery_percent,
        "temperature_c": s.temperature_c,
        "battery_mv": s.battery_mv,
        "error_flags": int(s.error_flags),
        "device_dropped": s.device_dropped,
    }


def write(name: str, doc: dict) -> None:
    (HERE / name).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    cfg = SensorConfig(
        sample_rate_hz=100.0,
        acc_range_g=16,
        gyr_range_dps=2000,
        mag_range_ut=4900,
        mag_rate_hz=25.0,
        serial="MT000042",
        capabilities=Capabilities.HAS_MAG | Capabilities.HAS_TEMPERATURE | Capabilities.TIME_SYNC,
    )
    rng = np.random.default_rng(20261122)

    # ------------------------------------------------------------------ data.json
    valid = []

    def add(name: str, b: bytes, note: str = "") -> None:
        pkt = DataPacket.from_bytes(b)
        entry = {"name": name, "hex": b.hex(), "decoded": data_fields(pkt, cfg)}
        if note:
            entry["note"] = note
        valid.append(entry)

    add(
        "one_sample_at_rest_default_mtu",
        encode_data_packet(
            sequence=0, timestamp_us=0, acc=[0, 0, GRAVITY], gyr=[0, 0, 0], config=cfg
        ),
        "20 bytes; acc_z = 1 g = 2048 counts at ±16 g (0x0800)",
    )
    add(
        "sequence_and_timestamp_little_endian",
        encode_data_packet(
            sequence=0x1234,
            timestamp_us=0xA1B2C3D4,
            acc=[1.0, -2.0, 9.0],
            gyr=[0.1, -0.2, 0.3],
            config=cfg,
            flags=DataFlags.CLOCK_SYNCED,
        ),
        "bytes 2-3 = 34 12, bytes 4-7 = d4 c3 b2 a1; flags 0x10 CLOCK_SYNCED",
    )
    add(
        "sequence_wrap_last",
        encode_data_packet(
            sequence=0xFFFF, timestamp_us=0xFFFFFFFF, acc=[0, 0, GRAVITY], gyr=[0, 0, 0], config=cfg
        ),
    )
    add(
        "nineteen_samples_244_bytes",
        encode_data_packet(
            sequence=7,
            timestamp_us=123456,
            acc=rng.normal(0, 4, (19, 3)),
            gyr=rng.normal(0, 2, (19, 3)),
            config=cfg,
        ),
        "8 + 19 * 12 = 236 bytes (largest 6-axis packet in 244)",
    )
    add(
        "thirteen_nine_axis_samples",
        encode_data_packet(
            sequence=8,
            timestamp_us=313456,
            acc=rng.normal(0, 4, (13, 3)),
            gyr=rng.normal(0, 2, (13, 3)),
            mag=rng.normal(0, 40, (13, 3)),
            config=cfg,
        ),
        "8 + 13 * 18 = 242 bytes, MAG_PRESENT",
    )
    sat_acc = np.array([[0.0, 0.0, 200.0], [-200.0, 0.0, 0.0]])
    sat_gyr = np.array([[40.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    add(
        "saturated_acc_and_gyr",
        encode_data_packet(sequence=9, timestamp_us=1000, acc=sat_acc, gyr=sat_gyr, config=cfg),
        "200 m/s² > 16 g and 40 rad/s > 2000 °/s clip to 32767/-32768; flags 0x06",
    )
    add(
        "extreme_counts",
        bytes(
            DataPacket(
                packet_type=PacketType.DATA,
                flags=0,
                sequence=10,
                timestamp_us=2000,
                counts=np.array([[-32768, 32767, -1, 1, 0, -32768]]),
            )
        ),
    )
    add(
        "mag_packet_two_samples_default_mtu",
        encode_mag_packet(
            sequence=11,
            timestamp_us=40000,
            mag=[[20.0, -5.0, -42.0], [20.5, -5.5, -41.0]],
            config=cfg,
        ),
        "MAG packet (0x12), 8 + 2 * 6 = 20 bytes, samples 1/25 Hz = 40000 us apart",
    )
    add(
        "reserved_flag_bits_kept",
        bytes(
            DataPacket(
                packet_type=PacketType.DATA,
                flags=0xE0,
                sequence=12,
                timestamp_us=3000,
                counts=np.array([[1, 2, 3, 4, 5, 6]]),
            )
        ),
        "bits 5-7 reserved: ignored by decoders, kept on re-encode",
    )

    good = bytes.fromhex(valid[0]["hex"])
    malformed = [
        ("empty", b"", "truncated"),
        ("header_only_byte", good[:1], "truncated"),
        ("short_header", good[:7], "truncated"),
        ("no_samples", good[:8], "empty"),
        ("partial_sample", good[:19], "length"),
        ("extra_byte", good + b"\x00", "length"),
        ("mag_flag_with_6_axis_length", bytes([0x11, 0x01]) + good[2:], "length"),
        ("mag_packet_partial", bytes([0x12, 0x01]) + good[2:8] + bytes(7), "length"),
        ("major_version_2", bytes([0x21]) + good[1:], "version"),
        ("major_version_0", bytes([0x01]) + good[1:], "version"),
        ("status_type_on_data", bytes([0x14]) + good[1:], "packet_type"),
        ("unknown_type_0xF", bytes([0x1F]) + good[1:], "packet_type"),
        ("too_long_516", bytes([0x11, 0x00]) + bytes(6) + bytes(508), "too_long"),
        ("version_checked_before_length", bytes([0x31, 0x00, 0x00]), "version"),
    ]
    write(
        "data.json",
        {
            "description": "DATA (0x1) and MAG (0x2) packets, SPEC.md §4-5. SI values use config_hex.",
            "protocol": "1.0",
            "config_hex": bytes(cfg).hex(),
            "valid": valid,
            "malformed": [{"name": n, "hex": b.hex(), "error": e} for n, b, e in malformed],
        },
    )

    # ---------------------------------------------------------------- config.json
    configs = [
        ("default_100hz_16g_2000dps_with_mag", cfg),
        (
            "no_mag_208hz",
            SensorConfig(sample_rate_hz=208.0, acc_range_g=8, gyr_range_dps=1000, serial="A1"),
        ),
        (
            "lsm6dsx_exact_sensitivity",
            SensorConfig(
                sample_rate_hz=104.0,
                acc_range_g=4,
                gyr_range_dps=2000,
                acc_scale=0.122e-3 * GRAVITY,
                gyr_scale=70e-3 * math.pi / 180,
            ),
        ),
        ("fractional_rate_12_5hz", SensorConfig(sample_rate_hz=12.5, mag_rate_hz=12.5, serial="")),
    ]
    cvalid = [{"name": n, "hex": bytes(x).hex(), "decoded": config_fields(x)} for n, x in configs]
    cb = bytes(cfg)

    def patched(off: int, new: bytes) -> bytes:
        return cb[:off] + new + cb[off + len(new) :]

    nan = np.float32(np.nan).tobytes()
    cmal = [
        ("empty", b"", "truncated"),
        ("short", cb[:39], "truncated"),
        ("wrong_major", bytes([0x25]) + cb[1:], "version"),
        ("data_type", bytes([0x11]) + cb[1:], "packet_type"),
        ("zero_rate", patched(4, bytes(4)), "value"),
        ("zero_acc_range", patched(12, bytes(2)), "value"),
        ("zero_mag_range", patched(16, bytes(2)), "value"),
        ("nan_gyr_scale", patched(24, nan), "value"),
        ("negative_acc_scale", patched(20, np.float32(-1.0).tobytes()), "value"),
        ("zero_mag_scale", patched(28, bytes(4)), "value"),
        ("inf_acc_scale", patched(20, np.float32(np.inf).tobytes()), "value"),
    ]
    cvalid.append(
        {
            "name": "trailing_bytes_from_newer_minor",
            "hex": (cb + b"\x01\x02\x03").hex(),
            "decoded": config_fields(cfg),
            "canonical_hex": cb.hex(),
        }
    )
    write(
        "config.json",
        {
            "description": "CONFIG (0x5) packets, SPEC.md §6.",
            "protocol": "1.0",
            "valid": cvalid,
            "malformed": [{"name": n, "hex": b.hex(), "error": e} for n, b, e in cmal],
        },
    )

    # ---------------------------------------------------------------- status.json
    statuses = [
        (
            "streaming_all_known",
            Status(
                state=StreamState.STREAMING,
                battery_percent=87,
                temperature_c=31.25,
                battery_mv=3912,
                error_flags=ErrorFlags.FIFO_OVERFLOW,
                device_dropped=3,
            ),
        ),
        ("idle_all_unknown", Status()),
        (
            "fault_negative_temperature",
            Status(
                state=StreamState.FAULT,
                battery_percent=0,
                temperature_c=-12.5,
                error_flags=ErrorFlags.IMU_FAULT | ErrorFlags.BROWNOUT_RESET,
                device_dropped=65535,
            ),
        ),
    ]
    sb = bytes(statuses[0][1])
    write(
        "status.json",
        {
            "description": "STATUS (0x4) packets, SPEC.md §8.",
            "protocol": "1.0",
            "valid": [
                {"name": n, "hex": bytes(s).hex(), "decoded": status_fields(s)} for n, s in statuses
            ],
            "malformed": [
                {"name": n, "hex": b.hex(), "error": e}
                for n, b, e in [
                    ("empty", b"", "truncated"),
                    ("short", sb[:15], "truncated"),
                    ("wrong_major", bytes([0x04]) + sb[1:], "version"),
                    ("config_type", bytes([0x15]) + sb[1:], "packet_type"),
                    ("unknown_state", sb[:1] + b"\x03" + sb[2:], "value"),
                    ("battery_101_percent", sb[:2] + b"\x65" + sb[3:], "value"),
                ]
            ],
        },
    )

    # -------------------------------------------------------------- commands.json
    cmds = [
        ("start_6axis", c.start(token=1)),
        ("start_with_mag", c.start(mag=True, token=2)),
        ("start_mag_separate", c.start(mag=True, mag_separate=True, token=3)),
        ("stop", c.stop(token=4)),
        ("set_sample_rate_208hz", c.set_sample_rate(208.0, token=5)),
        ("set_ranges_acc_8g_keep_others", c.set_ranges(acc_range_g=8, token=6)),
        ("time_sync_apply", c.time_sync(0xDEADBEEF, apply=True, token=7)),
        ("identify_5s", c.identify(5, token=8)),
        ("get_config", c.get_config(token=9)),
        ("get_status", c.get_status(token=10)),
    ]
    resps = [
        (
            "start_ok_payload_244",
            c.Response(opcode=c.Opcode.START, token=1, values={"payload_size": 244}),
        ),
        ("stop_ok", c.Response(opcode=c.Opcode.STOP, token=4)),
        (
            "set_rate_ok_200hz",
            c.Response(
                opcode=c.Opcode.SET_SAMPLE_RATE, token=5, values={"sample_rate_mhz": 200000}
            ),
        ),
        (
            "set_rate_invalid_state",
            c.Response(opcode=c.Opcode.SET_SAMPLE_RATE, token=5, result=c.ResultCode.INVALID_STATE),
        ),
        (
            "set_ranges_ok",
            c.Response(
                opcode=c.Opcode.SET_RANGES,
                token=6,
                values={"acc_range_g": 8, "gyr_range_dps": 2000, "mag_range_ut": 4900},
            ),
        ),
        (
            "time_sync_ok",
            c.Response(
                opcode=c.Opcode.TIME_SYNC,
                token=7,
                values={"host_time_us": 0xDEADBEEF, "device_time_us": 123456789},
            ),
        ),
        (
            "identify_unsupported",
            c.Response(opcode=c.Opcode.IDENTIFY, token=8, result=c.ResultCode.UNSUPPORTED),
        ),
        (
            "get_config_ok",
            c.Response(
                opcode=c.Opcode.GET_CONFIG,
                token=9,
                values={
                    "sample_rate_mhz": 100000,
                    "mag_rate_mhz": 25000,
                    "acc_range_g": 16,
                    "gyr_range_dps": 2000,
                    "mag_range_ut": 4900,
                },
            ),
        ),
        ("get_status_ok", c.status_response(statuses[0][1], token=10)),
        (
            "unknown_result_code_is_failure",
            c.Response(opcode=c.Opcode.START, token=11, result=0x42),
        ),
    ]
    write(
        "commands.json",
        {
            "description": "COMMAND (0x3) and RESPONSE (0x6) packets, SPEC.md §7.",
            "protocol": "1.0",
            "valid": [
                {
                    "name": n,
                    "kind": "command",
                    "hex": bytes(x).hex(),
                    "decoded": {
                        "opcode": x.opcode.name,
                        "token": x.token,
                        "params": dict(x.params),
                    },
                }
                for n, x in cmds
            ]
            + [
                {
                    "name": n,
                    "kind": "response",
                    "hex": bytes(x).hex(),
                    "decoded": {
                        "opcode": x.opcode.name,
                        "token": x.token,
                        "result": int(x.result),
                        "values": dict(x.values),
                    },
                }
                for n, x in resps
            ],
            "malformed": [
                {"name": n, "kind": k, "hex": b.hex(), "error": e}
                for n, k, b, e in [
                    ("command_empty", "command", b"", "truncated"),
                    ("command_two_bytes", "command", b"\x13\x01", "truncated"),
                    ("command_unknown_opcode", "command", b"\x13\x99\x00", "opcode"),
                    ("command_opcode_zero", "command", b"\x13\x00\x00", "opcode"),
                    ("set_rate_short_params", "command", b"\x13\x03\x05\xa0\x86", "length"),
                    (
                        "time_sync_short_params",
                        "command",
                        b"\x13\x05\x07\x00\x00\x00\x00",
                        "length",
                    ),
                    ("command_wrong_major", "command", b"\x23\x02\x00", "version"),
                    ("response_on_command_decoder", "command", b"\x16\x02\x00\x00", "packet_type"),
                    ("response_three_bytes", "response", b"\x16\x02\x00", "truncated"),
                    ("response_unknown_opcode", "response", b"\x16\x77\x00\x00", "opcode"),
                    ("start_ok_missing_payload", "response", b"\x16\x01\x01\x00\xf4", "length"),
                    ("get_status_ok_short", "response", b"\x16\x08\x0a\x00" + bytes(14), "length"),
                    ("response_wrong_major", "response", b"\x06\x02\x00\x00", "version"),
                ]
            ],
        },
    )
    profile_vectors()
    print("wrote", sorted(p.name for p in HERE.glob("*.json")))


def profile_vectors() -> None:
    from motiontrack.protocol.profiles import movella_dot as dot
    from motiontrack.protocol.profiles import witmotion as wit

    def wit_decoded(b: bytes) -> dict:
        s = wit.PROFILE.decode(b)
        return {
            "n": s.n,
            "acc": s.acc.tolist(),
            "gyr": s.gyr.tolist(),
            "euler_deg": s.euler_deg.tolist(),
            "q_earth_sensor": s.q_earth_sensor.tolist(),
        }

    rest = wit.encode_imu_frame([0, 0, GRAVITY], [0, 0, 0], [0, 0, 0])
    turning = wit.encode_imu_frame([1.0, -2.0, 9.5], [0.5, -1.0, 2.0], [10.0, -20.0, 90.0])
    reg = bytes([0x55, 0x71, 0x40, 0x00]) + np.array([2531, 0, 0, 0, 0, 0, 0, 0], "<i2").tobytes()
    write(
        "witmotion.json",
        {
            "description": "WitMotion BLE 5.0 notifications (profiles/witmotion.py). acc m/s², gyr rad/s.",
            "valid": [
                {
                    "name": "at_rest_z_up",
                    "hex": rest.hex(),
                    "decoded": wit_decoded(rest),
                    "note": "acc_z = 2048 counts = 1 g at ±16 g",
                },
                {"name": "moving", "hex": turning.hex(), "decoded": wit_decoded(turning)},
                {
                    "name": "two_frames_one_notification",
                    "hex": (rest + turning).hex(),
                    "decoded": wit_decoded(rest + turning),
                },
                {
                    "name": "register_read_temperature",
                    "hex": reg.hex(),
                    "decoded": {"n": 0},
                    "temperature_c": 25.31,
                },
            ],
            "malformed": [
                {"name": n, "hex": b.hex(), "error": e}
                for n, b, e in [
                    ("empty", b"", "truncated"),
                    ("short_frame", rest[:19], "length"),
                    ("bad_header", b"\x54" + rest[1:], "sync"),
                    ("unknown_flag", b"\x55\x62" + rest[2:], "unsupported"),
                    ("second_frame_bad_header", rest + b"\x00" + rest[1:], "sync"),
                ]
            ],
        },
    )

    def dot_entry(name: str, mode, **fields) -> dict:
        b = dot.encode_payload(mode, 123456789, **fields)
        s = dot.MovellaDotProfile(mode).decode(b)
        dec = {"mode": mode.name, "device_time_us": s.device_time_us.tolist()}
        for k in ("acc", "gyr", "q_earth_sensor", "euler_deg", "free_acc"):
            v = getattr(s, k)
            if v is not None:
                dec[k] = v.tolist()
        for k, v in s.extras:
            dec[k] = v.tolist()
        return {"name": name, "hex": b.hex(), "decoded": dec}

    q = np.array([0.9238795, 0.0, 0.0, 0.3826834])
    write(
        "movella_dot.json",
        {
            "description": "Movella DOT notifications (profiles/movella_dot.py), one entry per payload mode tested.",
            "valid": [
                dot_entry(
                    "rate_quantities_mag",
                    dot.PayloadMode.RATE_QUANTITIES_MAG,
                    acc=[0.1, 0.2, 9.8],
                    gyr=[90.0, 0.0, -45.0],
                    mag=[0.5, -0.25, 0.75],
                ),
                dot_entry(
                    "rate_quantities",
                    dot.PayloadMode.RATE_QUANTITIES,
                    acc=[0.0, 0.0, 9.81],
                    gyr=[0.0, 180.0, 0.0],
                ),
                dot_entry(
                    "complete_quaternion",
                    dot.PayloadMode.COMPLETE_QUATERNION,
                    quat=q,
                    free_acc=[0.0, 0.5, -0.25],
                ),
                dot_entry(
                    "extended_euler",
                    dot.PayloadMode.EXTENDED_EULER,
                    euler=[1.0, 2.0, 45.0],
                    free_acc=[0.0, 0.0, 0.0],
                    status=[0],
                    clip_acc=[1],
                    clip_gyr=[0],
                ),
                dot_entry(
                    "orientation_quaternion_short", dot.PayloadMode.ORIENTATION_QUATERNION, quat=q
                ),
                dot_entry(
                    "custom_5_long",
                    dot.PayloadMode.CUSTOM_5,
                    quat=q,
                    acc=[0.0, 0.0, 9.81],
                    gyr=[10.0, 20.0, 30.0],
                ),
            ],
            "malformed": [
                {
                    "name": "rate_quantities_truncated",
                    "mode": "RATE_QUANTITIES",
                    "hex": bytes(27).hex(),
                    "error": "truncated",
                },
                {
                    "name": "too_long",
                    "mode": "RATE_QUANTITIES",
                    "hex": bytes(64).hex(),
                    "error": "too_long",
                },
                {
                    "name": "nan_acc",
                    "mode": "RATE_QUANTITIES",
                    "hex": (bytes(4) + np.float32(np.nan).tobytes() + bytes(20)).hex(),
                    "error": "value",
                },
            ],
        },
    )


if __name__ == "__main__":
    main()
