"""The exception and warning hierarchy of motiontrack.

::

    MotionTrackError
    ├── ConfigurationError(MotionTrackError, ValueError)   bad settings
    ├── InputError(MotionTrackError, ValueError)           bad arrays: shape, dtype, rate
    ├── ProtocolError(MotionTrackError, ValueError)        malformed packet, version
    ├── TransportError
    │   ├── DeviceNotFoundError                            .identifier
    │   ├── BluetoothUnavailableError                      .reason
    │   └── ConnectionLostError                            .identifier
    ├── CalibrationError                                   calibration impossible
    └── RecordingError(MotionTrackError, OSError)           unreadable recording
        └── CorruptRecordingError                          .recovered

Dual inheritance lets callers catch ours or the builtin. Never ``assert`` on user input.
Dropped, duplicated or reordered packets and NaN samples are *counted* in diagnostics,
not raised.
"""

from __future__ import annotations

import enum
from typing import Any


class MotionTrackError(Exception):
    """Base class of every error motiontrack raises on purpose."""


class ConfigurationError(MotionTrackError, ValueError):
    """A setting is out of range, of the wrong type, or unknown."""


class InputError(MotionTrackError, ValueError):
    """Sensor arrays of the wrong shape or dtype, a non-positive sample rate, ..."""


class ProtocolError(MotionTrackError, ValueError):
    """A packet that cannot be decoded (length, version, packet type, field range).

    ``code`` is a short stable identifier (e.g. ``"truncated"``) used by the test
    vectors in ``firmware_protocol/vectors``.
    """

    def __init__(self, message: str, *, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


class TransportError(MotionTrackError):
    """Connecting to or streaming from a sensor failed."""


class DeviceNotFoundError(TransportError):
    """No sensor answered to ``identifier`` (an address or a name) in time."""

    def __init__(self, identifier: str, message: str | None = None) -> None:
        super().__init__(message or f"sensor {identifier!r} was not found")
        self.identifier = identifier


class BluetoothUnavailableReason(enum.Enum):
    NO_ADAPTER = "no Bluetooth adapter"
    POWERED_OFF = "Bluetooth is powered off"
    UNAUTHORIZED = "the app is not allowed to use Bluetooth"
    UNKNOWN = "unknown"


class BluetoothUnavailableError(TransportError):
    """The host has no usable Bluetooth stack; ``reason`` says why."""

    def __init__(
        self, reason: BluetoothUnavailableReason = BluetoothUnavailableReason.UNKNOWN, detail: str = ""
    ) -> None:
        super().__init__(f"Bluetooth unavailable: {reason.value}" + (f" ({detail})" if detail else ""))
        self.reason = reason


class ConnectionLostError(TransportError):
    """A link dropped and could not be re-established within the retry budget."""

    def __init__(self, identifier: str, message: str | None = None) -> None:
        super().__init__(message or f"lost the connection to {identifier!r}")
        self.identifier = identifier


class CalibrationError(MotionTrackError):
    """A calibration cannot be computed from the data given (not still, not informative)."""


class RecordingError(MotionTrackError, OSError):
    """A recording cannot be read or written."""


class CorruptRecordingError(RecordingError):
    """A recording is truncated or corrupted; ``recovered`` holds what could be read."""

    def __init__(self, message: str, recovered: Any = None) -> None:
        super().__init__(message)
        self.recovered = recovered


class MotionTrackWarning(UserWarning):
    """Base class of motiontrack warnings (data quality, weak calibration, ...)."""


class DataQualityWarning(MotionTrackWarning):
    """Input data was usable but suspicious: gaps, saturation, clock jumps."""


class CalibrationWarning(MotionTrackWarning):
    """A calibration was computed but its confidence is low."""


__all__ = [
    "BluetoothUnavailableError",
    "BluetoothUnavailableReason",
    "CalibrationError",
    "CalibrationWarning",
    "ConfigurationError",
    "ConnectionLostError",
    "CorruptRecordingError",
    "DataQualityWarning",
    "DeviceNotFoundError",
    "InputError",
    "MotionTrackError",
    "MotionTrackWarning",
    "ProtocolError",
    "RecordingError",
    "TransportError",
]


class MissingDependencyError(MotionTrackError, ImportError):
    """An optional dependency is not installed; the message names the extra to install
    (``pip install "motiontrack[pandas]"``, ...)."""
