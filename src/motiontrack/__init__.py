"""motiontrack: on-device motion tracking for digital physical therapy.

Bluetooth LE IMU sensors (bleak), orientation fusion (numba), sensor-to-segment
calibration, joint angles, repetition counting and range of motion, behind one API.
Frames, units and quaternion order are stated once in :mod:`motiontrack.conventions`.

Importing motiontrack is cheap and compiles nothing: sub-packages load on first use
(``motiontrack.Session`` imports the transport and with it bleak; ``motiontrack.analyze``
does not) and kernels compile on their first call, cached on disk; :func:`warmup` compiles
all of them at once.

The public surface
------------------
================================  =========================================================
``fuse``                          batch orientation (``motiontrack.fusion`` for the filters)
``joint_angles``                  knee/elbow/hip/shoulder/hinge angles from two orientations
``calibrate_joint``               sensor-to-segment calibration (still pose + motion)
``count_reps``, ``RepCounter``    repetitions with ROM, batch and streaming
``Session``, ``SyncSession``      live sessions: sensors -> angles -> reps, typed events
``ExerciseEngine``                the one session engine behind ``Session`` and ``analyze``
``ExerciseSettings``              its settings, the same live and offline
``scan``, ``open_sensors``        Bluetooth LE sensors (``ble:ADDRESS``, ``sim:NAME``)
``analyze``                       offline analysis of a recording (what the CLI runs)
``analyze_many``                  many recordings in parallel on Dask (``motiontrack batch``)
``simulate_knee_session``         synthetic two-sensor knee sessions with ground truth
``warmup``                        compile every kernel now
================================  =========================================================
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import conventions, errors
from ._version import __version__
from .errors import (
    CalibrationError,
    ConfigurationError,
    InputError,
    MotionTrackError,
    ProtocolError,
    TransportError,
)

#: Lazily imported names: attribute -> (module, attribute or None for the module itself).
_LAZY: dict[str, tuple[str, str | None]] = {
    "fusion": (".fusion", None),
    "protocol": (".protocol", None),
    "transport": (".transport", None),
    "virtual": (".virtual", None),
    "simulation": (".simulation", None),
    "calibration": (".calibration", None),
    "kinematics": (".kinematics", None),
    "reps": (".reps", None),
    "exercise": (".exercise", None),
    "session": (".session", None),
    "events": (".events", None),
    "recording": (".recording", None),
    "io": (".io", None),
    "quaternion": (".quaternion", None),  # imports numba: lazy, so the CLI can speak first
    "fuse": (".fusion", "fuse"),
    "joint_angles": (".kinematics", "joint_angles"),
    "JointAngleEstimator": (".kinematics", "JointAngleEstimator"),
    "calibrate_joint": (".kinematics", "calibrate_joint"),
    "SegmentCalibration": (".kinematics", "SegmentCalibration"),
    "count_reps": (".reps", "count_reps"),
    "RepCounter": (".reps", "RepCounter"),
    "Rep": (".reps", "Rep"),
    "Template": (".reps", "Template"),
    "TemplateCounter": (".reps", "TemplateCounter"),
    "template_analysis": (".template_analysis", None),
    "summarize": (".reps", "summarize"),
    "SensorCalibration": (".calibration", "SensorCalibration"),
    "ExerciseEngine": (".exercise", "ExerciseEngine"),
    "ExerciseSettings": (".exercise", "ExerciseSettings"),
    "Session": (".session", "Session"),
    "SyncSession": (".session", "SyncSession"),
    "scan": (".transport", "scan"),
    "open_sensors": (".transport", "open_sensors"),
    "analyze": (".analysis", "analyze"),
    "analyze_many": (".batch", "analyze_many"),
    "simulate_knee_session": (".simulation", "simulate_knee_session"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'motiontrack' has no attribute {name!r}") from None
    mod = importlib.import_module(module, __name__)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def warmup() -> float:
    """Compile (or load from the on-disk cache) every kernel now, so the first live sample
    is not delayed by compilation. Returns the seconds it took."""
    total = 0.0
    for name in ("fusion", "kinematics", "reps"):
        total += importlib.import_module(f".{name}", __name__).warmup()
    return total


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from . import (
        calibration,
        events,
        exercise,
        fusion,
        io,
        kinematics,
        protocol,
        quaternion,
        recording,
        reps,
        session,
        simulation,
        template_analysis,
        transport,
        virtual,
    )
    from .analysis import analyze
    from .batch import analyze_many
    from .calibration import SensorCalibration
    from .exercise import ExerciseEngine, ExerciseSettings
    from .fusion import fuse
    from .kinematics import JointAngleEstimator, SegmentCalibration, calibrate_joint, joint_angles
    from .reps import Rep, RepCounter, Template, TemplateCounter, count_reps, summarize
    from .session import Session, SyncSession
    from .simulation import simulate_knee_session
    from .transport import open_sensors, scan

#: The public names, the lazy ones (``_LAZY``) included (``tests/test_layers.py`` checks).
__all__ = [
    "CalibrationError",
    "ConfigurationError",
    "ExerciseEngine",
    "ExerciseSettings",
    "InputError",
    "JointAngleEstimator",
    "MotionTrackError",
    "ProtocolError",
    "Rep",
    "RepCounter",
    "Template",
    "TemplateCounter",
    "SegmentCalibration",
    "SensorCalibration",
    "Session",
    "SyncSession",
    "TransportError",
    "__version__",
    "analyze",
    "analyze_many",
    "calibrate_joint",
    "calibration",
    "conventions",
    "count_reps",
    "errors",
    "events",
    "exercise",
    "fuse",
    "fusion",
    "io",
    "joint_angles",
    "kinematics",
    "open_sensors",
    "protocol",
    "quaternion",
    "recording",
    "reps",
    "scan",
    "session",
    "simulate_knee_session",
    "simulation",
    "summarize",
    "template_analysis",
    "transport",
    "virtual",
    "warmup",
]
