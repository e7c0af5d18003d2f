"""GATT identifiers and protocol version of the motiontrack sensor service.

See firmware_protocol/SPEC.md §2 (GATT) and §3 (header byte). The values are fixed by
``/work/briefs/interfaces.md`` and must never change within protocol major version 1.
"""

from __future__ import annotations

import enum

#: Protocol major version carried in the high nibble of byte 0 of every packet.
PROTOCOL_MAJOR = 1
#: Protocol minor version reported in the config characteristic (additions only).
PROTOCOL_MINOR = 0

#: 128-bit base: ``6d74XXXX-0b5e-4c3a-9f10-6d6f74726b00`` ("mt" ... "motrk").
BASE_UUID = "6d74{:04x}-0b5e-4c3a-9f10-6d6f74726b00"


def mt_uuid(short: int) -> str:
    """Expand a 16-bit part into the motiontrack 128-bit UUID (lower case)."""
    return BASE_UUID.format(short)


SERVICE_UUID = mt_uuid(0x0001)
#: notify: DATA and MAG packets (SPEC §4, §5)
DATA_UUID = mt_uuid(0x0002)
#: write with response: commands; notify: responses (SPEC §7)
CONTROL_UUID = mt_uuid(0x0003)
#: read + notify: status packet (SPEC §8)
STATUS_UUID = mt_uuid(0x0004)
#: read: config/info packet (SPEC §6)
CONFIG_UUID = mt_uuid(0x0005)


def sig_uuid(short: int) -> str:
    """Expand a Bluetooth SIG 16-bit UUID onto the SIG base UUID."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


DEVICE_INFORMATION_SERVICE_UUID = sig_uuid(0x180A)
MANUFACTURER_NAME_UUID = sig_uuid(0x2A29)
MODEL_NUMBER_UUID = sig_uuid(0x2A24)
SERIAL_NUMBER_UUID = sig_uuid(0x2A25)
HARDWARE_REVISION_UUID = sig_uuid(0x2A27)
FIRMWARE_REVISION_UUID = sig_uuid(0x2A26)
BATTERY_SERVICE_UUID = sig_uuid(0x180F)
BATTERY_LEVEL_UUID = sig_uuid(0x2A19)

#: Default ATT MTU is 23, so a notification carries at most 20 bytes of payload.
DEFAULT_PAYLOAD = 20
#: At ATT MTU 247 (LE Data Length Extension sized) a notification carries 244 bytes.
MAX_PAYLOAD_DLE = 244
#: Largest payload any decoder accepts (ATT_MTU max 517 - 3).
MAX_PAYLOAD = 514


class PacketType(enum.IntEnum):
    """Low nibble of byte 0 (SPEC §3)."""

    DATA = 0x1  # acc+gyr[+mag] samples, data characteristic
    MAG = 0x2  # magnetometer-only samples, data characteristic
    COMMAND = 0x3  # host -> device, control characteristic
    STATUS = 0x4  # status characteristic
    CONFIG = 0x5  # config/info characteristic
    RESPONSE = 0x6  # device -> host, notified on the control characteristic


def header_byte(packet_type: PacketType | int, major: int = PROTOCOL_MAJOR) -> int:
    """Byte 0 of a packet: ``major << 4 | packet_type``."""
    return ((major & 0xF) << 4) | (int(packet_type) & 0xF)


__all__ = [
    "BASE_UUID",
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "CONFIG_UUID",
    "CONTROL_UUID",
    "DATA_UUID",
    "DEFAULT_PAYLOAD",
    "DEVICE_INFORMATION_SERVICE_UUID",
    "FIRMWARE_REVISION_UUID",
    "HARDWARE_REVISION_UUID",
    "MANUFACTURER_NAME_UUID",
    "MAX_PAYLOAD",
    "MAX_PAYLOAD_DLE",
    "MODEL_NUMBER_UUID",
    "PROTOCOL_MAJOR",
    "PROTOCOL_MINOR",
    "SERIAL_NUMBER_UUID",
    "SERVICE_UUID",
    "STATUS_UUID",
    "PacketType",
    "header_byte",
    "mt_uuid",
    "sig_uuid",
]
