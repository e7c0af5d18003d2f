"""Several sensors at once, and scanning for them.

:class:`SensorGroup` connects its sensors in parallel (``asyncio.gather``) and delivers
all their events into one bounded :class:`~.buffer.EventBuffer`; :func:`scan` lists the
sensors advertising the motiontrack service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping

from bleak import BleakScanner

from ..errors import ConfigurationError
from ..protocol import gatt as uuids
from .backends import get_backend
from .buffer import EventBuffer
from .events import BleOptions, LinkEvent, LinkState, ScanResult, TransportEvent
from .link import Sensor, transport_error

__all__ = ["SensorGroup", "open_sensors", "scan"]


async def scan(
    timeout: float = 5.0, *, kind: str = "ble", service_uuid: str = uuids.SERVICE_UUID
) -> list[ScanResult]:
    """Sensors advertising the motiontrack service, strongest first.

    Parameters
    ----------
    timeout : float
        Scan duration, s.
    kind : str
        A registered source kind (:mod:`.backends`): ``"ble"`` = bleak's platform
        backend (real radios); ``"sim"`` = virtual sensors on this event loop's
        virtual radio.
    service_uuid : str
        Advertised service to filter on (bleak's ``service_uuids`` filter, which
        macOS requires to see anything while the app is in the background).
    """
    backend = get_backend(kind)
    try:
        found = await BleakScanner.discover(
            timeout=timeout,
            return_adv=True,
            service_uuids=[service_uuid],
            backend=backend.scanner,
        )
    except Exception as exc:  # noqa: BLE001 - every platform has its own errors
        raise transport_error(exc, "scan") from exc
    battery_key = uuids.BATTERY_SERVICE_UUID
    results = []
    for device, adv in found.values():
        by_name = adv.local_name if backend.target_is_name else None
        battery = adv.service_data.get(battery_key)
        results.append(
            ScanResult(
                source=f"{kind}:{by_name if by_name else device.address}",
                address=device.address,
                name=adv.local_name or device.name,
                rssi=adv.rssi,
                battery_percent=battery[0] if battery and battery[0] <= 100 else None,
            )
        )
    results.sort(key=lambda r: -r.rssi)
    return results


class SensorGroup:
    """Several sensors connected in parallel, delivering into one bounded buffer.

    Parameters
    ----------
    sources : mapping name -> source, or iterable of sources
        e.g. ``{"thigh": "ble:AA:..", "shank": "ble:BB:.."}`` or ``["sim:thigh", "sim:shank"]``.
    options : BleOptions, optional
    """

    def __init__(
        self, sources: Mapping[str, str] | Iterable[str], options: BleOptions | None = None
    ) -> None:
        self.options = options or BleOptions()
        self.buffer = EventBuffer(self.options.buffer_packets)
        pairs = (
            list(sources.items()) if isinstance(sources, Mapping) else [(None, s) for s in sources]
        )
        if not pairs:
            raise ConfigurationError("SensorGroup needs at least one source")
        self.sensors: dict[str, Sensor] = {}
        for name, source in pairs:
            sensor = Sensor(source, name=name, options=self.options, buffer=self.buffer)
            if sensor.name in self.sensors:
                raise ConfigurationError(f"two sensors named {sensor.name!r}")
            self.sensors[sensor.name] = sensor

    def __getitem__(self, name: str) -> Sensor:
        return self.sensors[name]

    async def connect(self) -> None:
        """Connect every sensor at once; on any failure, disconnect the others and raise."""
        results = await asyncio.gather(
            *(s.connect() for s in self.sensors.values()), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            for err in errors:
                if not isinstance(err, Exception):
                    raise err
            raise errors[0]
        for sensor in self.sensors.values():
            self.buffer.put(
                LinkEvent(sensor=sensor.name, state=LinkState.CONNECTED, at=time.perf_counter())
            )

    async def start(self, *, mag: bool = False) -> None:
        """Start every sensor; with ``mag``, those whose config says a magnetometer is fitted
        stream it too (the others stream 6-axis: the session then warns and stays 6D)."""
        await asyncio.gather(*(
            s.start(mag=mag and s.config is not None and s.config.has_mag)
            for s in self.sensors.values()
        ))

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop() for s in self.sensors.values()))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sensors.values()), return_exceptions=True)
        self.buffer.close()

    async def events(self) -> AsyncIterator[TransportEvent]:
        """Samples and events in arrival order until the group is closed."""
        while True:
            try:
                yield await self.buffer.get()
            except EOFError:
                return

    async def __aenter__(self) -> SensorGroup:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def open_sensors(
    sources: Mapping[str, str] | Iterable[str], options: BleOptions | None = None
) -> SensorGroup:
    """``async with open_sensors(["sim:thigh", "sim:shank"]) as group:`` connects all at once."""
    return SensorGroup(sources, options)
