"""Movella DOT (formerly Xsens DOT).

Confidence
----------
From Movella's public "Movella DOT BLE Services Specification" (XD0506P) as implemented
by open-source clients (e.g. the node-movella-dot library):

- Base UUID ``1517xxxx-4947-11e9-8646-d663bd873d93``; measurement service 0x2000,
  control 0x2001 (write ``01 <1 start | 0 stop> <payload mode>``), long payload 0x2002
  (up to 63 bytes), medium 0x2003 (up to 40), short 0x2004 (up to 20). [documented]
- Payload mode ids and layouts (:data:`MODES`): little-endian u32 timestamp in µs of the
  sensor clock, then float32 fields; magnetic field as int16 fixed point / 2^12. [documented]
- Quaternion (w, x, y, z) is the sensor orientation in the local earth frame, which Xsens
  defines as ENU: taken directly as ``q_earth_sensor``. Euler angles are roll, pitch,
  yaw in degrees (Z-Y-X). Acceleration is specific force in m/s² (sensor frame), angular
  velocity in °/s (converted to rad/s), free acceleration is in the earth frame with
  gravity removed, m/s². [documented in the DOT user manual]

Assumed or unknown:

- The magnetic field unit is "a.u." (normalised to the field at the sensor's calibration),
  not µT: it is returned in ``extras["mag_au"]`` and ``mag`` is None.
- Notifications may be padded to the characteristic's size; bytes after the mode's
  fields are ignored. Mode 25 (custom mode 4) and the high-fidelity modes (1, 17) use a
  proprietary layout and are rejected with ``unsupported``.
- No sequence number: loss is inferred from timestamp gaps (u32 µs, wraps every 71.6 min).
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigurationError, ProtocolError
from .base import ProfileSamples, register_profile


def dot_uuid(short: int) -> str:
    return f"1517{short:04x}-4947-11e9-8646-d663bd873d93"


SERVICE_UUID = dot_uuid(0x2000)
CONTROL_UUID = dot_uuid(0x2001)
LONG_PAYLOAD_UUID = dot_uuid(0x2002)
MEDIUM_PAYLOAD_UUID = dot_uuid(0x2003)
SHORT_PAYLOAD_UUID = dot_uuid(0x2004)
DEVICE_CONTROL_UUID = dot_uuid(0x1002)
BATTERY_UUID = dot_uuid(0x3001)

_CHAR_SIZE = {LONG_PAYLOAD_UUID: 63, MEDIUM_PAYLOAD_UUID: 40, SHORT_PAYLOAD_UUID: 20}


class PayloadMode(enum.IntEnum):
    EXTENDED_QUATERNION = 2
    COMPLETE_QUATERNION = 3
    ORIENTATION_EULER = 4
    ORIENTATION_QUATERNION = 5
    FREE_ACCELERATION = 6
    EXTENDED_EULER = 7
    COMPLETE_EULER = 16
    DELTA_QUANTITIES_MAG = 18
    DELTA_QUANTITIES = 19
    RATE_QUANTITIES_MAG = 20
    RATE_QUANTITIES = 21
    CUSTOM_1 = 22
    CUSTOM_2 = 23
    CUSTOM_3 = 24
    CUSTOM_5 = 26


# Field name -> struct code, count. Order after the u32 timestamp.
_FIELDS = {
    "quat": ("f", 4),
    "euler": ("f", 3),
    "free_acc": ("f", 3),
    "acc": ("f", 3),
    "gyr": ("f", 3),
    "dq": ("f", 4),
    "dv": ("f", 3),
    "mag": ("h", 3),
    "status": ("h", 1),
    "clip_acc": ("B", 1),
    "clip_gyr": ("B", 1),
}


@dataclass(frozen=True, slots=True)
class ModeLayout:
    mode: PayloadMode
    characteristic: str
    fields: tuple[str, ...]
    struct: struct.Struct

    @property
    def size(self) -> int:
        return self.struct.size


def _layout(mode: PayloadMode, characteristic: str, *fields: str) -> ModeLayout:
    fmt = "<I" + "".join(f"{_FIELDS[f][1]}{_FIELDS[f][0]}" for f in fields)
    return ModeLayout(mode, characteristic, fields, struct.Struct(fmt))


M, S, L = MEDIUM_PAYLOAD_UUID, SHORT_PAYLOAD_UUID, LONG_PAYLOAD_UUID
MODES: dict[PayloadMode, ModeLayout] = {
    lay.mode: lay
    for lay in (
        _layout(
            PayloadMode.EXTENDED_QUATERNION, M, "quat", "free_acc", "status", "clip_acc", "clip_gyr"
        ),
        _layout(PayloadMode.COMPLETE_QUATERNION, M, "quat", "free_acc"),
        _layout(PayloadMode.ORIENTATION_EULER, S, "euler"),
        _layout(PayloadMode.ORIENTATION_QUATERNION, S, "quat"),
        _layout(PayloadMode.FREE_ACCELERATION, S, "free_acc"),
        _layout(
            PayloadMode.EXTENDED_EULER, M, "euler", "free_acc", "status", "clip_acc", "clip_gyr"
        ),
        _layout(PayloadMode.COMPLETE_EULER, M, "euler", "free_acc"),
        _layout(PayloadMode.DELTA_QUANTITIES_MAG, M, "dq", "dv", "mag"),
        _layout(PayloadMode.DELTA_QUANTITIES, M, "dq", "dv"),
        _layout(PayloadMode.RATE_QUANTITIES_MAG, M, "acc", "gyr", "mag"),
        _layout(PayloadMode.RATE_QUANTITIES, M, "acc", "gyr"),
        _layout(PayloadMode.CUSTOM_1, M, "euler", "free_acc", "gyr"),
        _layout(PayloadMode.CUSTOM_2, M, "euler", "free_acc", "mag"),
        _layout(PayloadMode.CUSTOM_3, M, "quat", "gyr"),
        _layout(PayloadMode.CUSTOM_5, L, "quat", "acc", "gyr"),
    )
}

MAG_SCALE_AU = 1.0 / 4096.0  # int16 / 2^12, arbitrary units
DEG2RAD = math.pi / 180.0


def control_command(mode: PayloadMode | int, *, start: bool) -> bytes:
    """Bytes for the measurement control characteristic 0x2001."""
    try:
        m = PayloadMode(mode)
    except ValueError:
        raise ConfigurationError(f"unsupported Movella DOT payload mode {mode!r}") from None
    return bytes([0x01, 0x01 if start else 0x00, int(m)])


def decode_payload(
    data: bytes | bytearray | memoryview, mode: PayloadMode
) -> dict[str, np.ndarray | int]:
    """Parse one notification in ``mode`` into raw fields (timestamp_us, quat, ...).

    Errors: shorter than the mode's fields -> ``truncated``; longer than 63 bytes ->
    ``too_long``; a non-finite float -> ``value``.
    """
    raw = bytes(data)
    lay = MODES[mode]
    if len(raw) > 63:
        raise ProtocolError(f"movella dot: {len(raw)} bytes > 63", code="too_long")
    if len(raw) < lay.size:
        raise ProtocolError(
            f"movella dot {mode.name}: {len(raw)} bytes < {lay.size}", code="truncated"
        )
    vals = lay.struct.unpack_from(raw, 0)
    out: dict[str, np.ndarray | int] = {"timestamp_us": vals[0]}
    i = 1
    for f in lay.fields:
        k = _FIELDS[f][1]
        v = np.array(vals[i : i + k], dtype=np.float64)
        if _FIELDS[f][0] == "f" and not np.all(np.isfinite(v)):
            raise ProtocolError(f"movella dot: non-finite {f}", code="value")
        out[f] = v
        i += k
    return out


class MovellaDotProfile:
    """Sensor profile of the Movella DOT for one payload mode (see the module docstring)."""

    name = "movella_dot"
    service_uuid = SERVICE_UUID
    write_uuid: str | None = CONTROL_UUID
    name_prefixes = ("Movella DOT", "Xsens DOT")
    has_sequence = False
    has_device_time = True
    confidence = (
        "documented: UUIDs, control bytes, payload mode ids and field layouts, units (m/s², °/s, "
        "ENU quaternion, degrees); assumed: magnetometer a.u. (not converted), padding ignored"
    )

    def __init__(self, mode: PayloadMode | int = PayloadMode.RATE_QUANTITIES_MAG) -> None:
        try:
            self.mode = PayloadMode(mode)
        except ValueError:
            raise ConfigurationError(f"unsupported Movella DOT payload mode {mode!r}") from None
        self.notify_uuids = (MODES[self.mode].characteristic,)

    def start_commands(self, *, sample_rate_hz: float | None = None) -> list[tuple[str, bytes]]:
        # The output rate lives in the device control characteristic (0x1002), whose full
        # layout is not reproduced here; the sensor keeps its configured rate (60 Hz default).
        if sample_rate_hz is not None:
            raise ConfigurationError(
                "setting the Movella DOT output rate is not supported by this profile"
            )
        return [(CONTROL_UUID, control_command(self.mode, start=True))]

    def stop_commands(self) -> list[tuple[str, bytes]]:
        return [(CONTROL_UUID, control_command(self.mode, start=False))]

    def decode(
        self, data: bytes | bytearray | memoryview, *, characteristic: str | None = None
    ) -> ProfileSamples:
        if characteristic is not None and characteristic.lower() != MODES[self.mode].characteristic:
            raise ProtocolError(
                f"movella dot: mode {self.mode.name} arrives on {MODES[self.mode].characteristic}",
                code="packet_type",
            )
        f = decode_payload(data, self.mode)
        extras: list[tuple[str, np.ndarray]] = []

        def row(name: str, scale: float = 1.0) -> np.ndarray | None:
            v = f.get(name)
            return None if v is None else (np.asarray(v) * scale)[None, :]

        if "mag" in f:
            extras.append(("mag_au", row("mag", MAG_SCALE_AU)))
        for name in ("dq", "dv", "status", "clip_acc", "clip_gyr"):
            if name in f:
                extras.append((name, row(name)))
        return ProfileSamples(
            n=1,
            device_time_us=np.array([float(f["timestamp_us"])]),
            acc=row("acc"),
            gyr=row("gyr", DEG2RAD),
            mag=None,
            q_earth_sensor=row("quat"),
            euler_deg=row("euler"),
            free_acc=row("free_acc"),
            extras=tuple(extras),
        )


def encode_payload(mode: PayloadMode, timestamp_us: int, **fields: np.ndarray) -> bytes:
    """Build a notification of ``mode`` from raw fields (for tests and simulated sensors).

    Float fields in the sensor's units (°/s for gyr), ``mag`` in a.u.; padded to the
    characteristic size like the sensor.
    """
    lay = MODES[mode]
    vals: list = [int(timestamp_us) & 0xFFFFFFFF]
    for f in lay.fields:
        v = np.atleast_1d(np.asarray(fields[f], dtype=np.float64))
        if f == "mag":
            vals += [int(x) for x in np.clip(np.rint(v / MAG_SCALE_AU), -32768, 32767)]
        elif _FIELDS[f][0] == "f":
            vals += [float(x) for x in v]
        else:
            vals += [int(x) for x in v]
    body = lay.struct.pack(*vals)
    return body.ljust(_CHAR_SIZE[lay.characteristic], b"\0")


PROFILE = register_profile(MovellaDotProfile())

__all__ = [
    "CONTROL_UUID",
    "LONG_PAYLOAD_UUID",
    "MEDIUM_PAYLOAD_UUID",
    "MODES",
    "PROFILE",
    "SERVICE_UUID",
    "SHORT_PAYLOAD_UUID",
    "MovellaDotProfile",
    "PayloadMode",
    "control_command",
    "decode_payload",
    "dot_uuid",
    "encode_payload",
]
