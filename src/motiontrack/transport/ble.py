"""Sensors over bleak: scanning, parallel connection, streaming, reconnection.

bleak is imported lazily, inside the functions that need it, so importing
:mod:`motiontrack.transport` costs nothing on machines without Bluetooth.
See the package docstring for platform notes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import protocol
from ..errors import ConfigurationError, DeviceNotFoundError, ProtocolError, TransportError
from ..protocol import commands as cmd
from ..protocol import gatt as uuids
from ..protocol.clock import ClockEstimate, ClockSync, ClockSyncSettings
from .buffer import EventBuffer
from .events import (
    BleOptions,
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
    "CommandFailedError",
    "Sensor",
    "SensorGroup",
    "SensorStats",
    "open_sensors",
    "scan",
]

logger = logging.getLogger(__name__)

#: The ATT MTU requested where the platform lets the application ask (247 = 244-byte payloads).
REQUESTED_MTU = 247

_DEVICE_INFO = {
    "manufacturer": uuids.MANUFACTURER_NAME_UUID,
    "model": uuids.MODEL_NUMBER_UUID,
    "serial": uuids.SERIAL_NUMBER_UUID,
    "hardware_revision": uuids.HARDWARE_REVISION_UUID,
    "firmware_revision": uuids.FIRMWARE_REVISION_UUID,
}


class CommandFailedError(TransportError):
    """The sensor answered a command with an error result code."""

    def __init__(self, sensor: str, opcode: cmd.Opcode, result: cmd.ResultCode) -> None:
        super().__init__(f"{sensor}: {opcode.name} failed: {result.name}")
        self.opcode = opcode
        self.result = result


def _backends(kind: str) -> tuple[Any, Any]:
    """bleak backend classes for a source kind: None = bleak's platform backend."""
    if kind == "sim":
        from ..virtual.backend import BumbleClient, BumbleScanner

        return BumbleScanner, BumbleClient
    return None, None


def _bleak() -> Any:
    try:
        import bleak
    except ImportError as exc:  # pragma: no cover - bleak is a hard dependency
        raise TransportError(f"bleak is not installed: {exc}") from exc
    return bleak


def _transport_error(exc: BaseException, what: str) -> TransportError:
    """Map bleak's and the platform's errors onto motiontrack's hierarchy."""
    bleak = _bleak()
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, bleak.exc.BleakBluetoothNotAvailableError):
        from ..errors import BluetoothUnavailableError, BluetoothUnavailableReason

        reason = {
            "POWERED_OFF": BluetoothUnavailableReason.POWERED_OFF,
            "NO_BLUETOOTH": BluetoothUnavailableReason.NO_ADAPTER,
            "DENIED_BY_USER": BluetoothUnavailableReason.UNAUTHORIZED,
            "DENIED_BY_SYSTEM": BluetoothUnavailableReason.UNAUTHORIZED,
        }.get(exc.reason.name, BluetoothUnavailableReason.UNKNOWN)
        return BluetoothUnavailableError(reason, str(exc))  # type: ignore[return-value]
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        # Linux without a D-Bus system bus / BlueZ daemon: no usable Bluetooth stack.
        from ..errors import BluetoothUnavailableError, BluetoothUnavailableReason

        return BluetoothUnavailableError(  # type: ignore[return-value]
            BluetoothUnavailableReason.NO_ADAPTER, f"{what}: BlueZ/D-Bus not reachable ({exc})"
        )
    if isinstance(exc, bleak.exc.BleakDeviceNotFoundError):
        return DeviceNotFoundError(what)
    if isinstance(exc, TimeoutError):
        return DeviceNotFoundError(what, f"{what}: connection timed out")
    return TransportError(f"{what}: {type(exc).__name__}: {exc}")


