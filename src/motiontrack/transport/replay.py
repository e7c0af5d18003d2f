"""A recording played back as transport events: :class:`ReplaySource`.

:meth:`ReplaySource.batches` is the one implementation of "recording -> ``SampleBatch``
es in recorded arrival order"; live replay (:meth:`ReplaySource.events`, paced) and
offline analysis (calling ``batches()`` directly) therefore see identical batches.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np

from .. import io
from ..errors import ConfigurationError, InputError
from ..recording import Recording
from .events import SampleBatch

__all__ = ["ReplaySource"]


class ReplaySource:
    """A recording (``.mtrec`` or CSV) played as transport events.

    Parameters
    ----------
    path : str, path-like or Recording
        The file to read, or a recording already read.
    names : list of str, optional
        Sensors to play (default all).
    speed : float
        1.0 = real time, 2.0 = twice as fast, 0 = as fast as possible (``events`` only).
    block_s : float
        Length of the blocks samples are delivered in when the recording has no host
        arrival times (a recording made live keeps its notifications), s.
    recover : bool
        Read the intact part of a damaged ``.mtrec`` file instead of raising.

    Attributes
    ----------
    live : bool
        False: the samples were made in the past.
    """

    kind = "replay"
    live = False

    def __init__(
        self,
        path: str | os.PathLike[str] | Recording,
        names: list[str] | None = None,
        *,
        speed: float = 1.0,
        block_s: float = 0.05,
        recover: bool = False,
    ) -> None:
        if not speed >= 0:
            raise ConfigurationError("replay speed must be >= 0")
        if not block_s > 0:
            raise ConfigurationError("replay block_s must be > 0")
        if isinstance(path, Recording):
            self.path: str | None = None
            self.recording = path
            self.description = "replay:<recording>"
        else:
            self.path = os.fspath(path)
            self.recording = io.load(path, recover=recover)
            self.description = f"replay:{self.path}"
        missing = [n for n in names or [] if n not in self.recording.sensors]
        if missing:
            raise InputError(
                f"no sensor named {missing[0]!r} in {self.path or 'the recording'} "
                f"(sensors: {', '.join(self.recording.names)})"
            )
        self._names = list(names) if names else self.recording.names
        self.speed = float(speed)
        self.block_s = float(block_s)
        self._closed = False

    @property
    def names(self) -> list[str]:
        return self._names

    def rates(self) -> dict[str, float]:
        return {n: float(self.recording.sensors[n].fs) for n in self._names}

    def sensor_info(self, name: str) -> dict[str, Any]:
        info = dict(self.recording.sensor_info.get(name, {}))
        info.pop("id", None)
        info.pop("name", None)
        return {
            "source": self.description,
            **{k: v for k, v in info.items() if k not in ("fs", "has_mag")},
        }

    @property
    def uses_host_time(self) -> bool:
        """True if every played sensor has host arrival times (a recording made live)."""
        return all(self.recording.sensors[n].host_t is not None for n in self._names)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._closed = True

    def _blocks(self) -> list[tuple[float, str, slice]]:
        """(ordering key, sensor, rows) of every block, in delivery order."""
        out = []
        for name in self._names:
            s = self.recording.sensors[name]
            if len(s) == 0:
                continue
            if s.host_t is not None:
                # keep the recorded notification blocks: split where the host time changes
                clock = s.host_t
                cuts = np.flatnonzero(np.diff(s.host_t) != 0) + 1
            else:
                clock = s.t
                n = max(1, round(self.block_s * s.fs))
                cuts = np.arange(n, len(s), n)
            edges = np.concatenate([[0], cuts, [len(s)]]).astype(int)
            for a, b in itertools.pairwise(edges):
                if b > a:
                    out.append((float(clock[b - 1]), name, slice(a, b)))
        out.sort(key=lambda x: x[0])  # stable: ties keep the sensors' order
        return out

    def batches(self) -> Iterator[SampleBatch]:
        """The recording as :class:`SampleBatch` es, in recorded arrival order (synchronous).

        With host arrival times (a recording made live) each recorded notification is one
        batch and ``received_at`` is its host time (s since the recording started); without
        them the samples come in ``block_s`` blocks with ``received_at = nan``. Blocks are
        ordered by host arrival time, or by device time without host times. ``sequence``
        counts each sensor's batches (u16, from 0).
        """
        seq: dict[str, int] = {}
        for _key, name, sl in self._blocks():
            s = self.recording.sensors[name]
            seq[name] = (seq.get(name, -1) + 1) & 0xFFFF
            yield SampleBatch(
                sensor=name,
                sequence=seq[name],
                t=s.t[sl],
                acc=s.acc[sl],
                gyr=s.gyr[sl],
                mag=s.mag[sl] if s.mag is not None else None,
                flags=0,
                received_at=float(s.host_t[sl.stop - 1]) if s.host_t is not None else math.nan,
            )

    async def events(self) -> AsyncIterator[SampleBatch]:
        """:meth:`batches` paced by ``speed`` (by the recorded host arrival times, or by device
        time without them). Holes are not announced here: a recording has no link to lose, and
        the session engine finds every hole in the data itself."""
        t_start = time.perf_counter()
        c0: float | None = None
        for k, batch in enumerate(self.batches()):
            if self._closed:
                return
            key = batch.received_at if math.isfinite(batch.received_at) else float(batch.t[-1])
            c0 = key if c0 is None else c0
            if self.speed > 0:
                delay = t_start + (key - c0) / self.speed - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif k % 50 == 0:
                await asyncio.sleep(0)  # let consumers run
            yield batch
