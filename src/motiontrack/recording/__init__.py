"""Native recordings (``.mtrec``): documented, versioned, append-only and crash-safe.

Write with :class:`RecordingWriter`, read with :func:`read_recording` (or
:func:`motiontrack.io.load`, which also reads CSV). The format is described in
``docs/recording-format.md`` and :mod:`motiontrack.recording.format`.
"""

from __future__ import annotations

from .format import MAGIC, VERSION_MAJOR, VERSION_MINOR, RecordType
from .model import Gap, RawPacket, Recording, SensorSamples, find_gaps
from .reader import is_mtrec, read_recording
from .writer import RecordingWriter

__all__ = [
    "MAGIC",
    "VERSION_MAJOR",
    "VERSION_MINOR",
    "Gap",
    "RawPacket",
    "RecordType",
    "Recording",
    "RecordingWriter",
    "SensorSamples",
    "find_gaps",
    "is_mtrec",
    "read_recording",
]
