"""GATT server of the virtual sensor firmware: services, advertising data, notifications."""

from __future__ import annotations

import logging

from bumble import att
from bumble.core import UUID, AdvertisingData
from bumble.gatt import Characteristic, CharacteristicValue, Service

from .. import protocol
from ..protocol import gatt as uuids

__all__ = ["GattServer"]

logger = logging.getLogger(__name__)

_ATT_HANDLE_VALUE_NOTIFICATION = 0x1B


class GattServer:
    """GATT services, advertising and notifications of :class:`~.sensor.VirtualSensor`.

    A part of ``VirtualSensor`` (a mixin): it works on the state that
    ``VirtualSensor.__init__`` sets up.
    """

    # ------------------------------------------------------------------ GATT
    def _build_gatt(self) -> None:
        props = Characteristic.Properties
        readable = Characteristic.Permissions.READABLE
        writable = Characteristic.Permissions.WRITEABLE
        self._data_char = Characteristic(uuids.DATA_UUID, props.NOTIFY, readable, b"")
        self._control_char = Characteristic(
            uuids.CONTROL_UUID,
            props.WRITE | props.NOTIFY,
            readable | writable,
            CharacteristicValue(write=self._on_control_write),
        )
        self._status_char = Characteristic(
            uuids.STATUS_UUID,
            props.READ | props.NOTIFY,
            readable,
            CharacteristicValue(read=lambda _c: self._status_bytes()),
        )
        self._config_char = Characteristic(
            uuids.CONFIG_UUID,
            props.READ,
            readable,
            CharacteristicValue(read=lambda _c: protocol.encode_config(self.config)),
        )
        self._battery_char = Characteristic(
            uuids.BATTERY_LEVEL_UUID,
            props.READ | props.NOTIFY,
            readable,
            CharacteristicValue(read=lambda _c: bytes([self.battery_percent])),
        )

        def info(uuid: str, text: str) -> Characteristic[bytes]:
            return Characteristic(uuid, props.READ, readable, text.encode())

        self._device.add_services(
            [
                Service(
                    uuids.SERVICE_UUID,
                    [self._data_char, self._control_char, self._status_char, self._config_char],
                ),
                Service(
                    uuids.DEVICE_INFORMATION_SERVICE_UUID,
                    [
                        info(uuids.MANUFACTURER_NAME_UUID, "motiontrack"),
                        info(uuids.MODEL_NUMBER_UUID, "MT-IMU-VIRTUAL"),
                        info(uuids.SERIAL_NUMBER_UUID, self.config.serial),
                        info(uuids.HARDWARE_REVISION_UUID, "virtual-1"),
                        info(
                            uuids.FIRMWARE_REVISION_UUID,
                            f"{uuids.PROTOCOL_MAJOR}.{uuids.PROTOCOL_MINOR}.0-virtual",
                        ),
                    ],
                ),
                Service(uuids.BATTERY_SERVICE_UUID, [self._battery_char]),
            ]
        )
        self._device.on(self._device.EVENT_CONNECTION, self._on_connection)

    def advertising_data(self) -> bytes:
        """Flags, the 128-bit service UUID, the name, and the battery level if room is left.

        Scan responses are not emulated, so everything must fit 31 bytes; a name too
        long for the room left is sent shortened (AD type 0x08).
        """
        flags = (AdvertisingData.FLAGS, bytes([0x06]))  # LE general discoverable, no BR/EDR
        service = (
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            UUID(uuids.SERVICE_UUID).to_bytes(),
        )
        name = self.settings.name.encode()
        room = 31 - 3 - 18 - 2
        structures = [flags, service]
        if len(name) > room:
            structures.append((AdvertisingData.SHORTENED_LOCAL_NAME, name[:room]))
        else:
            structures.append((AdvertisingData.COMPLETE_LOCAL_NAME, name))
            if room - len(name) >= 5:  # 16-bit service data: Battery Service -> level
                structures.append(
                    (
                        AdvertisingData.SERVICE_DATA_16_BIT_UUID,
                        UUID.from_16_bits(0x180F).to_bytes() + bytes([self.battery_percent]),
                    )
                )
        data = bytes(AdvertisingData(structures))
        assert len(data) <= 31  # by construction above
        return data

    # --------------------------------------------------------------- notify
    def _subscribed(self, characteristic: Characteristic) -> bool:
        connection = self._connection
        if connection is None:
            return False
        cccds = self._device.gatt_server.subscribers.get(connection)
        if not cccds:
            return False
        cccd = cccds.get(characteristic.handle)
        return bool(cccd) and len(cccd) == 2 and bool(cccd[0] & 0x01)

    def _notify(self, characteristic: Characteristic, value: bytes) -> bool:
        """Send a notification if subscribed and the device queue has room.

        Truncates to ATT_MTU - 3 like every GATT server does.
        """
        connection = self._connection
        if connection is None or not self._subscribed(characteristic):
            return False
        if connection.peer_address not in self._controller.le_connections:
            return False  # the link is gone; the host has not processed the event yet
        host_queue = self._device.host.le_acl_packet_queue
        if host_queue is not None and host_queue.pending >= self.settings.notify_queue_packets:
            self.error_flags |= protocol.ErrorFlags.NOTIFY_QUEUE_FULL
            return False
        value = value[: connection.att_mtu - 3]
        pdu = bytes([_ATT_HANDLE_VALUE_NOTIFICATION]) + characteristic.handle.to_bytes(2, "little")
        self._device.send_l2cap_pdu(connection.handle, att.ATT_CID, pdu + value)
        return True

    def _status(self) -> protocol.Status:
        flags = self.error_flags
        if self.battery_percent < 10:
            flags |= protocol.ErrorFlags.LOW_BATTERY
        if not self._clock_synced:
            flags |= protocol.ErrorFlags.CLOCK_UNSYNCED
        dropped = (self.counters.packets_unsent + self.counters.packets_lost_air) & 0xFFFF
        return protocol.Status(
            state=protocol.StreamState.STREAMING
            if self.is_streaming
            else protocol.StreamState.IDLE,
            battery_percent=self.battery_percent,
            temperature_c=self.temperature_c,
            battery_mv=int(3300 + 9 * self.battery_percent),
            error_flags=flags,
            device_dropped=dropped,
        )

    def _status_bytes(self) -> bytes:
        return protocol.encode_status(self._status())

    def notify_status(self) -> None:
        """Push the status characteristic (and battery level) to a subscribed host."""
        self._notify(self._status_char, self._status_bytes())
        self._notify(self._battery_char, bytes([self.battery_percent]))
