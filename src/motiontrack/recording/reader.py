"""Reader of ``.mtrec`` recordings that keeps every intact record.

A file that ends between records (the writer was killed, or never closed) reads normally,
with ``Recording.complete = False`` and a note in ``Recording.warnings``. A file with a
damaged record (a partial record at the end, a CRC mismatch, garbage) raises
:class:`~motiontrack.errors.CorruptRecordingError` whose ``.recovered`` is the
:class:`Recording` of every record that checks out; ``read_recording(..., recover=True)``
returns that instead of raising.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_imu
from ..errors import CorruptRecordingError, ProtocolError, RecordingError
from ..protocol import decode_config, decode_data_packet
from ..protocol.clock import TickUnwrapper
from . import format as fmt
from .model import RawPacket, Recording, SensorSamples

__all__ = ["is_mtrec", "read_recording"]


def is_mtrec(path: str | os.PathLike[str]) -> bool:
    """True if the file starts with the ``.mtrec`` magic bytes."""
    try:
        with open(path, "rb") as f:
            return f.read(len(fmt.MAGIC)) == fmt.MAGIC
    except OSError:
        return False


def read_recording(path: str | os.PathLike[str], *, recover: bool = False) -> Recording:
    """Read a ``.mtrec`` file.

    Parameters
    ----------
    path : str or Path
    recover : bool
        Return what could be read from a damaged file (with ``warnings``) instead of
        raising :class:`~motiontrack.errors.CorruptRecordingError`.

    Raises
    ------
    RecordingError
        Not a recording, or a newer major version.
    InputError
        A sensor's samples in the wrong unit (g, deg/s, nT, ms, ...), with the message of
        :mod:`motiontrack.checks` after ``<file>: sensor '<name>': ``.
    CorruptRecordingError
        Damaged records; ``.recovered`` holds the intact part, ``.problems`` what was wrong.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise RecordingError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{p} is a directory, not a recording") from None
    except OSError as exc:
        raise RecordingError(f"cannot read {p}: {exc.strerror}") from None
    if len(data) < fmt.FILE_HEADER.size or data[: len(fmt.MAGIC)] != fmt.MAGIC:
        raise RecordingError(f"{p} is not a motiontrack recording (.mtrec magic bytes missing)")
    _, major, minor, _ = fmt.FILE_HEADER.unpack_from(data, 0)
    if major != fmt.VERSION_MAJOR:
        raise RecordingError(
            f"{p} is recording format {major}.{minor}; "
            f"this motiontrack reads version {fmt.VERSION_MAJOR}.x"
        )
    records, problems = _scan(data, fmt.FILE_HEADER.size)
    rec = _assemble(records, problems)
    rec.source = str(p)
    if problems:
        good = len(records)
        msg = (
            f"{p} is damaged: {'; '.join(problems[:3])}{' ...' if len(problems) > 3 else ''}. "
            f"Recovered {good} intact records ({rec.summary()}); use them with --recover "
            "(read_recording(..., recover=True))"
        )
        rec.warnings.insert(0, msg)
        if not recover:
            err = CorruptRecordingError(msg, recovered=rec)
            err.problems = problems  # type: ignore[attr-defined]
            raise err
    for name, smp in rec.sensors.items():  # same checks and messages as fuse and the CSV reader
        declared = float(rec.sensor_info.get(name, {}).get("fs") or 0.0)
        check_imu(
            smp.acc, smp.gyr, smp.mag, timestamps=smp.t, fs=declared or None,
            where=f"{p}: sensor {name!r}",
        )
    return rec


def _scan(data: bytes, pos: int) -> tuple[list[tuple[int, bytes, int]], list[str]]:
    """All intact records (type, payload, offset) and a description of every damage."""
    out: list[tuple[int, bytes, int]] = []
    problems: list[str] = []
    n = len(data)
    hs = fmt.RECORD_HEADER.size
    while pos < n:
        if n - pos < hs + fmt.CRC.size:
            problems.append(f"truncated record at byte {pos} ({n - pos} trailing bytes)")
            break
        sync, rtype, length = fmt.RECORD_HEADER.unpack_from(data, pos)
        end = pos + hs + length + fmt.CRC.size
        if sync != fmt.SYNC or length > fmt.MAX_PAYLOAD:
            nxt = _resync(data, pos + 1)
            problems.append(f"garbage at bytes {pos}-{nxt}")
            pos = nxt
            continue
        if end > n:
            # Either the last record was cut short, or a corrupt length field: look for a
            # later intact record before concluding it is a truncation.
            nxt = _resync(data, pos + 1)
            if nxt < n:
                problems.append(f"damaged record at byte {pos}")
                pos = nxt
                continue
            problems.append(f"truncated record at byte {pos} (needs {end - n} more bytes)")
            break
        payload = data[pos + hs : pos + hs + length]
        (crc,) = fmt.CRC.unpack_from(data, end - fmt.CRC.size)
        if zlib.crc32(payload, zlib.crc32(data[pos + 2 : pos + hs])) != crc:
            nxt = _resync(data, pos + 1)
            problems.append(f"CRC mismatch in record at byte {pos}")
            pos = nxt
            continue
        out.append((rtype, payload, pos))
        pos = end
    return out, problems