async def scan(
    timeout: float = 5.0, *, kind: str = "ble", service_uuid: str = uuids.SERVICE_UUID
) -> list[ScanResult]:
    """Sensors advertising the motiontrack service, strongest first.

    Parameters
    ----------
    timeout : float
        Scan duration, s.
    kind : {"ble", "sim"}
        ``"ble"``: bleak's platform backend (real radios); ``"sim"``: virtual
        sensors on this event loop's virtual radio.
    service_uuid : str
        Advertised service to filter on (bleak's ``service_uuids`` filter, which
        macOS requires to see anything while the app is in the background).
    """
    bleak = _bleak()
    scanner_backend, _ = _backends(kind)
    try:
        found = await bleak.BleakScanner.discover(
            timeout=timeout,
            return_adv=True,
            service_uuids=[service_uuid],
            backend=scanner_backend,
        )
    except Exception as exc:  # noqa: BLE001 - every platform has its own errors
        raise _transport_error(exc, "scan") from exc
    battery_key = uuids.BATTERY_SERVICE_UUID
    results = []
    for device, adv in found.values():
        battery = adv.service_data.get(battery_key)
        results.append(
            ScanResult(
                source=f"{kind}:{adv.local_name if kind == 'sim' and adv.local_name else device.address}",
                address=device.address,
                name=adv.local_name or device.name,
                rssi=adv.rssi,
                battery_percent=battery[0] if battery and battery[0] <= 100 else None,
            )
        )
    results.sort(key=lambda r: -r.rssi)
    return results


@dataclass(slots=True)
class SensorStats:
    """Counters of one sensor link (read any time; never reset)."""

    notifications: int = 0  # DATA notifications received
    packets: int = 0  # DATA packets accepted
    samples: int = 0  # samples delivered to the buffer
    malformed: int = 0  # notifications that failed to decode (never raised)
    malformed_codes: Counter[str] = field(default_factory=Counter)  # ProtocolError.code -> count
    duplicates: int = 0  # duplicated or stale packets dropped
    gaps: int = 0
    missing_samples: int = 0  # total of all gaps
    missing_packets: int = 0
    disconnects: int = 0  # unsolicited
    reconnects: int = 0
    saturated_packets: int = 0  # packets with a saturation flag
    mag_samples: int = 0  # magnetometer samples from MAG packets
    callback_seconds: float = 0.0  # time spent in this library's notification handler, s
    first_rx: float | None = None  # perf_counter of the first packet
    first_t: float | None = None  # sensor time of the first sample delivered, s
    last_rx: float | None = None
    latest: SampleBatch | None = None  # most recent batch

    @property
    def rate_hz(self) -> float:
        """Mean received sample rate over the session, Hz of wall-clock time."""
        if self.first_rx is None or self.last_rx is None or self.last_rx <= self.first_rx:
            return 0.0
        return self.samples / (self.last_rx - self.first_rx)

    @property
    def device_rate_hz(self) -> float:
        """Delivered samples per second of *sensor* time (the sample rate when nothing is lost)."""
        latest = self.latest
        if latest is None or self.first_t is None or self.samples < 2:
            return 0.0
        span = float(latest.t[-1]) - self.first_t
        return (self.samples - 1) / span if span > 0 else 0.0

    @property
    def loss_fraction(self) -> float:
        total = self.samples + self.missing_samples
        return self.missing_samples / total if total else 0.0


