"""WitMotion BLE 5.0 IMUs: WT901BLECL, BWT901BLE5.0 (and clones using the same firmware).

Confidence
----------
From WitMotion's public "Bluetooth 5.0 communication protocol" (wit-motion gitbook) and
the WT901BLECL datasheet, as also implemented by several open-source clients:

- GATT: service ``0000ffe5-0000-1000-8000-00805f9a34fb`` (note the vendor's ``...9a34fb``
  base, *not* the SIG ``...9b34fb``), notify ``0000ffe4-…``, write ``0000ffe9-…``. [documented]
- Default output: 20-byte frames ``55 61`` + 9 int16 LE: acc x,y,z (×16 g/32768),
  gyr x,y,z (×2000 °/s/32768), angles roll,pitch,yaw (×180°/32768). [documented]
- Register read: write ``FF AA 27 <reg> 00``; answer ``55 71 <regL> <regH>`` + 8 int16
  registers starting at ``reg``. Registers 0x3A–0x3C magnetic field, 0x40 temperature
  (×0.01 °C), 0x51–0x54 quaternion (×1/32768), 0x64 battery voltage (×0.01 V). [documented,
  the battery scale inferred from the vendor's percentage table]
- Unlock ``FF AA 69 88 B5``; output rate register 0x03 with codes 0x06 = 10 Hz (default)
  … 0x09 = 100 Hz, 0x0B = 200 Hz. [documented; 200 Hz availability varies by model]

Assumed or unknown (stated so nobody relies on it silently):

- The magnetometer unit is not stated consistently across WitMotion documents (raw LSB
  vs mG); it is returned as raw counts in ``extras["mag_raw"]`` and ``mag`` is None.
- Angles are taken as Z-Y-X (yaw, pitch, roll) Tait-Bryan angles of the sensor in a Z-up
  earth frame, as WitMotion's own SDK composes them; the heading reference (start-up or
  magnetic north) is not specified, so ``q_earth_sensor`` is trustworthy only up to heading.
- Acceleration includes gravity (reads +1 g on the up axis at rest), matching motiontrack's
  specific-force convention; axes are the sensor's printed axes.
- No counter and no timestamp: loss is inferred from host arrival times with
  :class:`~motiontrack.protocol.arrival.ArrivalSequencer`.
- Several frames in one notification (seen with some firmware at higher MTU) are accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...conventions import GRAVITY
from ...errors import ConfigurationError, ProtocolError
from .base import ProfileSamples, register_profile

SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

FRAME_SIZE = 20
HEADER = 0x55
FLAG_IMU = 0x61
FLAG_REGISTER = 0x71

ACC_SCALE = 16.0 * GRAVITY / 32768.0  # m/s² per count
GYR_SCALE = 2000.0 * math.pi / 180.0 / 32768.0  # rad/s per count
ANGLE_SCALE = 180.0 / 32768.0  # ° per count

REG_RATE = 0x03
REG_MAG = 0x3A
REG_TEMPERATURE = 0x40
REG_QUATERNION = 0x51
REG_BATTERY = 0x64

#: Output rate register codes (Hz -> code).
RATE_CODES = {
    0.2: 0x01,
    0.5: 0x02,
    1.0: 0x03,
    2.0: 0x04,
    5.0: 0x05,
    10.0: 0x06,
    20.0: 0x07,
    50.0: 0x08,
    100.0: 0x09,
    200.0: 0x0B,
}

UNLOCK = bytes([0xFF, 0xAA, 0x69, 0x88, 0xB5])
MAX_NOTIFICATION = 514


def read_register_command(register: int) -> bytes:
    """``FF AA 27 <reg> 00``: ask for 8 registers starting at ``register``."""
    if not 0 <= register <= 0xFF:
        raise ConfigurationError("register must be 0..255")
    return bytes([0xFF, 0xAA, 0x27, register, 0x00])


def write_register_command(register: int, value: int) -> bytes:
    """``FF AA <reg> <valL> <valH>``."""
    if not 0 <= register <= 0xFF or not 0 <= value <= 0xFFFF:
        raise ConfigurationError("register must be 0..255 and value 0..65535")
    return bytes([0xFF, 0xAA, register, value & 0xFF, value >> 8])


@dataclass(frozen=True, slots=True)
class RegisterRead:
    """A ``55 71`` answer: 8 consecutive int16 registers starting at ``start``."""

    start: int
    values: tuple[int, ...]

    def get(self, register: int) -> int | None:
        i = register - self.start
        return self.values[i] if 0 <= i < len(self.values) else None

    def temperature_c(self) -> float | None:
        v = self.get(REG_TEMPERATURE)
        return None if v is None else v / 100.0

    def battery_v(self) -> float | None:
        v = self.get(REG_BATTERY)
        return None if v is None else v / 100.0

    def quaternion(self) -> np.ndarray | None:
        """Quaternion registers (w, x, y, z) × 1/32768, if all four are in this read."""
        q = [self.get(REG_QUATERNION + k) for k in range(4)]
        return None if any(v is None for v in q) else np.array(q, dtype=np.float64) / 32768.0

    def mag_raw(self) -> np.ndarray | None:
        m = [self.get(REG_MAG + k) for k in range(3)]
        return None if any(v is None for v in m) else np.array(m, dtype=np.float64)


def euler_zyx_deg_to_quaternion(euler_deg: np.ndarray) -> np.ndarray:
    """(n, 3) roll, pitch, yaw in degrees -> (n, 4) w, x, y, z of Rz(yaw) Ry(pitch) Rx(roll)."""
    r = np.radians(euler_deg) * 0.5
    cr, sr = np.cos(r[:, 0]), np.sin(r[:, 0])
    cp, sp = np.cos(r[:, 1]), np.sin(r[:, 1])
    cy, sy = np.cos(r[:, 2]), np.sin(r[:, 2])
    return np.stack(
        [
            cy * cp * cr + sy * sp * sr,
            cy * cp * sr - sy * sp * cr,
            cy * sp * cr + sy * cp * sr,
            sy * cp * cr - cy * sp * sr,
        ],
        axis=1,
    )


def decode_frames(data: bytes | bytearray | memoryview) -> tuple[np.ndarray, list[RegisterRead]]:
    """Split a notification into IMU frames ((n, 9) int16 counts) and register reads.

    Errors: empty -> ``truncated``; length not a multiple of 20 -> ``length``; longer than
    514 -> ``too_long``; a frame not starting with 0x55 -> ``sync``; an unknown flag byte ->
    ``unsupported``.
    """
    raw = bytes(data)
    n = len(raw)
    if n == 0:
        raise ProtocolError("witmotion: empty notification", code="truncated")
    if n > MAX_NOTIFICATION:
        raise ProtocolError(f"witmotion: {n} bytes", code="too_long")
    if n % FRAME_SIZE:
        raise ProtocolError(
            f"witmotion: {n} bytes is not a whole number of 20-byte frames", code="length"
        )
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, FRAME_SIZE)
    if np.any(frames[:, 0] != HEADER):
        raise ProtocolError("witmotion: frame does not start with 0x55", code="sync")
    flags = frames[:, 1]
    bad = (flags != FLAG_IMU) & (flags != FLAG_REGISTER)
    if np.any(bad):
        raise ProtocolError(
            f"witmotion: unknown frame flag 0x{int(flags[bad][0]):02x}", code="unsupported"
        )
    imu = frames[flags == FLAG_IMU, 2:].copy().view("<i2").astype(np.int16)
    regs = []
    for fr in frames[flags == FLAG_REGISTER]:
        words = fr[2:].copy().view("<i2")
        start = int(fr[2]) | (int(fr[3]) << 8)
        regs.append(RegisterRead(start=start, values=tuple(int(v) for v in words[1:])))
    return imu.reshape(-1, 9), regs


class WitMotionProfile:
    """Sensor profile of WitMotion WT901BLECL / BWT901BLE5.0 (see the module docstring)."""

    name = "witmotion"
    service_uuid = SERVICE_UUID
    notify_uuids = (NOTIFY_UUID,)
    write_uuid: str | None = WRITE_UUID
    name_prefixes = ("WT901BLE", "WT", "BWT901")
    has_sequence = False
    has_device_time = False
    confidence = (
        "documented: UUIDs, 0x61 frame layout and scales, register read 0x71, unlock, rate codes; "
        "assumed: Z-Y-X Euler in a Z-up frame (heading reference unknown), magnetometer unit "
        "(returned raw), no timestamp (loss inferred from arrival times)"
    )

    def start_commands(self, *, sample_rate_hz: float | None = None) -> list[tuple[str, bytes]]:
        """Unlock and set the output rate (streaming itself starts with notifications)."""
        if sample_rate_hz is None:
            return []
        code = RATE_CODES.get(float(sample_rate_hz))
        if code is None:
            raise ConfigurationError(
                f"WitMotion rates are {sorted(RATE_CODES)} Hz, not {sample_rate_hz}"
            )
        return [(WRITE_UUID, UNLOCK), (WRITE_UUID, write_register_command(REG_RATE, code))]

    def stop_commands(self) -> list[tuple[str, bytes]]:
        return []  # the sensor streams while notifications are enabled

    def decode(
        self, data: bytes | bytearray | memoryview, *, characteristic: str | None = None
    ) -> ProfileSamples:
        counts, regs = decode_frames(data)
        c = counts.astype(np.float64)
        euler = c[:, 6:9] * ANGLE_SCALE
        extras: list[tuple[str, np.ndarray]] = [("counts", counts)]
        for r in regs:
            extras.append((f"register_0x{r.start:02x}", np.array(r.values, dtype=np.int16)))
            m = r.mag_raw()
            if m is not None:
                extras.append(("mag_raw", m))
        return ProfileSamples(
            n=int(counts.shape[0]),
            device_time_us=None,
            acc=c[:, 0:3] * ACC_SCALE,
            gyr=c[:, 3:6] * GYR_SCALE,
            mag=None,
            q_earth_sensor=euler_zyx_deg_to_quaternion(euler),
            euler_deg=euler,
            extras=tuple(extras),
        )


def encode_imu_frame(acc_mps2, gyr_rads, euler_deg) -> bytes:
    """Build a ``55 61`` frame from SI values (for tests and simulated sensors)."""
    vals = np.concatenate(
        [
            np.asarray(acc_mps2, float) / ACC_SCALE,
            np.asarray(gyr_rads, float) / GYR_SCALE,
            np.asarray(euler_deg, float) / ANGLE_SCALE,
        ]
    )
    counts = np.clip(np.rint(vals), -32768, 32767).astype("<i2")
    return bytes([HEADER, FLAG_IMU]) + counts.tobytes()


PROFILE = register_profile(WitMotionProfile())

__all__ = [
    "NOTIFY_UUID",
    "PROFILE",
    "RATE_CODES",
    "SERVICE_UUID",
    "WRITE_UUID",
    "RegisterRead",
    "WitMotionProfile",
    "decode_frames",
    "encode_imu_frame",
    "euler_zyx_deg_to_quaternion",
    "read_register_command",
    "write_register_command",
]
