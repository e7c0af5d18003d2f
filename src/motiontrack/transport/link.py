"""One sensor's link over bleak: connect, GATT setup, commands, reconnection.

:class:`Sensor` owns the bleak client of one sensor. It resolves the source string
through the backend registry (:mod:`.backends`), connects (each attempt bounded by
``BleOptions.connect_timeout``), reads the config, Device Information and battery,
subscribes to the data, control and status characteristics, sends commands matched
to their responses by token, and reconnects with exponential back-off after an
unsolicited disconnection. DATA notifications go to :class:`~.intake.PacketIntake`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakDeviceNotFoundError

from .. import protocol
from ..errors import (
    BluetoothUnavailableError,
    BluetoothUnavailableReason,
    ConfigurationError,
    DeviceNotFoundError,
    ProtocolError,
    TransportError,
)
from ..protocol import commands as cmd
from ..protocol import gatt as uuids
from .backends import BackendSpec, get_backend
from .buffer import EventBuffer
from .events import BleOptions, LinkEvent, LinkState, SampleBatch, StatusUpdate
from .intake import PacketIntake, SensorStats
from .source import SourceSpec, parse_source

__all__ = ["CommandFailedError", "Sensor", "transport_error"]

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

_UNAVAILABLE_REASONS = {
    "POWERED_OFF": BluetoothUnavailableReason.POWERED_OFF,
    "NO_BLUETOOTH": BluetoothUnavailableReason.NO_ADAPTER,
    "DENIED_BY_USER": BluetoothUnavailableReason.UNAUTHORIZED,
    "DENIED_BY_SYSTEM": BluetoothUnavailableReason.UNAUTHORIZED,
}


class CommandFailedError(TransportError):
    """The sensor answered a command with an error result code."""

    def __init__(self, sensor: str, opcode: cmd.Opcode, result: cmd.ResultCode) -> None:
        super().__init__(f"{sensor}: {opcode.name} failed: {result.name}")
        self.opcode = opcode
        self.result = result


def transport_error(exc: BaseException, what: str) -> TransportError:
    """Map bleak's and the platform's errors onto motiontrack's hierarchy."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason = _UNAVAILABLE_REASONS.get(exc.reason.name, BluetoothUnavailableReason.UNKNOWN)
        return BluetoothUnavailableError(reason, str(exc))  # type: ignore[return-value]
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        # Linux without a D-Bus system bus / BlueZ daemon: no usable Bluetooth stack.
        return BluetoothUnavailableError(  # type: ignore[return-value]
            BluetoothUnavailableReason.NO_ADAPTER, f"{what}: BlueZ/D-Bus not reachable ({exc})"
        )
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceNotFoundError(what)
    if isinstance(exc, TimeoutError):
        return DeviceNotFoundError(what, f"{what}: connection timed out")
    return TransportError(f"{what}: {type(exc).__name__}: {exc}")


async def quiet_disconnect(client: Any) -> None:
    """Disconnect, ignoring errors (the link may already be gone)."""
    try:
        await client.disconnect()
    except Exception:  # noqa: BLE001 - the link may already be gone
        logger.debug("disconnect failed", exc_info=True)


class Sensor:
    """One IMU sensor over bleak (a platform radio or a virtual sensor).

    Parameters
    ----------
    source : str
        ``"ble:ADDRESS"``, ``"sim:NAME"`` or another registered kind (not ``replay:``).
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
    batch_tap : callable, optional
        ``batch_tap(batch)`` is called with every accepted :class:`SampleBatch`, inside
        the notification callback, right after it was buffered (``batch.received_at`` is
        the host time ``raw_tap`` saw). Same rules as ``raw_tap``.
    live : bool
        True: samples arrive from a link as they are made.
    """

    live = True

    def __init__(
        self,
        source: str,
        *,
        name: str | None = None,
        options: BleOptions | None = None,
        buffer: EventBuffer | None = None,
    ) -> None:
        self.spec: SourceSpec = parse_source(source)
        if self.spec.is_replay:
            raise ConfigurationError(f"{source!r} is a recording, not a sensor: use ReplaySource")
        self.backend: BackendSpec = get_backend(self.spec.kind)
        self.name = name or self.spec.target
        self.options = options or BleOptions()
        self.buffer = buffer if buffer is not None else EventBuffer(self.options.buffer_packets)
        self.stats = SensorStats()
        self.raw_tap: Callable[[str, bytes, float], None] | None = None
        self.batch_tap: Callable[[SampleBatch], None] | None = None
        self.config: protocol.SensorConfig | None = None
        self.device_info: dict[str, str] = {}
        self.battery_percent: int | None = None
        self.status: protocol.Status | None = None
        self._client: Any = None
        self._target: Any = None  # BLEDevice or address string given to BleakClient
        self._intake = PacketIntake(self.name, self.buffer, self.stats)
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
        backend = self.backend
        if backend.prepare is not None:
            await backend.prepare(self.spec.target)
        if not backend.target_is_name:
            return self.spec.target  # bleak scans for the address itself
        device = await BleakScanner.find_device_by_name(
            self.spec.target, timeout=self.options.scan_timeout, backend=backend.scanner
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
        what = str(self.spec)
        target = await self._resolve()
        client = BleakClient(
            target,
            disconnected_callback=self._on_disconnected,
            timeout=self.options.connect_timeout,
            backend=self.backend.client,
        )
        try:
            async with asyncio.timeout(self.options.connect_timeout):
                await client.connect()
        except Exception as exc:  # noqa: BLE001
            raise transport_error(exc, what) from exc
        self._client = client
        try:
            async with asyncio.timeout(self.options.connect_timeout):
                await self._setup(client)
        except BaseException as exc:
            self._client = None
            await quiet_disconnect(client)
            if isinstance(exc, Exception):
                raise transport_error(exc, what) from exc
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
            raise transport_error(exc, self.name) from exc
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

    async def set_ranges(
        self, *, acc_range_g: int = 0, gyr_range_dps: int = 0, mag_range_ut: int = 0
    ) -> None:
        """Change full-scale ranges (0 = unchanged, while stopped); re-reads the config."""
        await self.command(
            cmd.set_ranges(
                acc_range_g=acc_range_g, gyr_range_dps=gyr_range_dps, mag_range_ut=mag_range_ut
            )
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
        batch = self._intake.feed(data, start, self.config)
        if batch is not None and self.batch_tap is not None:
            try:
                self.batch_tap(batch)
            except Exception:  # an observer's fault must not stop reception
                logger.exception("batch tap of %s failed", self.name)
        self.stats.callback_seconds += time.perf_counter() - start

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
        self._intake.link_lost = True
        self.stats.disconnects += 1
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TransportError(f"{self.name}: disconnected"))
        self.buffer.put(
            LinkEvent(sensor=self.name, state=LinkState.DISCONNECTED, at=time.perf_counter())
        )
        if self.options.reconnect and self._reconnect_task is None:
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _resume(self) -> None:
        """START after a reconnection; a sensor that kept streaming answers INVALID_STATE."""
        # before the write: DATA of the new stream may precede the response
        self._intake.tracker.restart_sequence()
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
                        await quiet_disconnect(client)
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

    async def force_disconnect(self) -> None:
        """Drop the link from the host side as a link loss would (for link tests): the
        transport reports it as unsolicited and reconnects as configured."""
        client = self._client
        if client is not None:
            await quiet_disconnect(client)

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
            await quiet_disconnect(client)
        self.buffer.put(LinkEvent(sensor=self.name, state=LinkState.CLOSED, at=time.perf_counter()))