def _resync(data: bytes, pos: int) -> int:
    """Offset of the next record that checks out at or after ``pos`` (len(data) if none)."""
    n = len(data)
    hs = fmt.RECORD_HEADER.size
    while True:
        i = data.find(fmt.SYNC, pos)
        if i < 0:
            return n
        if i + hs + fmt.CRC.size <= n:
            _, _, length = fmt.RECORD_HEADER.unpack_from(data, i)
            end = i + hs + length + fmt.CRC.size
            if length <= fmt.MAX_PAYLOAD and end <= n:
                (crc,) = fmt.CRC.unpack_from(data, end - fmt.CRC.size)
                if (
                    zlib.crc32(data[i + hs : end - fmt.CRC.size], zlib.crc32(data[i + 2 : i + hs]))
                    == crc
                ):
                    return i
        pos = i + 1


def _assemble(records: list[tuple[int, bytes, int]], problems: list[str]) -> Recording:
    rec = Recording(complete=False)
    names: dict[int, str] = {}
    blocks: dict[str, list[tuple[np.ndarray, np.ndarray, float]]] = defaultdict(list)
    for rtype, payload, offset in records:
        try:
            if rtype == fmt.RecordType.META:
                rec.meta.update(json.loads(payload))
            elif rtype == fmt.RecordType.SENSOR:
                info = json.loads(payload)
                names[int(info["id"])] = info["name"]
                rec.sensor_info[info["name"]] = info
            elif rtype == fmt.RecordType.PACKET:
                sid, ht = fmt.PACKET_HEAD.unpack_from(payload, 0)
                rec.packets.append(
                    RawPacket(names[sid], ht, bytes(payload[fmt.PACKET_HEAD.size :]))
                )
            elif rtype == fmt.RecordType.SAMPLES:
                sid, ht, n, ncols = fmt.SAMPLES_HEAD.unpack_from(payload, 0)
                o = fmt.SAMPLES_HEAD.size
                if ncols not in (6, 9) or len(payload) != o + 8 * n * (1 + ncols):
                    raise ValueError("bad sample block size")
                t = np.frombuffer(payload, "<f8", n, o).astype(np.float64)
                d = (
                    np.frombuffer(payload, "<f8", n * ncols, o + 8 * n)
                    .astype(np.float64)
                    .reshape(n, ncols)
                )
                blocks[names[sid]].append((t, d, ht))
            elif rtype == fmt.RecordType.CALIBRATION:
                rec.calibration.append(json.loads(payload))
            elif rtype == fmt.RecordType.EVENT:
                rec.events.append(json.loads(payload))
            elif rtype == fmt.RecordType.END:
                rec.complete = True
                rec.meta["end"] = json.loads(payload)
            else:
                rec.warnings.append(f"skipped record of unknown type {rtype} at byte {offset}")
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            problems.append(f"unreadable record of type {rtype} at byte {offset} ({exc})")
    for sid, name in names.items():
        info = rec.sensor_info[name]
        fs = float(info.get("fs") or 0.0)
        if blocks.get(name):
            t = np.concatenate([b[0] for b in blocks[name]])
            d = np.vstack([b[1] for b in blocks[name]])
            mag = d[:, 6:9] if d.shape[1] == 9 else None
            host = np.concatenate([np.full(b[0].shape[0], b[2]) for b in blocks[name]])
            if not np.isfinite(host).any():
                host = None  # written from a source without a host clock (received_at nan)
            rec.sensors[name] = SensorSamples(t, d[:, 0:3], d[:, 3:6], mag, fs, host).sorted()
        else:
            s = _decode_packets(
                name, info, [p for p in rec.packets if p.sensor == name], rec.warnings
            )
            if s is not None:
                rec.sensors[name] = s
    if not rec.complete:
        rec.warnings.append(
            "the recording was not closed cleanly (no END record); "
            "data up to the last intact record is used"
        )
    return rec


def _decode_packets(
    name: str, info: dict[str, Any], packets: list[RawPacket], warnings: list[str]
) -> SensorSamples | None:
    """Decode raw DATA packets when a recording holds no decoded samples for a sensor."""
    if not packets or "config_hex" not in info:
        return None
    cfg = decode_config(bytes.fromhex(info["config_hex"]))
    ts, accs, gyrs = [], [], []
    bad = 0
    ticks = TickUnwrapper()
    for p in packets:
        try:
            pkt = decode_data_packet(p.payload)
            blk = pkt.to_si(cfg)
        except (ProtocolError, ValueError):
            bad += 1
            continue
        t0 = ticks.unwrap(int(pkt.timestamp_us), p.host_time_s) * 1e-6
        n = blk.acc.shape[0]
        ts.append(t0 + np.arange(n) / cfg.sample_rate_hz)
        accs.append(blk.acc)
        gyrs.append(blk.gyr)
    if bad:
        warnings.append(f"{name}: {bad} raw packets could not be decoded")
    if not ts:
        return None
    return SensorSamples(
        np.concatenate(ts), np.vstack(accs), np.vstack(gyrs), None, float(cfg.sample_rate_hz)
    ).sorted()
