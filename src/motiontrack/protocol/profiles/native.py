"""The motiontrack protocol itself as a :class:`SensorProfile` (SPEC.md).

Confidence: normative — this is the protocol motiontrack specifies and tests byte for byte
against its C reference. Sequence numbers and device timestamps allow exact loss counting
(:class:`~motiontrack.protocol.reassembly.StreamReassembler`); this per-notification
decoder is for callers that want the common profile interface.
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigurationError
from .. import commands, gatt
from ..config import SensorConfig
from ..gatt import PacketType
from ..packets import decode_data_packet
from .base import ProfileSamples, register_profile


class MotionTrackProfile:
    """Profile of motiontrack sensors; ``config`` (read from CONFIG_UUID) gives the scales."""

    name = "motiontrack"
    service_uuid = gatt.SERVICE_UUID
    notify_uuids = (gatt.DATA_UUID,)
    write_uuid: str | None = gatt.CONTROL_UUID
    name_prefixes = ("motiontrack", "MT")
    has_sequence = True
    has_device_time = True
    confidence = "normative: firmware_protocol/SPEC.md v1.0, vectors and C reference"

    def __init__(self, config: SensorConfig | None = None) -> None:
        self.config = config or SensorConfig()

    def with_config(self, config: SensorConfig) -> MotionTrackProfile:
        if not isinstance(config, SensorConfig):
            raise ConfigurationError("config must be a SensorConfig")
        return MotionTrackProfile(config)

    def start_commands(self, *, sample_rate_hz: float | None = None) -> list[tuple[str, bytes]]:
        out = []
        if sample_rate_hz is not None:
            out.append(
                (gatt.CONTROL_UUID, bytes(commands.set_sample_rate(sample_rate_hz, token=1)))
            )
        out.append((gatt.CONTROL_UUID, bytes(commands.start(mag=self.config.has_mag, token=2))))
        return out

    def stop_commands(self) -> list[tuple[str, bytes]]:
        return [(gatt.CONTROL_UUID, bytes(commands.stop(token=3)))]

    def decode(
        self, data: bytes | bytearray | memoryview, *, characteristic: str | None = None
    ) -> ProfileSamples:
        blk = decode_data_packet(data).to_si(self.config)
        extras = (
            ("sequence", np.array([blk.sequence])),
            ("flags", np.full(blk.n_samples, int(blk.flags), dtype=np.uint8)),
        )
        t = blk.timestamps_us
        if blk.packet_type == PacketType.MAG:
            return ProfileSamples(n=blk.n_samples, device_time_us=t, mag=blk.mag, extras=extras)
        return ProfileSamples(
            n=blk.n_samples, device_time_us=t, acc=blk.acc, gyr=blk.gyr, mag=blk.mag, extras=extras
        )


PROFILE = register_profile(MotionTrackProfile())

__all__ = ["PROFILE", "MotionTrackProfile"]
