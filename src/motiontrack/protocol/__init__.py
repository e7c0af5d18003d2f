"""Wire protocol of motiontrack sensors: bytes in, frozen dataclasses / numpy arrays out.

The normative description is ``firmware_protocol/SPEC.md``; section numbers below refer
to it. This package is pure: no Bluetooth, no asyncio, no numba. Raw counts exist only
here; everything it returns is in the SI units of :mod:`motiontrack.conventions`.

Encoding (what a firmware, or the virtual sensor, sends)::

    from motiontrack.protocol import SensorConfig, encode_data_packet, encode_config
    cfg = SensorConfig(sample_rate_hz=100.0, acc_range_g=16, gyr_range_dps=2000,
                       mag_range_ut=4900, mag_rate_hz=0.0, serial="MT000001")
    config_bytes = encode_config(cfg)               # value of the CONFIG characteristic
    payload = encode_data_packet(sequence=seq, timestamp_us=t_us,
                                 acc=acc_n3_mps2, gyr=gyr_n3_rads, config=cfg)
    # 8 + 12*n bytes; n=1 fits the default 20-byte payload, n<=19 fits 244 bytes.
    # mag=mag_n3_uT makes 9-axis samples (18 bytes); at a 20-byte payload send 6-axis
    # DATA plus encode_mag_packet(...) instead (SPEC §5).

Decoding (what the host does)::

    from motiontrack.protocol import decode_config, decode_data_packet, decode_samples
    cfg = decode_config(config_bytes)
    pkt = decode_data_packet(payload)     # DataPacket: .sequence, .timestamp_us, .flags, .counts
    blk = pkt.to_si(cfg)                  # SampleBlock: .acc (n,3) m/s², .gyr rad/s, .mag µT|None
    blk.flags & DataFlags.ACC_SATURATED   # saturation and MAG_PRESENT surface here

Every decoder raises only :class:`motiontrack.errors.ProtocolError` with a stable
``.code`` (``truncated``, ``version``, ``packet_type``, ``too_long``, ``empty``, ``length``,
``value``, ``opcode``; profiles add ``sync`` and ``unsupported``) for bad input, never
another exception (fuzzed: ``benchmarks/protocol_fuzz.py``).

Commands (SPEC §7)::

    from motiontrack.protocol import commands, decode_response
    payload = bytes(commands.set_sample_rate(200.0, token=7))   # write to CONTROL_UUID
    resp = decode_response(notification)   # Response: .opcode .token .result .ok, resp["sample_rate_mhz"]
    cmd = commands.decode_command(written)  # device side: Command .opcode .token, cmd["options"]

Many packets, one sensor stream (SPEC §10)::

    from motiontrack.protocol import StreamReassembler, ClockSync, decode_batch
    batch = decode_batch(list_of_payloads, cfg)     # vectorised, arrays in input order
    r = StreamReassembler(cfg)                      # order, duplicates, loss, wrap
    chunk = r.push(payload, host_time_s=t)          # StreamChunk: device_time_us, acc, gyr, gaps
    sync = ClockSync(); sync.update(*chunk.packet_times.T)
    host_s = sync.to_host(chunk.device_time_us)     # device µs -> host s
    # SharedTimeBase keeps one ClockSync per sensor: all sensors on one host time base.

Third-party sensors (WitMotion, Movella DOT) are in :mod:`motiontrack.protocol.profiles`.

GATT constants are in :mod:`motiontrack.protocol.gatt` (``SERVICE_UUID``, ``DATA_UUID``,
``CONTROL_UUID``, ``STATUS_UUID``, ``CONFIG_UUID``).
"""

from __future__ import annotations

from . import commands, gatt, profiles
from .arrival import ArrivalSequencer
from .batch import DecodedBatch, decode_batch
from .clock import ClockEstimate, ClockSync, ClockSyncSettings, SharedTimeBase, time_sync_offset
from .commands import (
    Command,
    Opcode,
    Response,
    ResultCode,
    decode_command,
    decode_response,
    encode_command,
    encode_response,
)
from .config import (
    Capabilities,
    ErrorFlags,
    SensorConfig,
    Status,
    StreamState,
    decode_config,
    decode_status,
    encode_config,
    encode_status,
)
from .gatt import (
    CONFIG_UUID,
    CONTROL_UUID,
    DATA_UUID,
    PROTOCOL_MAJOR,
    PROTOCOL_MINOR,
    SERVICE_UUID,
    STATUS_UUID,
    PacketType,
)
from .packets import (
    DataFlags,
    DataPacket,
    SampleBlock,
    decode_data_packet,
    decode_samples,
    encode_data_packet,
    encode_mag_packet,
    max_samples,
)
from .reassembly import Gap, ReassemblySettings, ReassemblyStats, StreamChunk, StreamReassembler

__all__ = [
    "CONFIG_UUID",
    "CONTROL_UUID",
    "DATA_UUID",
    "PROTOCOL_MAJOR",
    "PROTOCOL_MINOR",
    "SERVICE_UUID",
    "STATUS_UUID",
    "SharedTimeBase",
    "ArrivalSequencer",
    "Capabilities",
    "ClockEstimate",
    "ClockSync",
    "ClockSyncSettings",
    "Command",
    "DataFlags",
    "DataPacket",
    "DecodedBatch",
    "ErrorFlags",
    "Gap",
    "Opcode",
    "PacketType",
    "ReassemblySettings",
    "ReassemblyStats",
    "Response",
    "ResultCode",
    "SampleBlock",
    "SensorConfig",
    "Status",
    "StreamChunk",
    "StreamReassembler",
    "StreamState",
    "commands",
    "decode_batch",
    "decode_command",
    "decode_config",
    "decode_data_packet",
    "decode_response",
    "decode_samples",
    "decode_status",
    "encode_command",
    "encode_config",
    "encode_data_packet",
    "encode_mag_packet",
    "encode_response",
    "encode_status",
    "gatt",
    "max_samples",
    "profiles",
    "time_sync_offset",
]
