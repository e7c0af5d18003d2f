"""Where a session's samples come from: sensors over bleak, or a recording.

:func:`open_source` turns a ``{name: source}`` mapping into a :class:`BleSource` (radio or
virtual sensors) or a :class:`~.replay.ReplaySource`; both deliver transport events
(``SampleBatch``, ``Gap``, ``LinkEvent``, ...) from ``events()``, so everything after the
source is the same code. Source strings are parsed by :func:`~.source.parse_source` only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from ..errors import ConfigurationError
from .events import BleOptions, TransportEvent
from .group import SensorGroup
from .replay import ReplaySource
from .source import parse_source

__all__ = ["BleSource", "RawTap", "open_source"]

RawTap = Callable[[str, bytes, float], None]


class BleSource:
    """Sensors over bleak (real radio or virtual sensors), as one source.

    Parameters
    ----------
    sources : mapping name -> source string
    options : BleOptions, optional
    raw_tap : callable(name, payload, host_s), optional
        Set as every sensor's :attr:`Sensor.raw_tap <motiontrack.transport.Sensor>`.
    mag : bool
        Ask the sensors that have a magnetometer to stream it (START with the MAG option,
        SPEC §5); without it they stream 6-axis samples only.

    Attributes
    ----------
    live : bool
        True: samples arrive from links as they are made; ``received_at`` is
        ``time.perf_counter()``.
    """

    kind = "ble"
    live = True

    def __init__(
        self,
        sources: Mapping[str, str],
        options: BleOptions | None = None,
        raw_tap: RawTap | None = None,
        *,
        mag: bool = False,
    ) -> None:
        self.group = SensorGroup(dict(sources), options)
        self.mag = mag
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
        await self.group.start(mag=self.mag)

    def events(self) -> AsyncIterator[TransportEvent]:
        return self.group.events()

    async def close(self) -> None:
        await self.group.close()


def open_source(
    sensors: Mapping[str, Any],
    *,
    options: BleOptions | None = None,
    raw_tap: RawTap | None = None,
    replay_speed: float = 1.0,
    recover: bool = False,
    mag: bool = False,
) -> BleSource | ReplaySource:
    """The source for a ``{name: "ble:..." | "sim:..." | "replay:PATH"}`` mapping.

    A bare address (``"AA:BB:CC:DD:EE:FF"`` or a macOS UUID) or a bleak ``BLEDevice``
    means ``ble:`` that address; any kind registered in :mod:`.backends` works too.
    ``replay:`` sources cannot be mixed with others and must all name one file.
    ``mag``: sensors stream their magnetometer, if fitted (a recording replays what it holds).

    Raises ConfigurationError for an unknown or malformed source.
    """
    specs = {name: parse_source(value) for name, value in sensors.items()}
    replays = {s.target for s in specs.values() if s.is_replay}
    if replays:
        if len(replays) != 1 or not all(s.is_replay for s in specs.values()):
            raise ConfigurationError(
                "replay: sources cannot be mixed with others, and must name one file"
            )
        return ReplaySource(replays.pop(), list(specs), speed=replay_speed, recover=recover)
    return BleSource({name: str(s) for name, s in specs.items()}, options, raw_tap, mag=mag)
