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
* **Sources.** ``ble:ADDRESS`` uses bleak's platform backend; ``sim:NAME`` uses
  virtual sensors (:mod:`motiontrack.virtual`) through the *same* bleak API with a
  Bumble-backed bleak backend, starting the sensor ``NAME`` on this event loop's
  virtual radio if none is there (``thigh``/``shank`` move as a simulated knee).
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
  (u32 µs timestamps unwrapped, zero at the sensor's first sample). Sequence
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

Errors are motiontrack's: :class:`~motiontrack.errors.DeviceNotFoundError`,
:class:`~motiontrack.errors.BluetoothUnavailableError` (reason enum),
:class:`~motiontrack.errors.TransportError`, :class:`CommandFailedError`.
"""

from __future__ import annotations

from .ble import CommandFailedError, Sensor, SensorGroup, SensorStats, open_sensors, scan
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
from .source import SourceSpec, parse_source
from .timebase import StreamTracker

__all__ = [
    "BleOptions",
    "BufferOverflow",
    "CommandFailedError",
    "EventBuffer",
    "Gap",
    "GapCause",
    "LinkEvent",
    "LinkState",
    "MagBatch",
    "SampleBatch",
    "ScanResult",
    "Sensor",
    "SensorGroup",
    "SensorStats",
    "SourceSpec",
    "StatusUpdate",
    "StreamTracker",
    "TransportEvent",
    "open_sensors",
    "parse_source",
    "scan",
]