class Sensor:
    """One IMU sensor over bleak (a platform radio or a virtual sensor).

    Parameters
    ----------
    source : str
        ``"ble:ADDRESS"`` or ``"sim:NAME"``.
    name : str, optional
        Name used in events (default: the source's target).
    options : BleOptions, optional
    buffer : EventBuffer, optional
        Where samples and events go; shared by a :class:`SensorGroup`.

    Attributes
    ----------
    raw_tap : callable, optional
        ``raw_tap(name, payload, host_time_s)`` is called with every DATA notification's
        bytes and its host arrival time (``time.perf_counter()``) before decoding, e.g. to
        record raw packets. It must be quick and must not raise (exceptions are logged).
    """

    def __init__(
        self,
        source: str,
        *,
        name: str | None = None,
        options: BleOptions | None = None,
        buffer: EventBuffer | None = None,
    ) -> None:
        self.spec: SourceSpec = parse_source(source)
        self.name = name or self.spec.target
        self.options = options or BleOptions()
        self.buffer = buffer if buffer is not None else EventBuffer(self.options.buffer_packets)
        self.stats = SensorStats()
        self.raw_tap: Callable[[str, bytes, float], None] | None = None
        self.config: protocol.SensorConfig | None = None
        self.device_info: dict[str, str] = {}
        self.battery_percent: int | None = None
        self.status: protocol.Status | None = None
        self._client: Any = None
        self._target: Any = None  # BLEDevice or address string given to BleakClient
        self._tracker = StreamTracker()
        # 2 s bins (one lowest point each) over the default 120 s window: the fit costs
        # 0.14 ms instead of 2.7 ms with 0.5 s bins, and drift agrees to 1 ppm.
        self._clock = ClockSync(ClockSyncSettings(bin_s=2.0))
        self._clock_estimate: ClockEstimate | None = None
        self._clock_points: list[tuple[float, float]] = []
        self._next_fit_s = 0.0
        self._link_lost = False
        self._ready = False  # connected and set up
        self._streaming = False
        self.mag = False
        self._closing = False
        self._tokens = itertools.count(1)
        self._pending: dict[int, asyncio.Future[cmd.Response]] = {}
        self._reconnect_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ properties
    @property
    def address(self) -> str | None:
        return self._client.address if self._client is not None else None

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def mtu_size(self) -> int:
        return self._client.mtu_size if self._client is not None else 23

    # ------------------------------------------------------------ connecting
    async def _resolve(self) -> Any:
        """What to hand to BleakClient: a BLEDevice (found by scanning) or the address."""
        if self._target is not None:
            return self._target
        if self.spec.kind == "ble":
            return self.spec.target  # bleak scans for the address itself
        from ..virtual.fleet import ensure_sensor

        await ensure_sensor(self.spec.target)
        bleak = _bleak()
        scanner_backend, _ = _backends("sim")
        device = await bleak.BleakScanner.find_device_by_name(
            self.spec.target, timeout=self.options.scan_timeout, backend=scanner_backend
        )
        if device is None:
            raise DeviceNotFoundError(str(self.spec))
        self._target = device
        return device

    async def connect(self) -> None:
        """Connect (one attempt bounded by ``options.connect_timeout``) and read the sensor.

        Raises
        ------
        DeviceNotFoundError
            Nothing answered in time.
        TransportError
            The link or the GATT setup failed.
        """
        bleak = _bleak()
        _, client_backend = _backends(self.spec.kind)
        what = str(self.spec)
        target = await self._resolve()
        client = bleak.BleakClient(
            target,
            disconnected_callback=self._on_disconnected,
            timeout=self.options.connect_timeout,
            backend=client_backend,
        )
        try:
            async with asyncio.timeout(self.options.connect_timeout):
                await client.connect()
        except Exception as exc:  # noqa: BLE001
            raise _transport_error(exc, what) from exc
        self._client = client
        try:
            async with asyncio.timeout(self.options.connect_timeout):
                await self._setup(client)
        except BaseException as exc:
            self._client = None
            await _quiet_disconnect(client)
            if isinstance(exc, Exception):
                raise _transport_error(exc, what) from exc
            raise
        self._ready = True

    async def _setup(self, client: Any) -> None:
        # BlueZ reports 23 until the MTU is acquired; bleak's documented workaround.
        acquire = getattr(client._backend, "_acquire_mtu", None)
        if acquire is not None and client.mtu_size < REQUESTED_MTU:
            try:
                await acquire()
            except Exception:  # noqa: BLE001 - older BlueZ: stay at the default MTU
                logger.debug("%s: could not acquire MTU", self.name, exc_info=True)
        try:
            self.config = protocol.decode_config(await client.read_gatt_char(uuids.CONFIG_UUID))
        except ProtocolError as exc:
            raise TransportError(f"{self.name}: unreadable config characteristic: {exc}") from exc
        if not self.device_info:
            for key, uuid in _DEVICE_INFO.items():
                if client.services.get_characteristic(uuid) is not None:
                    raw = await client.read_gatt_char(uuid)
                    self.device_info[key] = bytes(raw).decode("utf-8", "replace")
        if client.services.get_characteristic(uuids.BATTERY_LEVEL_UUID) is not None:
            level = await client.read_gatt_char(uuids.BATTERY_LEVEL_UUID)
            self.battery_percent = level[0] if level else None
            await client.start_notify(uuids.BATTERY_LEVEL_UUID, self._on_battery)
        try:
            self.status = protocol.decode_status(await client.read_gatt_char(uuids.STATUS_UUID))
        except ProtocolError:
            self.stats.malformed_codes["status"] += 1
        await client.start_notify(uuids.CONTROL_UUID, self._on_response)
        await client.start_notify(uuids.STATUS_UUID, self._on_status)
        await client.start_notify(uuids.DATA_UUID, self._on_data)

    # ------------------------------------------------------------- commands
    async def command(self, command: protocol.Command) -> cmd.Response:
        """Write ``command`` (its token is replaced) and wait for the matching response.

        Raises
        ------
        CommandFailedError
            The sensor answered with an error result.
        TransportError
            Not connected, or no response within ``options.command_timeout``.
        """
        client = self._client
        if client is None or not client.is_connected:
            raise TransportError(f"{self.name}: not connected")
        token = next(self._tokens) & 0xFF
        command = cmd.Command(opcode=command.opcode, token=token, params=command.params)
        future: asyncio.Future[cmd.Response] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        try:
            async with asyncio.timeout(self.options.command_timeout):
                await client.write_gatt_char(uuids.CONTROL_UUID, bytes(command), response=True)
                response = await future
        except TimeoutError:
            raise TransportError(f"{self.name}: no response to {command.opcode.name}") from None
        except TransportError:
            raise
        except Exception as exc:  # noqa: BLE001 - bleak/platform write errors
            raise _transport_error(exc, self.name) from exc
        finally:
            self._pending.pop(token, None)
        if not response.ok:
            raise CommandFailedError(self.name, command.opcode, response.result)
        return response

    async def start(self, *, mag: bool = False) -> None:
        """Start streaming (and keep streaming across reconnections).

        ``mag`` asks for the magnetometer (9-axis DATA or MAG packets, SPEC §5).
        A sensor already streaming (INVALID_STATE) is accepted as started.
        """
        self.mag = mag
        await self._resume()
        self._streaming = True

    async def stop(self) -> None:
        """Stop streaming."""
        self._streaming = False
        if self.is_connected:
            await self.command(cmd.stop())

    async def set_sample_rate(self, sample_rate_hz: float) -> None:
        """Change the output data rate (while stopped); re-reads the config."""
        await self.command(cmd.set_sample_rate(sample_rate_hz))
        self.config = protocol.decode_config(await self._client.read_gatt_char(uuids.CONFIG_UUID))

    async def set_ranges(self, *, acc_range_g: int = 0, gyr_range_dps: int = 0, mag_range_ut: int = 0) -> None:
        """Change full-scale ranges (0 = unchanged, while stopped); re-reads the config."""
        await self.command(
            cmd.set_ranges(acc_range_g=acc_range_g, gyr_range_dps=gyr_range_dps, mag_range_ut=mag_range_ut)
        )
        self.config = protocol.decode_config(await self._client.read_gatt_char(uuids.CONFIG_UUID))

    async def identify(self, duration_s: int = 3) -> None:
        await self.command(cmd.identify(duration_s))

    async def read_status(self) -> protocol.Status:
        """GET_STATUS (clears the sensor's sticky error flags)."""
        status = (await self.command(cmd.get_status())).status()
        self.status = status
        return status

    # -------------------------------------------------------- notifications
    def _on_data(self, _characteristic: Any, data: bytearray) -> None:
        start = time.perf_counter()
        if self.raw_tap is not None:
            try:
                self.raw_tap(self.name, bytes(data), start)
            except Exception:  # a recorder's fault must not stop reception
                logger.exception("raw packet tap of %s failed", self.name)
        stats = self.stats
        stats.notifications += 1
        config = self.config
        try:
            packet = protocol.decode_data_packet(data)
            if config is None:
                raise ProtocolError("data before config", code="value")
            block = packet.to_si(config)
        except ProtocolError as exc:
            stats.malformed += 1
            stats.malformed_codes[exc.code] += 1
            stats.callback_seconds += time.perf_counter() - start
            return
        if block.acc is None:  # a MAG packet (SPEC §5)
            missing = self._tracker.observe_other(packet.sequence)
            if missing:
                stats.missing_packets += missing
            if self._tracker.started and block.mag is not None:
                stats.mag_samples += block.n_samples
                self.buffer.put(
                    MagBatch(
                        sensor=self.name,
                        t=self._tracker.device_seconds(packet.timestamp_us)
                        + (block.sample_period_us * 1e-6) * _arange(block.n_samples),
                        mag=block.mag,
                        received_at=start,
                    )
                )
            stats.callback_seconds += time.perf_counter() - start
            return
        n = block.n_samples
        period = block.sample_period_us
        verdict = self._tracker.observe(packet.sequence, packet.timestamp_us, n, period)
        if not verdict.accept:
            stats.duplicates += 1
            stats.callback_seconds += time.perf_counter() - start
            return
        if verdict.missing_samples or verdict.missing_packets:
            if self._link_lost or verdict.missing_packets < 0:
                cause = GapCause.LINK_LOST
            elif verdict.missing_packets:
                cause = GapCause.PACKET_LOSS
            else:
                cause = GapCause.DEVICE  # timestamps jump, no sequence number missing
            stats.gaps += 1
            stats.missing_samples += verdict.missing_samples
            stats.missing_packets += max(0, verdict.missing_packets)
            self.buffer.put(
                Gap(
                    sensor=self.name,
                    cause=cause,
                    missing_samples=verdict.missing_samples,
                    missing_packets=verdict.missing_packets,
                    start_s=verdict.gap_start_s,
                    end_s=verdict.t0_s,
                )
            )
        self._link_lost = False
        t = verdict.t0_s + (period * 1e-6) * _arange(n)
        t_host = self._host_times(t, start)
        batch = SampleBatch(
            sensor=self.name,
            sequence=packet.sequence,
            t=t,
            t_host=t_host,
            acc=block.acc,
            gyr=block.gyr,  # type: ignore[arg-type]
            mag=block.mag,
            flags=int(block.flags),
            received_at=start,
        )
        if block.flags & (protocol.DataFlags.ACC_SATURATED | protocol.DataFlags.GYR_SATURATED):
            stats.saturated_packets += 1
        stats.packets += 1
        stats.samples += n
        if stats.first_rx is None:
            stats.first_rx = start
            stats.first_t = float(t[0])
        stats.last_rx = start
        stats.latest = batch
        self.buffer.put(batch)
        stats.callback_seconds += time.perf_counter() - start

    def _host_times(self, t: Any, arrival: float) -> Any:
        """Host time of samples at device times ``t`` (s), from the clock fit (SPEC §10.3).

        Each packet adds (device time of its last sample, arrival) to the protocol's
        :class:`ClockSync`, in groups of 16; the fit itself (~0.15 ms with 2 s bins)
        runs every ``options.clock_refresh_s`` of sensor time, scheduled after the
        current notification so it never delays the delivery at hand. Until the first
        fit, the packet's own arrival time serves as the offset.
        """
        last = float(t[-1])
        self._clock_points.append((last * 1e6, arrival))
        if len(self._clock_points) >= 16:
            self._flush_clock_points()
        if last >= self._next_fit_s:
            self._next_fit_s = last + self.options.clock_refresh_s
            asyncio.get_running_loop().call_soon(self._refit_clock)
        estimate = self._clock_estimate
        if estimate is None:  # before the first fit: this packet's arrival as the offset
            return arrival + (t - last)
        return estimate.to_host(t * 1e6)

    def _flush_clock_points(self) -> None:
        if self._clock_points:
            dev, host = zip(*self._clock_points)
            self._clock.update(dev, host)
            self._clock_points.clear()

    def _refit_clock(self) -> None:
        self._flush_clock_points()
        self._clock_estimate = self._clock.estimate()

    @property
    def clock_drift_ppm(self) -> float:
        """Estimated rate error of the sensor clock against the host, ppm (+ = sensor fast)."""
        return 0.0 if self._clock_estimate is None else self._clock_estimate.drift_ppm

    def _on_response(self, _characteristic: Any, data: bytearray) -> None:
        try:
            response = protocol.decode_response(data)
        except ProtocolError as exc:
            self.stats.malformed_codes[f"response:{exc.code}"] += 1
            return
        future = self._pending.get(response.token)
        if future is not None and not future.done():
            future.set_result(response)

    def _on_status(self, _characteristic: Any, data: bytearray) -> None:
        try:
            status = protocol.decode_status(data)
        except ProtocolError as exc:
            self.stats.malformed_codes[f"status:{exc.code}"] += 1
            return
        self.status = status
        if status.battery_percent is not None:
            self.battery_percent = status.battery_percent
        self.buffer.put(
            StatusUpdate(
                sensor=self.name,
                battery_percent=status.battery_percent,
                temperature_c=status.temperature_c,
                error_flags=int(status.error_flags),
                device_dropped=status.device_dropped,
                at=time.perf_counter(),
            )
        )

    def _on_battery(self, _characteristic: Any, data: bytearray) -> None:
        if data and data[0] <= 100:
            self.battery_percent = data[0]

    # ----------------------------------------------------------- link loss
    def _on_disconnected(self, client: Any) -> None:
        if self._closing or client is not self._client:
            return
        self._client = None
        if not self._ready:  # lost during connect(): its caller gets the error
            return
        self._ready = False
        self._link_lost = True
        self.stats.disconnects += 1
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TransportError(f"{self.name}: disconnected"))
        self.buffer.put(LinkEvent(sensor=self.name, state=LinkState.DISCONNECTED, at=time.perf_counter()))
        if self.options.reconnect and self._reconnect_task is None:
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _resume(self) -> None:
        """START after a reconnection; a sensor that kept streaming answers INVALID_STATE."""
        self._tracker.restart_sequence()  # before the write: new DATA may precede the response
        try:
            await self.command(cmd.start(mag=self.mag))
        except CommandFailedError as exc:
            if exc.result != cmd.ResultCode.INVALID_STATE:
                raise

    async def _reconnect(self) -> None:
        options = self.options
        delay = options.reconnect_initial_delay
        attempt = 0
        try:
            while not self._closing:
                attempt += 1
                try:
                    await self.connect()
                    if self._streaming:
                        await self._resume()
                except TransportError as exc:
                    logger.info("%s: reconnect attempt %d failed: %s", self.name, attempt, exc)
                    if self._client is not None:  # connected but START failed: retry cleanly
                        client, self._client = self._client, None
                        await _quiet_disconnect(client)
                else:
                    self.stats.reconnects += 1
                    self.buffer.put(
                        LinkEvent(
                            sensor=self.name,
                            state=LinkState.RECONNECTED,
                            at=time.perf_counter(),
                            attempts=attempt,
                        )
                    )
                    return
                if options.reconnect_max_attempts and attempt >= options.reconnect_max_attempts:
                    self.buffer.put(
                        LinkEvent(
                            sensor=self.name,
                            state=LinkState.GAVE_UP,
                            at=time.perf_counter(),
                            attempts=attempt,
                        )
                    )
                    return
                await asyncio.sleep(delay)
                delay = min(options.reconnect_max_delay, max(delay * 2, 0.01))
        finally:
            self._reconnect_task = None

    # ------------------------------------------------------------- shutdown
    async def close(self) -> None:
        """Stop streaming if possible, disconnect, cancel reconnection. Idempotent."""
        if self._closing:
            return
        if self.is_connected and self._streaming:
            try:
                await self.stop()
            except TransportError:
                logger.debug("%s: STOP failed during close", self.name, exc_info=True)
        self._closing = True
        task = self._reconnect_task
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        client, self._client = self._client, None
        if client is not None:
            await _quiet_disconnect(client)
        self.buffer.put(LinkEvent(sensor=self.name, state=LinkState.CLOSED, at=time.perf_counter()))


