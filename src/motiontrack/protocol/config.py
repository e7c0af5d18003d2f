"""Config/info characteristic (SPEC §6) and status characteristic (SPEC §8).

:class:`SensorConfig` carries everything a decoder needs to turn raw counts into SI units:
sample rates, full-scale ranges and the per-count scale factors. The scale factors are
authoritative: many IMUs have a sensitivity that is *not* ``range / 32768`` (an
LSM6DSx gyroscope at ±2000 °/s is 70 mdps/LSB, not 61.04), so the firmware states the
exact factor; when it is not given, ``range / 32768`` converted to SI is used.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from ..conventions import GRAVITY
from ..errors import ConfigurationError, ProtocolError
from .gatt import PROTOCOL_MAJOR, PROTOCOL_MINOR, PacketType, header_byte
from .layout import Layout

DEG2RAD = math.pi / 180.0


class Capabilities(enum.IntFlag):
    """Capability bits of the config packet (SPEC §6)."""

    HAS_MAG = 0x01  # a magnetometer is fitted
    HAS_TEMPERATURE = 0x02  # status.temperature is measured
    HAS_BATTERY_GAUGE = 0x04  # status battery fields are measured
    TIME_SYNC = 0x08  # TIME_SYNC command supported
    IDENTIFY = 0x10  # IDENTIFY command has a visible/haptic effect


CONFIG_LAYOUT = Layout(
    "CONFIG",
    [
        ("header", "u8", "-", "-"),
        ("protocol_minor", "u8", "1", "-"),
        ("capabilities", "u16", "-", "-"),
        ("sample_rate_mhz", "u32", "1/1000", "Hz"),
        ("mag_rate_mhz", "u32", "1/1000", "Hz"),
        ("acc_range_g", "u16", "1", "g"),
        ("gyr_range_dps", "u16", "1", "deg/s"),
        ("mag_range_ut", "u16", "1", "uT"),
        ("reserved", "u16", "-", "-"),
        ("acc_scale", "f32", "1", "m/s^2 per count"),
        ("gyr_scale", "f32", "1", "rad/s per count"),
        ("mag_scale", "f32", "1", "uT per count"),
        ("serial", "bytes8", "-", "ASCII"),
    ],
)


def _f32(x: float) -> float:
    return float(np.float32(x))


def check_header(data: bytes | bytearray | memoryview, allowed: tuple[int, ...], what: str) -> int:
    """Validate byte 0 (major version, packet type); return the packet type.

    Order of checks is part of the spec (SPEC §3.1): empty -> ``truncated``, major
    version -> ``version``, packet type -> ``packet_type``.
    """
    if len(data) < 1:
        raise ProtocolError(f"{what}: empty packet", code="truncated")
    b0 = data[0]
    major = b0 >> 4
    if major != PROTOCOL_MAJOR:
        raise ProtocolError(
            f"{what}: protocol major version {major}, expected {PROTOCOL_MAJOR}", code="version"
        )
    ptype = b0 & 0xF
    if ptype not in allowed:
        raise ProtocolError(f"{what}: packet type 0x{ptype:x} not allowed here", code="packet_type")
    return ptype


@dataclass(frozen=True, kw_only=True, slots=True)
class SensorConfig:
    """Sample rates, full-scale ranges and scale factors of a sensor (SPEC §6).

    Parameters
    ----------
    sample_rate_hz : float
        Accelerometer/gyroscope output data rate, Hz (stored to 1 mHz).
    acc_range_g : int
        Accelerometer full scale, ± g.
    gyr_range_dps : int
        Gyroscope full scale, ± °/s.
    mag_range_ut : int
        Magnetometer full scale, ± µT (ignored without a magnetometer).
    mag_rate_hz : float
        Magnetometer output data rate, Hz; 0 = no magnetometer data.
    acc_scale, gyr_scale, mag_scale : float or None
        Exact sensitivity, m/s² per count, rad/s per count, µT per count (stored as float32).
        None -> ``range / 32768`` in SI.
    serial : str
        Up to 8 ASCII characters.
    capabilities : Capabilities
        Capability bits.
    protocol_minor : int
        Minor protocol version the device implements.
    """

    sample_rate_hz: float = 100.0
    acc_range_g: int = 16
    gyr_range_dps: int = 2000
    mag_range_ut: int = 4900
    mag_rate_hz: float = 0.0
    acc_scale: float | None = None
    gyr_scale: float | None = None
    mag_scale: float | None = None
    serial: str = ""
    capabilities: Capabilities = field(default=Capabilities(0))
    protocol_minor: int = PROTOCOL_MINOR

    def __post_init__(self) -> None:
        def bad(msg: str) -> ConfigurationError:
            return ConfigurationError(f"SensorConfig: {msg}")

        for name in ("sample_rate_hz", "mag_rate_hz"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise bad(f"{name} must be a finite number, got {v!r}")
            mhz = round(float(v) * 1000.0)
            if not 0 <= mhz <= 0xFFFFFFFF:
                raise bad(f"{name} out of range: {v!r}")
            object.__setattr__(self, name, mhz / 1000.0)
        if self.sample_rate_hz <= 0:
            raise bad("sample_rate_hz must be > 0")
        for name in ("acc_range_g", "gyr_range_dps", "mag_range_ut"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 1 <= v <= 0xFFFF:
                raise bad(f"{name} must be an integer in 1..65535, got {v!r}")
        defaults = {
            "acc_scale": self.acc_range_g * GRAVITY / 32768.0,
            "gyr_scale": self.gyr_range_dps * DEG2RAD / 32768.0,
            "mag_scale": self.mag_range_ut / 32768.0,
        }
        for name, default in defaults.items():
            v = getattr(self, name)
            v = default if v is None else v
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise bad(f"{name} must be a positive finite number, got {v!r}")
            v32 = _f32(v)
            if not math.isfinite(v32) or v32 <= 0:
                raise bad(f"{name} not representable as float32: {v!r}")
            object.__setattr__(self, name, v32)
        if not isinstance(self.serial, str):
            raise bad("serial must be a str")
        try:
            raw = self.serial.encode("ascii")
        except UnicodeEncodeError:
            raise bad(f"serial must be ASCII: {self.serial!r}") from None
        if len(raw) > 8 or b"\0" in raw:
            raise bad(f"serial must be at most 8 ASCII characters without NUL: {self.serial!r}")
        try:
            caps = Capabilities(int(self.capabilities))
        except (TypeError, ValueError):
            raise bad(f"capabilities invalid: {self.capabilities!r}") from None
        if not 0 <= int(caps) <= 0xFFFF:
            raise bad("capabilities must fit in 16 bits")
        object.__setattr__(self, "capabilities", caps)
        if not isinstance(self.protocol_minor, int) or not 0 <= self.protocol_minor <= 255:
            raise bad("protocol_minor must be in 0..255")

    # --- derived -----------------------------------------------------------------------
    @property
    def sample_period_us(self) -> float:
        """Accelerometer/gyroscope sample period on the device clock, µs."""
        return 1e6 / self.sample_rate_hz

    @property
    def mag_period_us(self) -> float:
        """Magnetometer sample period, µs (``inf`` when ``mag_rate_hz`` is 0)."""
        return 1e6 / self.mag_rate_hz if self.mag_rate_hz > 0 else math.inf

    @property
    def has_mag(self) -> bool:
        return bool(self.capabilities & Capabilities.HAS_MAG) or self.mag_rate_hz > 0

    def scales(self) -> tuple[float, float, float]:
        """(acc m/s², gyr rad/s, mag µT) per count, float32-exact values as Python floats."""
        return (float(self.acc_scale), float(self.gyr_scale), float(self.mag_scale))  # type: ignore[arg-type]

    # --- wire --------------------------------------------------------------------------
    def __bytes__(self) -> bytes:
        return CONFIG_LAYOUT.pack(
            header=header_byte(PacketType.CONFIG),
            protocol_minor=self.protocol_minor,
            capabilities=int(self.capabilities),
            sample_rate_mhz=round(self.sample_rate_hz * 1000.0),
            mag_rate_mhz=round(self.mag_rate_hz * 1000.0),
            acc_range_g=self.acc_range_g,
            gyr_range_dps=self.gyr_range_dps,
            mag_range_ut=self.mag_range_ut,
            reserved=0,
            acc_scale=self.acc_scale,
            gyr_scale=self.gyr_scale,
            mag_scale=self.mag_scale,
            serial=self.serial.encode("ascii").ljust(8, b"\0"),
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> SensorConfig:
        """Decode a config packet; trailing bytes (later minor versions) are ignored."""
        data = bytes(data)
        check_header(data, (PacketType.CONFIG,), "config")
        v = CONFIG_LAYOUT.unpack(data, what="config")
        if v["sample_rate_mhz"] == 0:
            raise ProtocolError("config: sample rate 0", code="value")
        for name in ("acc_range_g", "gyr_range_dps", "mag_range_ut"):
            if v[name] == 0:
                raise ProtocolError(f"config: {name} is 0", code="value")
        for name in ("acc_scale", "gyr_scale", "mag_scale"):
            s = v[name]
            if not (math.isfinite(s) and s > 0):
                raise ProtocolError(
                    f"config: {name} = {s!r} is not a positive finite number", code="value"
                )
        serial_raw = v["serial"].split(b"\0", 1)[0]
        serial = serial_raw.decode("ascii", errors="replace").replace("\ufffd", "?")
        return cls(
            sample_rate_hz=v["sample_rate_mhz"] / 1000.0,
            mag_rate_hz=v["mag_rate_mhz"] / 1000.0,
            acc_range_g=v["acc_range_g"],
            gyr_range_dps=v["gyr_range_dps"],
            mag_range_ut=v["mag_range_ut"],
            acc_scale=v["acc_scale"],
            gyr_scale=v["gyr_scale"],
            mag_scale=v["mag_scale"],
            serial=serial,
            capabilities=Capabilities(v["capabilities"]),
            protocol_minor=v["protocol_minor"],
        )


def encode_config(config: SensorConfig) -> bytes:
    """Bytes of the config/info characteristic (SPEC §6)."""
    return bytes(config)


def decode_config(data: bytes | bytearray | memoryview) -> SensorConfig:
    """Parse the config/info characteristic; raises :class:`ProtocolError`."""
    return SensorConfig.from_bytes(data)


# ------------------------------------------------------------------------------ status


class StreamState(enum.IntEnum):
    IDLE = 0
    STREAMING = 1
    FAULT = 2


class ErrorFlags(enum.IntFlag):
    """Error bits of the status packet (SPEC §8). Sticky until read via GET_STATUS."""

    IMU_FAULT = 0x0001  # accelerometer/gyroscope not responding or self-test failed
    MAG_FAULT = 0x0002  # magnetometer not responding
    FIFO_OVERFLOW = 0x0004  # sensor FIFO overflowed: samples lost before packetising
    NOTIFY_QUEUE_FULL = 0x0008  # BLE notification queue full: packets dropped on device
    LOW_BATTERY = 0x0010  # battery below 10 %
    OVER_TEMPERATURE = 0x0020  # die temperature out of the specified range
    CLOCK_UNSYNCED = 0x0040  # TIME_SYNC was never applied since boot
    BROWNOUT_RESET = 0x0080  # last reset was a brown-out


_NO_ERRORS = ErrorFlags(0)

STATUS_LAYOUT = Layout(
    "STATUS",
    [
        ("header", "u8", "-", "-"),
        ("state", "u8", "-", "-"),
        ("battery_percent", "u8", "1", "%"),
        ("reserved0", "u8", "-", "-"),
        ("temperature", "i16", "0.01", "degC"),
        ("battery_mv", "u16", "1", "mV"),
        ("error_flags", "u32", "-", "-"),
        ("device_dropped", "u16", "1", "packets"),
        ("reserved1", "u16", "-", "-"),
    ],
)

TEMPERATURE_UNKNOWN = -0x8000
BATTERY_UNKNOWN = 0xFF


@dataclass(frozen=True, kw_only=True, slots=True)
class Status:
    """Status characteristic (SPEC §8).

    Attributes
    ----------
    state : StreamState
    battery_percent : int or None   0..100, None = unknown (wire 0xFF)
    temperature_c : float or None   die temperature, °C (0.01 °C steps), None = unknown
    battery_mv : int or None        battery voltage, mV, None = unknown (wire 0)
    error_flags : ErrorFlags
    device_dropped : int            packets the device dropped since START (wraps at 65536)
    """

    state: StreamState = StreamState.IDLE
    battery_percent: int | None = None
    temperature_c: float | None = None
    battery_mv: int | None = None
    error_flags: ErrorFlags = _NO_ERRORS
    device_dropped: int = 0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "state", StreamState(self.state))
        except ValueError:
            raise ConfigurationError(f"Status: unknown state {self.state!r}") from None
        if self.battery_percent is not None and not 0 <= self.battery_percent <= 100:
            raise ConfigurationError("Status: battery_percent must be 0..100 or None")
        if self.temperature_c is not None:
            t = round(self.temperature_c * 100)
            if not (math.isfinite(self.temperature_c) and -0x7FFF <= t <= 0x7FFF):
                raise ConfigurationError("Status: temperature_c out of range")
            object.__setattr__(self, "temperature_c", t / 100.0)
        if self.battery_mv is not None and not 1 <= self.battery_mv <= 0xFFFF:
            raise ConfigurationError("Status: battery_mv must be 1..65535 or None")
        if not 0 <= int(self.error_flags) <= 0xFFFFFFFF:
            raise ConfigurationError("Status: error_flags must fit in 32 bits")
        object.__setattr__(self, "error_flags", ErrorFlags(int(self.error_flags)))
        if not 0 <= self.device_dropped <= 0xFFFF:
            raise ConfigurationError("Status: device_dropped must be 0..65535")

    def __bytes__(self) -> bytes:
        return STATUS_LAYOUT.pack(
            header=header_byte(PacketType.STATUS),
            state=int(self.state),
            battery_percent=BATTERY_UNKNOWN
            if self.battery_percent is None
            else self.battery_percent,
            reserved0=0,
            temperature=TEMPERATURE_UNKNOWN
            if self.temperature_c is None
            else round(self.temperature_c * 100),
            battery_mv=0 if self.battery_mv is None else self.battery_mv,
            error_flags=int(self.error_flags),
            device_dropped=self.device_dropped,
            reserved1=0,
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Status:
        data = bytes(data)
        check_header(data, (PacketType.STATUS,), "status")
        v = STATUS_LAYOUT.unpack(data, what="status")
        return cls._from_fields(v)

    @classmethod
    def _from_fields(cls, v: dict) -> Status:
        try:
            state = StreamState(v["state"])
        except ValueError:
            raise ProtocolError(f"status: unknown state {v['state']}", code="value") from None
        bp = v["battery_percent"]
        if bp != BATTERY_UNKNOWN and bp > 100:
            raise ProtocolError(f"status: battery {bp} %", code="value")
        t = v["temperature"]
        return cls(
            state=state,
            battery_percent=None if bp == BATTERY_UNKNOWN else bp,
            temperature_c=None if t == TEMPERATURE_UNKNOWN else t / 100.0,
            battery_mv=None if v["battery_mv"] == 0 else v["battery_mv"],
            error_flags=ErrorFlags(v["error_flags"]),
            device_dropped=v["device_dropped"],
        )


def encode_status(status: Status) -> bytes:
    """Bytes of the status characteristic (SPEC §8)."""
    return bytes(status)


def decode_status(data: bytes | bytearray | memoryview) -> Status:
    """Parse the status characteristic; raises :class:`ProtocolError`."""
    return Status.from_bytes(data)


__all__ = [
    "CONFIG_LAYOUT",
    "STATUS_LAYOUT",
    "Capabilities",
    "ErrorFlags",
    "SensorConfig",
    "Status",
    "StreamState",
    "check_header",
    "decode_config",
    "decode_status",
    "encode_config",
    "encode_status",
]
