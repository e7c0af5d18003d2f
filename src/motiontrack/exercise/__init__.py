"""The exercise-session core: one engine for live sessions and offline analysis.

:class:`ExerciseEngine` takes the samples of one or two sensors and gives session events
(:mod:`motiontrack.events`): the session protocol's prompts, the calibration, joint angles,
repetitions, gaps. :class:`motiontrack.Session` feeds it live, block by block as the
notifications arrive; :func:`motiontrack.analyze` feeds it a whole recording. The engine's
output does not depend on how the samples were cut into blocks, so the two agree.

Layers
------
A module imports only its own package and the packages of its layer or of the layers
above it in this order (``tests/test_layers.py`` reads every import and checks it;
imports under ``if TYPE_CHECKING:`` are not checked). No module imports a ``motiontrack``
module inside a function: an import cycle is fixed by moving code, not by hiding the
import; a lazy import is only for an optional or slow outside dependency, and says why::

    conventions, errors, events, _version, checks, _progress, _optional
                                                 leaves; checks: input units, time axes;
                                                 _progress: the progress bar; _optional:
                                                 optional dependencies (pandas, dask, ...)
    _kernels, quaternion                         numba code; quaternion wraps the kernels
    protocol                                     bytes <-> samples, clock fits
    recording, io                                files (OpenSim files hold quaternions)
    transport                                    sources: bleak links, replays (backends
                                                 such as the virtual sensors register
                                                 themselves)
    fusion, calibration                          orientation filters, sensor calibration
    kinematics                                   segment calibration, joint angles
    reps                                         repetition counting
    exercise                                     this package: the session core
    session, analysis, report, template_analysis, batch
                                                 the live and offline drivers (batch: many
                                                 recordings on Dask)
    simulation, virtual                          test doubles: simulated bodies and sensors
    cli, bench, demo, __main__, motiontrack      command line, firmware test bench, the
                                                 package root (``motiontrack/__init__.py``)

Nothing below ``simulation, virtual`` imports them.

Inside this package: ``settings`` and ``posture`` (what the protocol is), ``timebase`` and
``streams`` (one sensor: time, resampling, gaps, fusion), ``pairing`` (two sensors on one
time axis), ``calibrator`` (the calibration step), ``counting`` (angles, reps, extremes),
``engine`` (the state machine that wires them), ``roles`` (which sensor is which),
``verdicts`` (clipped sensors, an impossible rest), ``snapshot`` (its saved state);
``regions`` (the body regions as data: presets, calibration poses, the placement check),
``region_counter`` (a body region's calibration, angles and reps, wired in by ``engine``) and
``motion_calibrator`` (a generic hinge calibrated from motion alone).
"""

from ..conventions import JOINT_CHOICES
from .engine import ExerciseEngine, exercise_names
from .posture import EXERCISE_POSES, NOMINAL_DEG, detect_start_pose, quiet_mask, quiet_runs
from .settings import HINGE_JOINTS, PRIMARY_ANGLE, SEGMENT_ANGLE, ExerciseSettings

__all__ = [
    "EXERCISE_POSES",
    "HINGE_JOINTS",
    "JOINT_CHOICES",
    "NOMINAL_DEG",
    "PRIMARY_ANGLE",
    "SEGMENT_ANGLE",
    "ExerciseEngine",
    "ExerciseSettings",
    "detect_start_pose",
    "exercise_names",
    "quiet_mask",
    "quiet_runs",
]
