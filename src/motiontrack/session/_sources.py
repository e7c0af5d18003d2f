"""Where a session's samples come from: BLE sensors (``ble:``/``sim:``) or a recording
(``replay:``). Both deliver :mod:`motiontrack.transport` events (``SampleBatch``, ``Gap``,
``LinkEvent``, ...), so everything after the source is the same code."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import numpy as np

from ..errors import ConfigurationError, InputError

logger = logging.getLogger(__name__)

__all__ = ["BleSource", "ReplaySource", "open_source"]

RawTap = Callable[[str, bytes, float], None]


class BleSource:
    """Sensors over bleak (real radio or virtual sensors), via :mod:`motiontrack.transport`."""

    kind = "ble"

    def __init__(
        self, sources: Mapping[str, str], options: Any = None, raw_tap: RawTap | None = None
    ) -> None:
        from ..transport import SensorGroup

        self.group = SensorGroup(dict(sources), options)
        self.description = ", ".join(f"{k}={v}" for k, v in sources.items())
        self.raw_tap = raw_tap
        if raw_tap is not None:
            for sensor in self.group.sensors.values():
                sensor.raw_tap = raw_tap

    @property
    def names(self) -> list[str]:
        return list(self.group.sensors)

    def rates(self) -> dict[str, float]:
        out = {}
        for name, s in self.group.sensors.items():
            cfg = s.config
            out[name] = float(cfg.sample_rate_hz) if cfg is not None else 100.0
        return out

    def sensor_info(self, name: str) -> dict[str, Any]:
        s = self.group.sensors[name]
        info: dict[str, Any] = {"address": s.address or "", "source": str(s.spec)}
        if s.config is not None:
            info["config"] = bytes(s.config)
        info.update({f"device_{k}": v for k, v in s.device_info.items()})
        return info

    async def open(self) -> None:
        await self.group.connect()
        await self.group.start()

    def events(self) -> AsyncIterator[Any]:
        return self.group.events()

    async def close(self) -> None:
        await self.group.close()


class ReplaySource:
    """A recording (``.mtrec`` or CSV) played as transport events.

    Parameters
    ----------
    path : str
    names : list of str, optional
        Sensors to play (default all).
    speed : float
        1.0 = real time, 2.0 = twice as fast, 0 = as fast as possible.
    block_s : float
        Samples are delivered in blocks of this length (like BLE notifications), s.
    """

    kind = "replay"

    def __init__(
        self,
        path: str,
        names: list[str] | None = None,
        *,
        speed: float = 1.0,
        block_s: float = 0.05,
        recover: bool = False,
    ) -> None:
        from .. import io

        if not speed >= 0:
            raise ConfigurationError("replay speed must be >= 0")
        self.path = path
        self.recording = io.load(path, recover=recover)
        self.description = f"replay:{path}"
        missing = [n for n in names or [] if n not in self.recording.sensors]
        if missing:
            raise InputError(
                f"no sensor named {missing[0]!r} in {path} (sensors: {', '.join(self.recording.names)})"
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
        return all(self.recording.sensors[n].host_t is not None for n in self._names)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._closed = True

    def _blocks(self) -> list[tuple[float, str, slice]]:
        out = []
        for name in self._names:
            s = self.recording.sensors[name]
            if len(s) == 0:
                continue
            clock = s.host_t if s.host_t is not None else s.t
            n = max(1, round(self.block_s * s.fs))
            if s.host_t is not None:
                # keep the recorded notification blocks: split where the host time changes
                cuts = np.flatnonzero(np.diff(s.host_t) != 0) + 1
            else:
                cuts = np.arange(n, len(s), n)
            edges = np.concatenate([[0], cuts, [len(s)]]).astype(int)
            for a, b in itertools.pairwise(edges):
                if b > a:
                    out.append((float(clock[b - 1]), name, slice(a, b)))
        out.sort(key=lambda x: x[0])
        return out

    async def events(self) -> AsyncIterator[Any]:
        from ..transport import Gap, GapCause, SampleBatch

        blocks = self._blocks()
        if not blocks:
            return
        t_start = time.perf_counter()
        c0 = blocks[0][0]
        last_t: dict[str, float] = {}
        seq: dict[str, int] = {}
        for k, (clock, name, sl) in enumerate(blocks):
            if self._closed:
                return
            if self.speed > 0:
                due = t_start + (clock - c0) / self.speed
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif k % 50 == 0:
                await asyncio.sleep(0)  # let consumers run
            s = self.recording.sensors[name]
            t = s.t[sl]
            prev = last_t.get(name)
            if prev is not None and t[0] - prev > 1.5 / s.fs:
                missing = round((t[0] - prev) * s.fs) - 1
                yield Gap(
                    sensor=name,
                    cause=GapCause.PACKET_LOSS,
                    missing_samples=missing,
                    missing_packets=0,
                    start_s=prev + 1.0 / s.fs,
                    end_s=float(t[0]),
                )
            last_t[name] = float(t[-1])
            seq[name] = (seq.get(name, -1) + 1) & 0xFFFF
            # received_at: the recorded host arrival time (aligns the sensors' clocks as live)
            kw = (
                {"t_host": t + (clock - float(t[-1]))}
                if "t_host" in SampleBatch.__dataclass_fields__
                else {}
            )
            yield SampleBatch(
                sensor=name,
                sequence=seq[name],
                t=t,
                acc=s.acc[sl],
                gyr=s.gyr[sl],
                mag=s.mag[sl] if s.mag is not None else None,
                flags=0,
                received_at=clock,
                **kw,
            )


def _as_source(value: Any) -> Any:
    if isinstance(value, str):
        kind = value.split(":", 1)[0]
        if kind in ("ble", "sim", "replay"):
            return value
        import re

        if re.fullmatch(
            r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}",
            value,
        ):
            return f"ble:{value}"
        return value
    address = getattr(value, "address", None)  # a bleak BLEDevice
    return f"ble:{address}" if isinstance(address, str) else value


def open_source(
    sensors: Mapping[str, str],
    *,
    options: Any = None,
    raw_tap: RawTap | None = None,
    replay_speed: float = 1.0,
    recover: bool = False,
) -> BleSource | ReplaySource:
    """The source for a ``{name: "ble:..." | "sim:..." | "replay:PATH"}`` mapping.

    A bare address (``"AA:BB:CC:DD:EE:FF"`` or a macOS UUID) or a bleak ``BLEDevice``
    means ``ble:`` that address."""
    sensors = {k: _as_source(v) for k, v in sensors.items()}
    kinds = {
        v.split(":", 1)[0] if isinstance(v, str) and ":" in v else "" for v in sensors.values()
    }
    if "replay" in kinds:
        paths = {v.split(":", 1)[1] for v in sensors.values()}
        if len(kinds) != 1 or len(paths) != 1:
            raise ConfigurationError(
                "replay: sources cannot be mixed with others, and must name one file"
            )
        return ReplaySource(paths.pop(), list(sensors), speed=replay_speed, recover=recover)
    bad = [
        v
        for v in sensors.values()
        if not isinstance(v, str) or v.split(":", 1)[0] not in ("ble", "sim")
    ]
    if bad:
        raise ConfigurationError(
            f"unknown source {bad[0]!r}: use ble:ADDRESS, sim:NAME or replay:PATH"
        )
    return BleSource(sensors, options, raw_tap)
