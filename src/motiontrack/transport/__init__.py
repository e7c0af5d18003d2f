"""Sensors over Bluetooth LE with bleak: scan, connect in parallel, stream, reconnect.

The only layer that knows a radio exists. Quick start::

    import asyncio
    from motiontrack.transport import SampleBatch, Gap, open_sensors

    async def main():
        async with open_sensors({"thigh": "sim:thigh", "shank": "sim:shank"}) as group:
            await group.start()
            async for event in group.events():
                if isinstance(event, SampleBatch):
                    print(event.sensor, event.t[-1], event.acc[-1])
                elif isinstance(event, Gap):
                    print("gap", event)

    asyncio.run(main())

How it works
------------
* **Sources.** One parser (:func:`parse_source`) reads every source string.
  ``ble:ADDRESS`` (or a bare address, or a bleak ``BLEDevice``) uses bleak's platform
  backend; ``sim:NAME`` uses virtual sensors (:mod:`motiontrack.virtual`) through the
  *same* bleak API with a Bumble-backed bleak backend, starting the sensor ``NAME`` on
  this event loop's virtual radio if none is there (``thigh``/``shank`` move as a
  simulated knee); ``replay:PATH`` plays a recording (:class:`ReplaySource`, whose
  synchronous ``batches()`` is also what offline analysis reads). :func:`open_source`
  turns a ``{name: source}`` mapping into a :class:`BleSource` or a
  :class:`ReplaySource`; each has a ``live`` flag.
* **Backends** (:mod:`motiontrack.transport.backends`). A source kind maps to a
  :class:`BackendSpec`: bleak scanner and client backend classes (None = bleak's
  platform backend), an optional async ``prepare(target)`` run before scanning, and
  whether the target is an advertised name or an address. ``ble`` is built in; other
  kinds are found, lazily, through the entry point group
  ``motiontrack.transport_backends`` (the way bleak picks a platform backend), so this
  package never imports :mod:`motiontrack.virtual` or Bumble. A third party adds a kind
  by declaring, in its own ``pyproject.toml``::

      [project.entry-points."motiontrack.transport_backends"]
      mykind = "mypackage.ble:BACKEND"   # a BackendSpec, or a callable returning one

  or by calling :func:`register_backend` before opening ``mykind:TARGET`` sources.
* **Scanning** (:func:`scan`) filters on the motiontrack service UUID and reports
  name, RSSI and the battery level when the advertisement carries Battery
  Service data.
* **Connecting** (:class:`SensorGroup`) connects all sensors concurrently
  (``asyncio.gather``), each attempt bounded by ``BleOptions.connect_timeout``
  (bleak's own ``timeout`` is passed *and* enforced around the call). After the
  link is up the transport reads the config/info characteristic (scale factors,
  rate), Device Information and the battery level, and subscribes to the data,
  control and status characteristics.
* **Streaming.** START/STOP and the other commands go through the control
  characteristic with a token matched against the response notification.
  Notifications are decoded by :mod:`motiontrack.protocol` inside the bleak
  callback (tens of µs, never awaiting) into a bounded :class:`EventBuffer`; a
  slow consumer never stalls reception: the oldest batches are discarded, counted
  in ``EventBuffer.dropped_*`` and announced by a :class:`BufferOverflow`.
  Malformed notifications are counted in :class:`SensorStats` (by
  ``ProtocolError.code``), never raised into the application.
* **Time base and gaps.** Each batch carries continuous device time in seconds
  (u32 µs timestamps unwrapped by :class:`~motiontrack.protocol.clock.TickUnwrapper`,
  zero at the sensor's first sample) and its host arrival time ``received_at``; the
  transport does not fit one clock to the other (the session engine does, with
  :class:`~motiontrack.protocol.clock.ClockSync`). Sequence
  numbers and timestamps give every hole exactly: a :class:`Gap` says how many
  samples and packets are missing and between which times, and whether packets
  were lost on a live link or the link itself dropped.
* **Reconnection.** bleak only offers a disconnect callback. On an unsolicited
  disconnection the transport emits a :class:`LinkEvent`, reconnects with
  exponential back-off (``reconnect_initial_delay`` doubling up to
  ``reconnect_max_delay``, optionally ``reconnect_max_attempts``), re-subscribes,
  re-sends START, and the next packet reports the gap; the sensor's clock kept
  running, so the time base simply continues.
* **Shutdown.** ``close()`` sends STOP, cancels reconnection and disconnects.

Platforms
---------
The transport only uses bleak's portable API, so it runs unchanged on bleak's
backends; what differs is what the operating system allows:

* **Linux (BlueZ over D-Bus).** Addresses are MAC addresses
  (``ble:AA:BB:CC:DD:EE:FF``). BlueZ negotiates the MTU itself and bleak reports
  23 until it is *acquired*; the transport calls bleak's ``_acquire_mtu()``
  workaround when present. Parallel connections are queued by BlueZ; keep
  ``connect_timeout`` generous (10 s) for several sensors. Scanning may need the
  user to be in the ``bluetooth`` group.
* **macOS / iOS (CoreBluetooth).** Devices have no visible MAC address: bleak
  gives a per-host UUID (``ble:1A2B3C4D-...``) that differs between computers.
  Use :func:`scan` (which filters by the service UUID, required by macOS for
  background scanning) and keep the returned source string. The MTU is
  negotiated by the OS (typically 185 on macOS, up to 247 on recent hardware).
  The app (or terminal) needs Bluetooth permission.
* **Windows (WinRT).** MAC addresses; the MTU is negotiated automatically (up
  to 247/517). Pairing is not needed for the motiontrack service.
* **Android (python-for-android via bleak's p4android backend / Kivy / Chaquopy).**
  MAC addresses; the app needs ``BLUETOOTH_SCAN``/``BLUETOOTH_CONNECT`` (Android 12+)
  or location permission (older); the MTU request is made by the backend.
* **Virtual (any OS, CI).** ``sim:NAME`` sources: Bumble's emulated controller,
  random static addresses, MTU 247 requested by the backend.

bleak is imported by the modules that use it (:mod:`.link`, :mod:`.group`,
:mod:`.sources`); this package exposes their names lazily, so importing
``motiontrack.transport.events`` or the registry does not import bleak.

Errors are motiontrack's: :class:`~motiontrack.errors.DeviceNotFoundError`,
:class:`~motiontrack.errors.BluetoothUnavailableError` (reason enum),
:class:`~motiontrack.errors.TransportError`, :class:`CommandFailedError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .backends import BackendSpec, backend_kinds, get_backend, register_backend
from .buffer import EventBuffer
from .events import (
    BleOptions,
    BufferOverflow,
    Gap,
    GapCause,
    LinkEvent,
    LinkState,
    MagBatch,
    SampleBatch,
    ScanResult,
    StatusUpdate,
    TransportEvent,
)
from .intake import SensorStats
from .source import SourceSpec, parse_source
from .timebase import StreamTracker

if TYPE_CHECKING:
    from .group import SensorGroup, open_sensors, scan
    from .link import CommandFailedError, Sensor
    from .replay import ReplaySource
    from .sources import BleSource, open_source

# Names whose modules import bleak (or read recordings): loaded on first use.
_LAZY: dict[str, str] = {
    "BleSource": ".sources",
    "CommandFailedError": ".link",
    "ReplaySource": ".replay",
    "Sensor": ".link",
    "SensorGroup": ".group",
    "open_sensors": ".group",
    "open_source": ".sources",
    "scan": ".group",
}


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BackendSpec",
    "BleOptions",
    "BleSource",
    "BufferOverflow",
    "CommandFailedError",
    "EventBuffer",
    "Gap",
    "GapCause",
    "LinkEvent",
    "LinkState",
    "MagBatch",
    "ReplaySource",
    "SampleBatch",
    "ScanResult",
    "Sensor",
    "SensorGroup",
    "SensorStats",
    "SourceSpec",
    "StatusUpdate",
    "StreamTracker",
    "TransportEvent",
    "backend_kinds",
    "get_backend",
    "open_sensors",
    "open_source",
    "parse_source",
    "register_backend",
    "scan",
]
