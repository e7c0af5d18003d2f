"""Append-only, crash-safe writer of ``.mtrec`` recordings."""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from .._version import __version__
from ..errors import ConfigurationError, RecordingError
from . import format as fmt
from ._files import open_private_fd

__all__ = ["RecordingWriter"]


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=_default).encode()


def _default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, bytes):
        return o.hex()
    raise TypeError(f"cannot store {type(o).__name__} in a recording")


class RecordingWriter:
    """Write a recording, one whole record per ``write`` system call.

    Each record goes to the operating system as soon as it is added (a process killed
    with SIGKILL loses nothing the OS already has); the file is ``fsync``'d at least every
    ``sync_interval_s`` seconds while records arrive, and on :meth:`close`, so a power loss
    costs at most that much. The file is created with owner-only permissions (0600): a
    recording is health data.

    Parameters
    ----------
    path : str or Path
        New file; an existing file is never overwritten unless ``overwrite=True``.
    meta : dict, optional
        Free-form metadata stored in the META record (exercise, subject code, ...).
    sync_interval_s : float
        Maximum time between ``fsync`` calls while writing, s. 0 syncs every record.
    overwrite : bool
        Replace an existing file.

    Examples
    --------
    >>> with RecordingWriter("set1.mtrec", meta={"exercise": "squat"}) as w:  # doctest: +SKIP
    ...     w.add_sensor("thigh", fs=100.0)
    ...     w.write_samples("thigh", t, acc, gyr)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        meta: dict[str, Any] | None = None,
        sync_interval_s: float = 1.0,
        overwrite: bool = False,
    ) -> None:
        if not sync_interval_s >= 0:
            raise ConfigurationError("sync_interval_s must be >= 0")
        self.path = Path(path)
        self.sync_interval_s = float(sync_interval_s)
        try:
            # owner-only (0600), also when overwriting a file with wider permissions
            self._fd: int | None = open_private_fd(self.path, overwrite=overwrite)
        except FileExistsError:
            raise RecordingError(
                f"{self.path} exists; choose another name or pass overwrite=True"
            ) from None
        except OSError as exc:
            raise RecordingError(f"cannot create {self.path}: {exc.strerror}") from None
        self._ids: dict[str, int] = {}
        self._t0 = time.monotonic()
        self._last_sync = self._t0
        self.counts: dict[str, int] = {t.name.lower(): 0 for t in fmt.RecordType}
        self.bytes_written = 0
        self._write_raw(fmt.file_header())
        m = {
            "format": "mtrec",
            "version": f"{fmt.VERSION_MAJOR}.{fmt.VERSION_MINOR}",
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
            "software": _software_version(),
        }
        m.update(meta or {})
        self._write(fmt.RecordType.META, _json(m))
        self._sync()

    # ------------------------------------------------------------------ helpers
    @property
    def closed(self) -> bool:
        return self._fd is None

    def host_time(self) -> float:
        """Seconds since the writer was opened (monotonic clock)."""
        return time.monotonic() - self._t0

    def _write_raw(self, data: bytes) -> None:
        if self._fd is None:
            raise RecordingError(f"{self.path} is closed")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.bytes_written += len(data)

    def _write(self, rtype: fmt.RecordType, payload: bytes) -> None:
        if len(payload) > fmt.MAX_PAYLOAD:
            raise RecordingError(f"record of {len(payload)} bytes is larger than the format allows")
        self._write_raw(fmt.encode_record(rtype, payload))
        self.counts[rtype.name.lower()] += 1
        self.maybe_sync()

    def _sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
        self._last_sync = time.monotonic()

    def maybe_sync(self) -> None:
        """fsync if the last one is older than ``sync_interval_s`` (call it from a timer
        when records may stop arriving for a while)."""
        if time.monotonic() - self._last_sync >= self.sync_interval_s:
            self._sync()

    def _id(self, sensor: str) -> int:
        try:
            return self._ids[sensor]
        except KeyError:
            raise RecordingError(f"sensor {sensor!r} was not added with add_sensor()") from None

    # ------------------------------------------------------------------ records
    def add_sensor(
        self,
        name: str,
        *,
        fs: float,
        address: str = "",
        config: bytes | None = None,
        has_mag: bool = False,
        **info: Any,
    ) -> int:
        """Declare a sensor before its packets or samples; returns its numeric id.

        ``config`` is the raw value of the sensor's CONFIG characteristic (kept so raw
        packets can be decoded again later).
        """
        if name in self._ids:
            raise RecordingError(f"sensor {name!r} already added")
        sid = len(self._ids)
        self._ids[name] = sid
        rec = {
            "id": sid,
            "name": name,
            "fs": float(fs),
            "address": address,
            "has_mag": bool(has_mag),
        }
        if config is not None:
            rec["config_hex"] = bytes(config).hex()
        rec.update(info)
        self._write(fmt.RecordType.SENSOR, _json(rec))
        return sid

    def write_packet(self, sensor: str, payload: bytes, host_time_s: float | None = None) -> None:
        """A raw notification; ``host_time_s`` defaults to now (s since the writer opened)."""
        ht = self.host_time() if host_time_s is None else float(host_time_s)
        self._write(
            fmt.RecordType.PACKET, fmt.PACKET_HEAD.pack(self._id(sensor), ht) + bytes(payload)
        )

    def write_samples(
        self,
        sensor: str,
        t: npt.ArrayLike,
        acc: npt.ArrayLike,
        gyr: npt.ArrayLike,
        mag: npt.ArrayLike | None = None,
        host_time_s: float | None = None,
        *,
        block: int = 4096,
    ) -> None:
        """Decoded samples: device times ``t`` (N,) s, ``acc`` (N, 3) m/s², ``gyr`` (N, 3)
        rad/s, optional ``mag`` (N, 3) µT. Long arrays are split into blocks of ``block``."""
        sid = self._id(sensor)
        tt = np.ascontiguousarray(t, dtype="<f8").reshape(-1)
        n = tt.shape[0]
        cols = [
            np.asarray(acc, dtype="<f8").reshape(n, 3),
            np.asarray(gyr, dtype="<f8").reshape(n, 3),
        ]
        if mag is not None:
            cols.append(np.asarray(mag, dtype="<f8").reshape(n, 3))
        data = np.ascontiguousarray(np.hstack(cols), dtype="<f8")
        ht = self.host_time() if host_time_s is None else float(host_time_s)
        for i in range(0, max(n, 1), block):
            tb, db = tt[i : i + block], data[i : i + block]
            if tb.shape[0] == 0:
                break
            head = fmt.SAMPLES_HEAD.pack(sid, ht, tb.shape[0], data.shape[1])
            self._write(fmt.RecordType.SAMPLES, head + tb.tobytes() + db.tobytes())

    def write_calibration(self, calibration: dict[str, Any]) -> None:
        """A calibration (JSON-serialisable dict with a ``"kind"`` key)."""
        self._write(fmt.RecordType.CALIBRATION, _json(calibration))

    def write_event(self, event: dict[str, Any]) -> None:
        """A session event (JSON-serialisable dict with ``"type"`` and ``"t"`` keys)."""
        self._write(fmt.RecordType.EVENT, _json(event))

    def close(self, **summary: Any) -> None:
        """Write the END record, fsync and close. Safe to call twice."""
        if self._fd is None:
            return
        try:
            end = {"records": dict(self.counts), "host_duration_s": self.host_time()}
            end.update(summary)
            self._write(fmt.RecordType.END, _json(end))
            self._sync()
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - last resort, keeps data on disk
        if getattr(self, "_fd", None) is not None:
            try:
                os.fsync(self._fd)  # type: ignore[arg-type]
                os.close(self._fd)  # type: ignore[arg-type]
            except OSError:
                pass


def _software_version() -> str:
    return f"motiontrack {__version__}"
