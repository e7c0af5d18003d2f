"""A bleak backend on Bumble's host stack: the real bleak API against virtual sensors.

Pass these classes as bleak's ``backend=`` argument::

    from bleak import BleakClient, BleakScanner
    from motiontrack.virtual import BumbleClient, BumbleScanner

    devices = await BleakScanner.discover(timeout=0.5, backend=BumbleScanner)
    async with BleakClient(devices[0], backend=BumbleClient) as client:
        print(client.mtu_size, [s.uuid for s in client.services])

Everything below bleak's public API is real: advertising PDUs, HCI, L2CAP, ATT and
GATT run through Bumble's host and emulated controllers on the event loop's
:class:`~motiontrack.virtual.radio.VirtualRadio`. What differs from a platform
backend:

* ``connect`` enforces ``timeout`` itself (bleak does not) and clears the pending
  connection on timeout; it then requests an ATT MTU of 247 (Bumble's client
  otherwise stays at 23 and the server silently truncates notifications to MTU-3)
  and discovers every service, characteristic and descriptor into ``services``.
* The disconnect callback fires on unsolicited disconnections only (link loss,
  peripheral-initiated), as :class:`bleak.backends.client.BaseBleakClient` documents.
* ``pair`` runs Bumble's SMP "just works" pairing over the emulated link;
  ``unpair`` forgets the keys and disconnects. Failures raise
  :class:`bleak.exc.BleakError`.
* Addresses are random static addresses such as ``"F3:12:34:56:78:9A"``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic

from ..errors import DeviceNotFoundError
from ..transport.backends import BackendSpec
from .fleet import ensure_sensor
from .radio import REASON_REMOTE_USER_TERMINATED, get_radio

__all__ = ["SIM_BACKEND", "BumbleClient", "BumbleScanner", "parse_advertising_data", "uuid_str"]

logger = logging.getLogger(__name__)

#: The ATT MTU the client asks for (the largest most phones and adapters grant).
REQUESTED_MTU = 247

_PROPERTY_NAMES: tuple[tuple[int, str], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)

_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"


def uuid_str(uuid: core.UUID) -> str:
    """Bleak's UUID form: 128-bit, lower case, dashed."""
    raw = uuid.to_bytes(force_128=True)[::-1].hex()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def _uuid_from_le(raw: bytes) -> str:
    if len(raw) in (2, 4):
        return f"{int.from_bytes(raw, 'little'):08x}{_BASE_UUID_TAIL}"
    h = raw[::-1].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_advertising_data(data: bytes, rssi: int) -> AdvertisementData:
    """Decode raw advertising data (AD structures, Core Supplement Part A) for bleak."""
    local_name: str | None = None
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    uuids: list[str] = []
    tx_power: int | None = None
    i = 0
    while i < len(data):
        length = data[i]
        if length == 0 or i + 1 + length > len(data):
            break
        ad_type, value = data[i + 1], bytes(data[i + 2 : i + 1 + length])
        i += 1 + length
        if ad_type in (0x08, 0x09):  # shortened / complete local name
            if ad_type == 0x09 or local_name is None:
                local_name = value.decode("utf-8", "replace")
        elif ad_type in (0x02, 0x03):  # 16-bit service UUIDs
            uuids += [_uuid_from_le(value[k : k + 2]) for k in range(0, len(value) - 1, 2)]
        elif ad_type in (0x04, 0x05):  # 32-bit service UUIDs
            uuids += [_uuid_from_le(value[k : k + 4]) for k in range(0, len(value) - 3, 4)]
        elif ad_type in (0x06, 0x07):  # 128-bit service UUIDs
            uuids += [_uuid_from_le(value[k : k + 16]) for k in range(0, len(value) - 15, 16)]
        elif ad_type == 0x16 and len(value) >= 2:
            service_data[_uuid_from_le(value[:2])] = value[2:]
        elif ad_type == 0x20 and len(value) >= 4:
            service_data[_uuid_from_le(value[:4])] = value[4:]
        elif ad_type == 0x21 and len(value) >= 16:
            service_data[_uuid_from_le(value[:16])] = value[16:]
        elif ad_type == 0xFF and len(value) >= 2:
            manufacturer[int.from_bytes(value[:2], "little")] = value[2:]
        elif ad_type == 0x0A and len(value) == 1:
            tx_power = int.from_bytes(value, "little", signed=True)
    return AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=uuids,
        tx_power=tx_power,
        rssi=rssi,
        platform_data=(data,),
    )


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend listening on the loop's virtual radio.

    Parameters follow :class:`bleak.BleakScanner`; platform arguments (``bluez``,
    ``cb``) are accepted and ignored. Scanning is always active (the emulator
    answers scan requests with the advertising data).
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        bluez: dict[str, Any] | None = None,
        cb: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        del scanning_mode, bluez, cb
        if kwargs:
            raise TypeError(f"unexpected arguments for BumbleScanner: {sorted(kwargs)}")
        self._central: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        radio = get_radio()
        central = await radio.start_scanning()
        central.on(central.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._central = central

    async def stop(self) -> None:
        central, self._central = self._central, None
        if central is None:
            return
        central.remove_listener(central.EVENT_ADVERTISEMENT, self._on_advertisement)
        await get_radio().stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = parse_advertising_data(advertisement.data_bytes, advertisement.rssi)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(False)
        device = self.create_or_update_device(address, address, adv.local_name, advertisement, adv)
        self.call_detection_callbacks(device, adv)


class BumbleClient(BaseBleakClient):
    """bleak client backend talking to a virtual sensor through Bumble's GATT client.

    Parameters follow :class:`bleak.BleakClient`. ``timeout`` (s) bounds the whole
    of :meth:`connect`: link setup, MTU exchange and service discovery.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        services: set[str] | None = None,
        timeout: float = 10.0,
        bluez: dict[str, Any] | None = None,
        winrt: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        del bluez, winrt
        if kwargs:
            raise TypeError(f"unexpected arguments for BumbleClient: {sorted(kwargs)}")
        self.address = self.address.upper()
        self._device_name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnecting = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # ---------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # -------------------------------------------------------------- connection
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"unexpected arguments for connect: {sorted(kwargs)}")
        if self._connection is not None:
            return
        radio = get_radio()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        try:
            connection = await radio.connect(self.address, self._timeout)
        except DeviceNotFoundError:
            raise BleakDeviceNotFoundError(
                self.address, f"device {self.address} was not found"
            ) from None
        self._connection = connection
        self._disconnecting = False
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                await self._peer.request_mtu(REQUESTED_MTU)
                self.services = await self._discover()
                if pair:
                    await self.pair()
        except BaseException:
            if self._connection is not None:
                await self.disconnect()
            raise

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        peer = self._peer
        uuids = [core.UUID(u) for u in self._service_filter] if self._service_filter else []
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services(uuids):
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in await peer.discover_characteristics(service=service):
                props = [name for flag, name in _PROPERTY_NAMES if characteristic.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    uuid_str(characteristic.uuid),
                    props,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in await peer.discover_descriptors(characteristic):
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, uuid_str(descriptor.type), bleak_char
                        )
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        solicited = self._disconnecting
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        logger.debug("virtual link to %s ended, reason 0x%02X", self.address, reason)
        if not solicited and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            await connection.disconnect(REASON_REMOTE_USER_TERMINATED)
        except core.BaseBumbleError as exc:  # already gone (link lost meanwhile)
            logger.debug("disconnect from %s: %s", self.address, exc)
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        connection = self._require_connection()
        try:
            await connection.pair()
        except core.BaseBumbleError as exc:
            raise BleakError(f"pairing with {self.address} failed: {exc}") from exc

    async def unpair(self) -> None:
        radio = get_radio()
        central = await radio.central()
        if central.keystore is not None:
            try:
                await central.keystore.delete(self.address)
            except KeyError:
                pass
        await self.disconnect()

    # ---------------------------------------------------------------------- I/O
    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    def _gatt(self) -> Any:
        return self._require_connection().gatt_client

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(characteristic.handle, use_cached)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(descriptor.handle, use_cached)

    async def _read(self, handle: int, use_cached: bool) -> bytearray:
        gatt = self._gatt()
        if use_cached and handle in gatt.cached_values:
            return bytearray(gatt.cached_values[handle][1])
        try:
            return bytearray(await gatt.read_value(handle))
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        await self._write(characteristic.handle, bytes(data), response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._write(descriptor.handle, bytes(data), True)

    async def _write(self, handle: int, data: bytes, response: bool) -> None:
        try:
            await self._gatt().write_value(handle, data, with_response=response)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        try:
            await self._gatt().subscribe(characteristic.obj, subscriber)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        subscriber = self._subscribers.pop(characteristic.handle, None)
        try:
            await self._gatt().unsubscribe(characteristic.obj, subscriber)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc


#: The ``sim`` source kind of :mod:`motiontrack.transport`: these classes as bleak's backend,
#: with the named virtual sensor started (if none is there) before scanning for it.
#: Registered through the ``motiontrack.transport_backends`` entry point (pyproject.toml).
SIM_BACKEND = BackendSpec(
    scanner=BumbleScanner, client=BumbleClient, prepare=ensure_sensor, target_is_name=True
)
