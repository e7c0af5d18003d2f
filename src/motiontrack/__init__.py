"""motiontrack: on-device motion tracking for digital physical therapy.

Bluetooth LE IMU sensors (bleak), orientation fusion (numba), sensor-to-segment
calibration, joint angles, repetition counting and range of motion, behind one API.
Frames, units and quaternion order are stated once in :mod:`motiontrack.conventions`.

Importing motiontrack compiles nothing: kernels compile on first use (and are cached on
disk), or all at once with :func:`warmup`.
"""

from __future__ import annotations

from . import conventions, errors, fusion, quaternion
from .errors import (
    CalibrationError,
    ConfigurationError,
    InputError,
    MotionTrackError,
    ProtocolError,
    TransportError,
)

from .fusion import fuse

__version__ = "0.1.0.dev0"


def warmup() -> float:
    """Compile (or load from the on-disk cache) every kernel now, so the first live sample
    is not delayed by compilation. Returns the seconds it took."""
    return fusion.warmup()


__all__ = [
    "CalibrationError",
    "ConfigurationError",
    "InputError",
    "MotionTrackError",
    "ProtocolError",
    "TransportError",
    "__version__",
    "conventions",
    "errors",
    "fuse",
    "fusion",
    "quaternion",
    "warmup",
]
