"""DATA and MAG packets of the data characteristic (SPEC §4, §5).

A packet is an 8-byte header followed by int16 samples::

    byte 0     major version << 4 | packet type (DATA = 0x1, MAG = 0x2)
    byte 1     flags (DataFlags)
    bytes 2-3  sequence number, u16, +1 per notification on the data characteristic
    bytes 4-7  device timestamp of the first sample, u32 µs
    bytes 8-   samples, int16 little-endian counts

DATA samples are ``acc x,y,z, gyr x,y,z`` (12 bytes) or, with ``MAG_PRESENT``, followed by
``mag x,y,z`` (18 bytes). MAG packets carry only ``mag x,y,z`` (6 bytes) at the
magnetometer rate: that is how 9-axis data travels at the default 20-byte payload.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import InputError, ProtocolError
from .config import SensorConfig, check_header
from .gatt import MAX_PAYLOAD, PacketType, header_byte
from .layout import Layout

HEADER_SIZE = 8
#: Bytes per sample: DATA 6-axis, DATA 9-axis, MAG.
SAMPLE_SIZE_6 = 12
SAMPLE_SIZE_9 = 18
SAMPLE_SIZE_MAG = 6

DATA_HEADER_LAYOUT = Layout(
    "DATA_HEADER",
    [
        ("header", "u8", "-", "-"),
        ("flags", "u8", "-", "-"),
        ("sequence", "u16", "1", "-"),
        ("timestamp", "u32", "1", "us"),
    ],
)

#: One 9-axis DATA sample (a 6-axis sample is its first 12 bytes). Scale: config §6.
DATA_SAMPLE_LAYOUT = Layout(
    "DATA_SAMPLE",
    [
        ("acc_x", "i16", "acc_scale", "m/s^2"),
        ("acc_y", "i16", "acc_scale", "m/s^2"),
        ("acc_z", "i16", "acc_scale", "m/s^2"),
        ("gyr_x", "i16", "gyr_scale", "rad/s"),
        ("gyr_y", "i16", "gyr_scale", "rad/s"),
        ("gyr_z", "i16", "gyr_scale", "rad/s"),
        ("mag_x", "i16", "mag_scale", "uT"),
        ("mag_y", "i16", "mag_scale", "uT"),
        ("mag_z", "i16", "mag_scale", "uT"),
    ],
)

MAG_SAMPLE_LAYOUT = Layout(
    "MAG_SAMPLE",
    [
        ("mag_x", "i16", "mag_scale", "uT"),
        ("mag_y", "i16", "mag_scale", "uT"),
        ("mag_z", "i16", "mag_scale", "uT"),
    ],
)


class DataFlags(enum.IntFlag):
    """Byte 1 of DATA/MAG packets. Unknown (reserved) bits are kept, never rejected."""

    MAG_PRESENT = 0x01  # DATA samples are 9-axis (18 bytes)
    ACC_SATURATED = 0x02  # an accelerometer count in this packet hit the full scale
    GYR_SATURATED = 0x04  # a gyroscope count hit the full scale
    MAG_SATURATED = 0x08  # a magnetometer count hit the full scale (or sensor overflow bit)
    CLOCK_SYNCED = 0x10  # timestamps are on the host-set epoch (TIME_SYNC with APPLY)


_SAT_LIMIT = 32767  # |count| >= this is at (or clipped to) full scale


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def sample_size(packet_type: int, flags: int) -> int:
    """Bytes per sample for a packet type and flags byte."""
    if packet_type == PacketType.MAG:
        return SAMPLE_SIZE_MAG
    return SAMPLE_SIZE_9 if flags & DataFlags.MAG_PRESENT else SAMPLE_SIZE_6


@dataclass(frozen=True, slots=True, eq=False)
class SampleBlock:
    """Samples of one packet in SI units (see :mod:`motiontrack.conventions`).

    Attributes
    ----------
    packet_type : PacketType        DATA or MAG
    sequence : int                  u16 sequence number of the packet
    timestamp_us : int              device time of the first sample, µs (u32, wraps)
    flags : DataFlags
    sample_period_us : float        device-clock spacing of the samples, µs
    acc : ndarray (n, 3) or None    specific force, m/s², sensor frame (None for MAG)
    gyr : ndarray (n, 3) or None    angular rate, rad/s, sensor frame (None for MAG)
    mag : ndarray (n, 3) or None    magnetic field, µT, sensor frame (None if absent)
    """

    packet_type: PacketType
    sequence: int
    timestamp_us: int
    flags: DataFlags
    sample_period_us: float
    acc: np.ndarray | None
    gyr: np.ndarray | None
    mag: np.ndarray | None

    @property
    def n_samples(self) -> int:
        arr = self.acc if self.acc is not None else self.mag
        return 0 if arr is None else int(arr.shape[0])

    @property
    def timestamps_us(self) -> np.ndarray:
        """Device time of each sample, µs, float64 (not wrapped: may exceed 2**32)."""
        return self.timestamp_us + self.sample_period_us * np.arange(
            self.n_samples, dtype=np.float64
        )


@dataclass(frozen=True, slots=True, eq=False)
class DataPacket:
    """A DATA or MAG packet with its raw int16 counts (SPEC §4, §5).

    Attributes
    ----------
    packet_type : PacketType        DATA or MAG
    flags : DataFlags               reserved bits are preserved
    sequence : int                  0..65535
    timestamp_us : int              0..2**32-1, device µs of the first sample
    counts : ndarray, int16, (n, k) k = 6 (DATA), 9 (DATA + MAG_PRESENT) or 3 (MAG); read-only
    """

    packet_type: PacketType
    flags: DataFlags
    sequence: int
    timestamp_us: int
    counts: np.ndarray

    def __post_init__(self) -> None:
        try:
            ptype = PacketType(self.packet_type)
        except ValueError:
            raise InputError(f"DataPacket: bad packet type {self.packet_type!r}") from None
        if ptype not in (PacketType.DATA, PacketType.MAG):
            raise InputError(f"DataPacket: packet type must be DATA or MAG, got {ptype!r}")
        object.__setattr__(self, "packet_type", ptype)
        flags = int(self.flags)
        if not 0 <= flags <= 0xFF:
            raise InputError("DataPacket: flags must fit in one byte")
        object.__setattr__(self, "flags", DataFlags(flags))
        if not 0 <= int(self.sequence) <= 0xFFFF:
            raise InputError("DataPacket: sequence must be 0..65535")
        if not 0 <= int(self.timestamp_us) <= 0xFFFFFFFF:
            raise InputError("DataPacket: timestamp_us must be 0..2**32-1")
        k = sample_size(ptype, flags) // 2
        c = np.asarray(self.counts)
        if c.ndim != 2 or c.shape[1] != k:
            raise InputError(f"DataPacket: counts must have shape (n, {k}), got {c.shape}")
        if c.shape[0] < 1:
            raise InputError("DataPacket: at least one sample")
        if HEADER_SIZE + c.shape[0] * 2 * k > MAX_PAYLOAD:
            raise InputError(f"DataPacket: {c.shape[0]} samples exceed {MAX_PAYLOAD} bytes")
        if c.dtype != np.int16:
            if not np.issubdtype(c.dtype, np.integer) or c.min() < -32768 or c.max() > 32767:
                raise InputError("DataPacket: counts must be int16")
        object.__setattr__(self, "counts", _readonly(np.array(c, dtype=np.int16, copy=True)))

    @property
    def n_samples(self) -> int:
        return int(self.counts.shape[0])

    @property
    def has_mag(self) -> bool:
        return self.packet_type == PacketType.MAG or bool(self.flags & DataFlags.MAG_PRESENT)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataPacket):
            return NotImplemented
        return (
            self.packet_type == other.packet_type
            and int(self.flags) == int(other.flags)
            and self.sequence == other.sequence
            and self.timestamp_us == other.timestamp_us
            and np.array_equal(self.counts, other.counts)
        )

    __hash__ = None  # type: ignore[assignment]

    def __bytes__(self) -> bytes:
        head = DATA_HEADER_LAYOUT.pack(
            header=header_byte(self.packet_type),
            flags=int(self.flags),
            sequence=int(self.sequence),
            timestamp=int(self.timestamp_us),
        )
        return head + self.counts.astype("<i2", copy=False).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> DataPacket:
        """Decode one notification of the data characteristic; raises :class:`ProtocolError`.

        Checks, in this order (SPEC §4.3): empty -> ``truncated``; major version ->
        ``version``; type not DATA/MAG -> ``packet_type``; longer than 514 -> ``too_long``;
        shorter than 8 -> ``truncated``; no sample -> ``empty``; partial sample -> ``length``.
        """
        data = bytes(data)
        ptype = check_header(data, (PacketType.DATA, PacketType.MAG), "data packet")
        n = len(data)
        if n > MAX_PAYLOAD:
            raise ProtocolError(f"data packet: {n} bytes > {MAX_PAYLOAD}", code="too_long")
        if n < HEADER_SIZE:
            raise ProtocolError(f"data packet: {n} bytes < header {HEADER_SIZE}", code="truncated")
        flags = data[1]
        size = sample_size(ptype, flags)
        body = n - HEADER_SIZE
        if body == 0:
            raise ProtocolError("data packet: no samples", code="empty")
        if body % size:
            raise ProtocolError(
                f"data packet: {body} sample bytes is not a multiple of {size}", code="length"
            )
        h = DATA_HEADER_LAYOUT.unpack(data)
        counts = np.frombuffer(data, dtype="<i2", offset=HEADER_SIZE).reshape(-1, size // 2)
        obj = object.__new__(cls)
        object.__setattr__(obj, "packet_type", PacketType(ptype))
        object.__setattr__(obj, "flags", DataFlags(flags))
        object.__setattr__(obj, "sequence", h["sequence"])
        object.__setattr__(obj, "timestamp_us", h["timestamp"])
        object.__setattr__(obj, "counts", _readonly(counts.astype(np.int16)))
        return obj

    def to_si(self, config: SensorConfig) -> SampleBlock:
        """Scale counts to SI with the config's scale factors (SPEC §6)."""
        acc_s, gyr_s, mag_s = config.scales()
        c = self.counts.astype(np.float64)
        if self.packet_type == PacketType.MAG:
            acc = gyr = None
            mag = c * mag_s
            period = config.mag_period_us
        else:
            acc = c[:, 0:3] * acc_s
            gyr = c[:, 3:6] * gyr_s
            mag = c[:, 6:9] * mag_s if self.counts.shape[1] == 9 else None
            period = config.sample_period_us
        return SampleBlock(
            packet_type=self.packet_type,
            sequence=self.sequence,
            timestamp_us=self.timestamp_us,
            flags=self.flags,
            sample_period_us=period,
            acc=acc,
            gyr=gyr,
            mag=mag,
        )


