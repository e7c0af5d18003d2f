"""Motion simulator: synthetic IMU sessions with ground truth, for tests, demos and the
virtual sensor.

>>> from motiontrack.simulation import simulate_knee_session
>>> s = simulate_knee_session("squat", reps=3, seed=1)
>>> sorted(s.sensors)
['shank', 'thigh']
>>> len(s.truth.reps)
3

Frames and units follow :mod:`motiontrack.conventions`; the knee model and the segment frames
are described in :mod:`motiontrack.simulation.knee`, the sensor physics in
:mod:`motiontrack.simulation.imu`.
"""

from __future__ import annotations

from .imu import (
    EARTH_FIELD_INCLINATION_DEG,
    EARTH_FIELD_UT,
    ImuErrorModel,
    SimulatedImu,
    earth_field,
    synthesize_imu,
)
from .calibration_motions import (
    SimulatedRecording,
    random_distortion,
    simulate_magnetometer_rotation,
    simulate_rest,
    simulate_six_face,
)
from .chain import ChainTruth, SimulatedChain, simulate_hinge_chain
from .knee import EXERCISES, KneeTruth, SimulatedSession, TrueRep, simulate_knee_session
from .live import LiveClocks, write_live_recording

__all__ = [
    "EARTH_FIELD_INCLINATION_DEG",
    "EARTH_FIELD_UT",
    "EXERCISES",
    "ChainTruth",
    "ImuErrorModel",
    "KneeTruth",
    "LiveClocks",
    "SimulatedChain",
    "SimulatedImu",
    "SimulatedRecording",
    "SimulatedSession",
    "TrueRep",
    "earth_field",
    "random_distortion",
    "simulate_hinge_chain",
    "simulate_knee_session",
    "simulate_magnetometer_rotation",
    "simulate_rest",
    "simulate_six_face",
    "synthesize_imu",
    "write_live_recording",
]
