"""Vectorised decoding of many DATA/MAG packets at once (SPEC §4, §5).

Packets of equal length are stacked into one ``(P, L)`` byte matrix and decoded with
numpy views: no Python loop per packet or per sample. A malformed packet never aborts
the batch: it is left out and reported in :attr:`DecodedBatch.errors` with its
:class:`~motiontrack.errors.ProtocolError` code (or raised, with ``errors="raise"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigurationError, InputError, ProtocolError
from .config import SensorConfig
from .gatt import MAX_PAYLOAD, PROTOCOL_MAJOR, PacketType
from .packets import HEADER_SIZE, DataFlags

_ERR_ORDER = ("truncated", "version", "packet_type", "too_long", "empty", "length")


@dataclass(frozen=True, slots=True, eq=False)
class DecodedBatch:
    """Many packets decoded to SI units; arrays are in input order.

    Per valid packet (P):
        ``packet_index`` (P,) int64 index into the input sequence;
        ``packet_type`` (P,) uint8 (1 DATA, 2 MAG); ``flags`` (P,) uint8;
        ``sequence`` (P,) int64 (0..65535, not unwrapped);
        ``timestamp_us`` (P,) int64 (0..2**32-1, not unwrapped);
        ``n_samples`` (P,) int64.
    DATA samples (N), in packet order:
        ``acc`` (N, 3) m/s²; ``gyr`` (N, 3) rad/s; ``mag`` (N, 3) µT, NaN for 6-axis packets;
        ``sample_packet`` (N,) int64 row into the per-packet arrays;
        ``sample_offset_us`` (N,) float64 device time after the packet timestamp.
    MAG-packet samples (M):
        ``mag_only`` (M, 3) µT; ``mag_packet`` (M,) int64; ``mag_offset_us`` (M,) float64.
    ``errors``: tuple of (input index, ProtocolError code) for the packets left out.
    """

    packet_index: np.ndarray
    packet_type: np.ndarray
    flags: np.ndarray
    sequence: np.ndarray
    timestamp_us: np.ndarray
    n_samples: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    mag: np.ndarray
    sample_packet: np.ndarray
    sample_offset_us: np.ndarray
    mag_only: np.ndarray
    mag_packet: np.ndarray
    mag_offset_us: np.ndarray
    errors: tuple[tuple[int, str], ...]

    @property
    def sample_timestamps_us(self) -> np.ndarray:
        """Device time of each DATA sample, µs (packet timestamp + offset; not unwrapped)."""
        return self.timestamp_us[self.sample_packet] + self.sample_offset_us

    def saturated(self) -> np.ndarray:
        """(N,) bool: the DATA sample's packet had ACC_SATURATED or GYR_SATURATED set."""
        sat = (self.flags & (DataFlags.ACC_SATURATED | DataFlags.GYR_SATURATED)) != 0
        return sat[self.sample_packet]


