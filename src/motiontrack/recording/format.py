"""The native recording format ``.mtrec``, version 1 (see ``docs/recording-format.md``).

Layout::

    file    := MAGIC (8 bytes) VERSION_MAJOR (u8) VERSION_MINOR (u8) reserved (u16 = 0)
               record*
    record  := SYNC (2 bytes, A5 5A) type (u8) length (u32 LE) payload (length bytes)
               crc32 (u32 LE, zlib CRC-32 of type, length and payload bytes)

Append-only: a writer only ever adds whole records at the end. Every record is checked on
its own (CRC-32), and starts with a sync marker, so a reader that meets a damaged record can
skip to the next marker and keep every record that checks out.
"""

from __future__ import annotations

import enum
import struct
import zlib

MAGIC = b"MTREC\r\n\x1a"  # \r\n catches text-mode conversion, \x1a stops `type` on Windows
VERSION_MAJOR = 1
VERSION_MINOR = 0
FILE_HEADER = struct.Struct("<8sBBH")
SYNC = b"\xa5\x5a"
RECORD_HEADER = struct.Struct("<2sBI")  # sync, type, payload length
CRC = struct.Struct("<I")
#: Refuse records larger than this (a corrupt length field must not allocate gigabytes).
MAX_PAYLOAD = 64 * 1024 * 1024

# Payload layouts (little-endian).
PACKET_HEAD = struct.Struct("<Hd")  # sensor id, host arrival time (s since start)
SAMPLES_HEAD = struct.Struct("<HdIB")  # sensor id, host time (s), n samples, n columns (6 | 9)


class RecordType(enum.IntEnum):
    """Record types of format version 1."""

    META = 1  # JSON: format, created (ISO 8601 UTC), software version, free-form fields
    SENSOR = 2  # JSON: {"id", "name", "fs", "address", "config_hex", "has_mag", ...}
    PACKET = 3  # PACKET_HEAD + raw notification bytes
    SAMPLES = 4  # SAMPLES_HEAD + float64 t (n) + float64 data (n x ncols, row-major)
    CALIBRATION = 5  # JSON: {"kind", "sensor" | "joint", ...}
    EVENT = 6  # JSON: {"type", "t", ...}
    END = 7  # JSON: clean close, with counts


def file_header() -> bytes:
    return FILE_HEADER.pack(MAGIC, VERSION_MAJOR, VERSION_MINOR, 0)


def encode_record(rtype: int, payload: bytes) -> bytes:
    head = RECORD_HEADER.pack(SYNC, int(rtype), len(payload))
    crc = zlib.crc32(head[2:])
    crc = zlib.crc32(payload, crc)
    return head + payload + CRC.pack(crc)