async def _quiet_disconnect(client: Any) -> None:
    try:
        await client.disconnect()
    except Exception:  # noqa: BLE001 - the link may already be gone
        logger.debug("disconnect failed", exc_info=True)


_ARANGE_CACHE: dict[int, Any] = {}


def _arange(n: int) -> Any:
    a = _ARANGE_CACHE.get(n)
    if a is None:
        import numpy as np

        a = np.arange(n, dtype=np.float64)
        a.flags.writeable = False
        _ARANGE_CACHE[n] = a
    return a


class SensorGroup:
    """Several sensors connected in parallel, delivering into one bounded buffer.

    Parameters
    ----------
    sources : mapping name -> source, or iterable of sources
        e.g. ``{"thigh": "ble:AA:..", "shank": "ble:BB:.."}`` or ``["sim:thigh", "sim:shank"]``.
    options : BleOptions, optional
    """

    def __init__(self, sources: Mapping[str, str] | Iterable[str], options: BleOptions | None = None) -> None:
        self.options = options or BleOptions()
        self.buffer = EventBuffer(self.options.buffer_packets)
        pairs = list(sources.items()) if isinstance(sources, Mapping) else [(None, s) for s in sources]
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
            self.buffer.put(LinkEvent(sensor=sensor.name, state=LinkState.CONNECTED, at=time.perf_counter()))

    async def start(self) -> None:
        await asyncio.gather(*(s.start() for s in self.sensors.values()))

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
    """``async with open_sensors(["sim:thigh", "sim:shank"]) as group:`` connects all in parallel."""
    return SensorGroup(sources, options)