def decode_data_packet(data: bytes | bytearray | memoryview) -> DataPacket:
    """Decode a DATA or MAG notification to raw counts; raises :class:`ProtocolError`."""
    return DataPacket.from_bytes(data)


def decode_samples(data: bytes | bytearray | memoryview, config: SensorConfig) -> SampleBlock:
    """Decode a DATA or MAG notification straight to SI units."""
    return DataPacket.from_bytes(data).to_si(config)


def quantize(values: npt.ArrayLike, scale: float, name: str) -> tuple[np.ndarray, bool]:
    """SI values -> int16 counts (round half to even, clip); also whether any clipped/saturated.

    Used by encoders (the virtual sensor, the vector generator). Non-finite input is an error.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] != 3:
        raise InputError(f"{name}: shape (n, 3) or (3,) expected, got {np.shape(values)}")
    if not np.all(np.isfinite(v)):
        raise InputError(f"{name}: non-finite values cannot be encoded")
    c = np.rint(v / scale)
    saturated = bool(np.any(np.abs(c) >= _SAT_LIMIT))
    return np.clip(c, -32768, 32767).astype(np.int16), saturated


def encode_data_packet(
    *,
    sequence: int,
    timestamp_us: int,
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    config: SensorConfig,
    mag: npt.ArrayLike | None = None,
    flags: DataFlags | int = 0,
) -> bytes:
    """Encode SI samples as one DATA packet (SPEC §4).

    Parameters
    ----------
    sequence : int
        Sequence number; taken modulo 65536.
    timestamp_us : int
        Device time of the first sample, µs; taken modulo 2**32.
    acc : array_like, shape (n, 3) or (3,)
        Specific force, m/s², sensor frame.
    gyr : array_like, shape (n, 3) or (3,)
        Angular rate, rad/s, sensor frame.
    config : SensorConfig
        Provides the scale factors.
    mag : array_like, shape (n, 3) or (3,), optional
        Magnetic field, µT. When given, samples are 9-axis and ``MAG_PRESENT`` is set.
    flags : DataFlags
        Extra flags (e.g. ``CLOCK_SYNCED``). Saturation flags are set automatically when a
        value reaches the full scale; ``MAG_PRESENT`` follows ``mag``.

    Returns
    -------
    bytes
        ``8 + n * (12 or 18)`` bytes. One 6-axis sample fits the default 20-byte payload;
        19 (6-axis) or 13 (9-axis) fit 244 bytes.
    """
    acc_s, gyr_s, mag_s = config.scales()
    ca, sat_a = quantize(acc, acc_s, "acc")
    cg, sat_g = quantize(gyr, gyr_s, "gyr")
    if ca.shape != cg.shape:
        raise InputError(f"acc {ca.shape} and gyr {cg.shape} differ in length")
    f = int(flags) & ~int(DataFlags.MAG_PRESENT | DataFlags.ACC_SATURATED | DataFlags.GYR_SATURATED)
    parts = [ca, cg]
    if sat_a:
        f |= DataFlags.ACC_SATURATED
    if sat_g:
        f |= DataFlags.GYR_SATURATED
    if mag is not None:
        cm, sat_m = quantize(mag, mag_s, "mag")
        if cm.shape != ca.shape:
            raise InputError(f"mag {cm.shape} and acc {ca.shape} differ in length")
        parts.append(cm)
        f |= DataFlags.MAG_PRESENT
        if sat_m:
            f |= DataFlags.MAG_SATURATED
    pkt = DataPacket(
        packet_type=PacketType.DATA,
        flags=DataFlags(f),
        sequence=int(sequence) & 0xFFFF,
        timestamp_us=int(timestamp_us) & 0xFFFFFFFF,
        counts=np.concatenate(parts, axis=1),
    )
    return bytes(pkt)


def encode_mag_packet(
    *,
    sequence: int,
    timestamp_us: int,
    mag: npt.ArrayLike,
    config: SensorConfig,
    flags: DataFlags | int = 0,
) -> bytes:
    """Encode magnetometer samples as one MAG packet (SPEC §5), spaced ``1/mag_rate_hz``.

    ``MAG_PRESENT`` is always set; ``MAG_SATURATED`` follows the data.
    """
    if not config.mag_rate_hz > 0 or math.isinf(config.mag_period_us):
        raise InputError("encode_mag_packet: config.mag_rate_hz must be > 0")
    cm, sat = quantize(mag, config.scales()[2], "mag")
    f = (int(flags) & ~int(DataFlags.MAG_SATURATED)) | DataFlags.MAG_PRESENT
    if sat:
        f |= DataFlags.MAG_SATURATED
    pkt = DataPacket(
        packet_type=PacketType.MAG,
        flags=DataFlags(f),
        sequence=int(sequence) & 0xFFFF,
        timestamp_us=int(timestamp_us) & 0xFFFFFFFF,
        counts=cm,
    )
    return bytes(pkt)


def max_samples(
    payload: int, *, mag: bool = False, packet_type: PacketType = PacketType.DATA
) -> int:
    """How many samples fit a payload of ``payload`` bytes (ATT MTU - 3)."""
    size = sample_size(packet_type, DataFlags.MAG_PRESENT if mag else 0)
    return max(0, (min(payload, MAX_PAYLOAD) - HEADER_SIZE) // size)


__all__ = [
    "DATA_HEADER_LAYOUT",
    "DATA_SAMPLE_LAYOUT",
    "HEADER_SIZE",
    "MAG_SAMPLE_LAYOUT",
    "SAMPLE_SIZE_6",
    "SAMPLE_SIZE_9",
    "SAMPLE_SIZE_MAG",
    "DataFlags",
    "DataPacket",
    "SampleBlock",
    "decode_data_packet",
    "decode_samples",
    "encode_data_packet",
    "encode_mag_packet",
    "max_samples",
    "quantize",
]