def _group_errors(b0: np.ndarray, flags: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Error code index per packet of one length group (-1 = valid) and sample size."""
    n = b0.shape[0]
    err = np.full(n, -1, dtype=np.int8)
    ptype = b0 & 0xF
    size = np.where(ptype == PacketType.MAG, 6, np.where(flags & DataFlags.MAG_PRESENT, 18, 12))
    if length < 1:
        err[:] = 0
        return err, size
    checks = [
        (b0 >> 4) != PROTOCOL_MAJOR,  # version
        (ptype != PacketType.DATA) & (ptype != PacketType.MAG),  # packet_type
    ]
    for code, bad in zip((1, 2), checks):
        err[(err < 0) & bad] = code
    if length > MAX_PAYLOAD:
        err[err < 0] = 3
    elif length < HEADER_SIZE:
        err[err < 0] = 0
    elif length == HEADER_SIZE:
        err[err < 0] = 4
    else:
        err[(err < 0) & (((length - HEADER_SIZE) % size) != 0)] = 5
    return err, size


def decode_batch(
    packets: Sequence[bytes | bytearray | memoryview],
    config: SensorConfig,
    *,
    errors: str = "skip",
) -> DecodedBatch:
    """Decode many DATA/MAG notifications of one sensor to SI units.

    Parameters
    ----------
    packets : sequence of bytes
        Notification payloads, any mix of lengths and of DATA/MAG packets.
    config : SensorConfig
        Scale factors and rates of the sensor.
    errors : {"skip", "raise"}
        ``"skip"`` leaves malformed packets out and lists them in ``errors``;
        ``"raise"`` raises the :class:`ProtocolError` of the first one.

    Returns
    -------
    DecodedBatch
        Same values as decoding each packet with :func:`decode_samples`.
    """
    if not isinstance(config, SensorConfig):
        raise ConfigurationError("config must be a SensorConfig")
    if errors not in ("skip", "raise"):
        raise InputError(f"errors must be 'skip' or 'raise', got {errors!r}")
    pkts = [bytes(p) if not isinstance(p, bytes) else p for p in packets]
    n_in = len(pkts)
    lens = np.fromiter(map(len, pkts), dtype=np.int64, count=n_in)
    acc_s, gyr_s, mag_s = config.scales()
    data_period = config.sample_period_us
    mag_period = config.mag_period_us if config.mag_rate_hz > 0 else 0.0

    # Per packet: valid?, type, flags, seq, ts, n, sample size; filled per length group.
    ok = np.zeros(n_in, dtype=bool)
    err_code = np.full(n_in, -1, dtype=np.int8)
    ptype = np.zeros(n_in, dtype=np.uint8)
    flags = np.zeros(n_in, dtype=np.uint8)
    seq = np.zeros(n_in, dtype=np.int64)
    ts = np.zeros(n_in, dtype=np.int64)
    nsamp = np.zeros(n_in, dtype=np.int64)
    groups: list[tuple[int, np.ndarray, np.ndarray]] = []
    for length in np.unique(lens).tolist():
        idx = np.flatnonzero(lens == length)
        if length == 0:
            err_code[idx] = 0
            continue
        mat = np.frombuffer(b"".join([pkts[i] for i in idx]), dtype=np.uint8).reshape(
            idx.size, length
        )
        b0 = mat[:, 0]
        fl = mat[:, 1] if length > 1 else np.zeros(idx.size, np.uint8)
        e, size = _group_errors(b0, fl, length)
        err_code[idx] = e
        good = e < 0
        if not good.any():
            continue
        gidx = idx[good]
        gm = mat[good]
        ok[gidx] = True
        ptype[gidx] = gm[:, 0] & 0xF
        flags[gidx] = gm[:, 1]
        head = np.ascontiguousarray(gm[:, :HEADER_SIZE])
        seq[gidx] = head[:, 2:4].copy().view("<u2")[:, 0]
        ts[gidx] = head[:, 4:8].copy().view("<u4")[:, 0]
        nsamp[gidx] = (length - HEADER_SIZE) // size[good]
        groups.append((length, gidx, gm))

    if errors == "raise" and (err_code >= 0).any():
        first = int(np.flatnonzero(err_code >= 0)[0])
        raise ProtocolError(f"packet {first} is malformed", code=_ERR_ORDER[err_code[first]])

    valid_idx = np.flatnonzero(ok)
    row_of = np.full(n_in, -1, dtype=np.int64)
    row_of[valid_idx] = np.arange(valid_idx.size)
    is_mag = ptype[valid_idx] == PacketType.MAG
    n_valid = nsamp[valid_idx]
    data_n = np.where(is_mag, 0, n_valid)
    mag_n = np.where(is_mag, n_valid, 0)
    data_start = np.concatenate(([0], np.cumsum(data_n)))
    mag_start = np.concatenate(([0], np.cumsum(mag_n)))
    N, M = int(data_start[-1]), int(mag_start[-1])

    acc = np.empty((N, 3))
    gyr = np.empty((N, 3))
    mag = np.full((N, 3), np.nan)
    sample_packet = np.repeat(np.arange(valid_idx.size), data_n)
    sample_offset = (np.arange(N) - np.repeat(data_start[:-1], data_n)) * data_period
    mag_only = np.empty((M, 3))
    mag_packet = np.repeat(np.arange(valid_idx.size), mag_n)
    mag_offset = (np.arange(M) - np.repeat(mag_start[:-1], mag_n)) * mag_period

    for length, gidx, gm in groups:
        rows = row_of[gidx]
        body = np.ascontiguousarray(gm[:, HEADER_SIZE:]).view("<i2")  # (g, (L-8)/2)
        gtype = ptype[gidx]
        gflags = flags[gidx]
        for kind, sel in (
            ("mag", gtype == PacketType.MAG),
            ("d9", (gtype == PacketType.DATA) & ((gflags & DataFlags.MAG_PRESENT) != 0)),
            ("d6", (gtype == PacketType.DATA) & ((gflags & DataFlags.MAG_PRESENT) == 0)),
        ):
            if not sel.any():
                continue
            axes = {"mag": 3, "d9": 9, "d6": 6}[kind]
            c = body[sel].reshape(-1, axes).astype(np.float64)
            r = rows[sel]
            k = (length - HEADER_SIZE) // (2 * axes)
            if kind == "mag":
                dst = (mag_start[r][:, None] + np.arange(k)).ravel()
                mag_only[dst] = c * mag_s
                continue
            dst = (data_start[r][:, None] + np.arange(k)).ravel()
            if dst.size == N and np.array_equal(dst, np.arange(N)):
                dst = slice(None)  # the common case: one group, packets in order
            acc[dst] = c[:, 0:3] * acc_s
            gyr[dst] = c[:, 3:6] * gyr_s
            if axes == 9:
                mag[dst] = c[:, 6:9] * mag_s

    err_idx = np.flatnonzero(err_code >= 0)
    return DecodedBatch(
        packet_index=valid_idx,
        packet_type=ptype[valid_idx],
        flags=flags[valid_idx],
        sequence=seq[valid_idx],
        timestamp_us=ts[valid_idx],
        n_samples=n_valid,
        acc=acc,
        gyr=gyr,
        mag=mag,
        sample_packet=sample_packet,
        sample_offset_us=sample_offset,
        mag_only=mag_only,
        mag_packet=mag_packet,
        mag_offset_us=mag_offset,
        errors=tuple((int(i), _ERR_ORDER[err_code[i]]) for i in err_idx),
    )


__all__ = ["DecodedBatch", "decode_batch"]
