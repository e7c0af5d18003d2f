"""Repetition counting: streaming :class:`RepCounter`, batch :func:`count_reps`, summaries.

From a joint angle (two sensors) or from one sensor alone (its dominant rotation axis is
found automatically, so one wearable is enough). No per-user tuning: thresholds adapt to the
running ROM of the set and to the noise; exercise presets (:data:`PRESETS`) set the
direction and the tempo flags. See ``motiontrack._kernels.reps`` for the method.

>>> import numpy as np
>>> from motiontrack.reps import RepCounter, count_reps, summarize
>>> fs = 50.0
>>> t = np.arange(0, 40, 1 / fs)
>>> flexion = 90 - 40 * (1 - np.cos(2 * np.pi * np.clip(t - 2, 0, 32) / 4))  # 8 extensions
>>> reps = count_reps(flexion, fs=fs, preset="knee_extension")
>>> len(reps), round(reps[0].rom_deg), round(reps[0].peak_deg)
(8, 80, 10)
>>> counter = RepCounter(fs=fs, preset="knee_extension")       # live: feed each BLE packet
>>> live = [r for block in np.array_split(flexion, 97) for r in counter.update(block)]
>>> live == reps
True
>>> summary = summarize(reps)
>>> summary.n_reps, round(summary.rom_mean_deg), round(summary.cadence_mean_s, 1)
(8, 80, 4.0)

Single sensor: ``count_reps(gyroscope=gyr, accelerometer=acc, fs=fs, preset=...)`` or
``RepCounter(fs=fs, mode="imu").update(gyr_block, acc_block)``.
"""

import time

import numpy as np

from .._kernels import template_frame as _template_frame
from ._counter import (
    RejectedCandidate,
    RejectReason,
    Rep,
    RepCounter,
    RepDiagnostics,
    RepFlags,
    RepResult,
    count_reps,
)
from ._settings import PRESETS, RepSettings
from ._template import Template, TemplateError, TemplateSettings, angle_features, imu_features
from ._template_counter import TemplateCounter, TemplateRep, detect_template_reps
from .summary import SessionSummary, SetSummary, summarize, summarize_session


def warmup() -> float:
    """Compile (or load from the cache) the rep kernels; returns the seconds it took."""
    t0 = time.perf_counter()
    RepCounter(fs=50.0).update(np.zeros(3))
    counter = RepCounter(fs=50.0, mode="imu")
    counter.update(np.zeros((3, 3)), np.tile([0.0, 0.0, 9.81], (3, 1)))
    counter.flush()
    warmup_templates()
    return time.perf_counter() - t0


def warmup_templates() -> None:
    """Compile (or load from the cache) the template-matching kernel."""
    x = np.linspace(0.0, 1.0, 8) * np.linspace(1.0, 0.0, 8) * 200.0
    tpl = Template(label="warmup", source={"kind": "angle"}, examples=[np.radians(x)[:, None]])
    TemplateCounter(tpl, fs=50.0).update(angle_deg=np.zeros(4))
    imu = Template(label="warmup", source={"kind": "imu", "segments": ["s"]},
                   examples=[np.column_stack([x, x]) / 100.0])
    TemplateCounter(imu, fs=50.0).update(imu={"s": (np.zeros((4, 3)), np.tile([0.0, 0.0, 9.81], (4, 1)))})
    y = np.zeros((3, 6))  # the re-strap estimate's DTW (frame "aligned")
    _template_frame.subsequence_dtw(np.zeros((4, 6)), y, np.empty((4, 3)), np.empty(7, np.int64),
                                    np.empty(7, np.int64))


__all__ = [
    "PRESETS",
    "RejectReason",
    "RejectedCandidate",
    "Rep",
    "RepCounter",
    "RepDiagnostics",
    "RepFlags",
    "RepResult",
    "RepSettings",
    "SessionSummary",
    "SetSummary",
    "Template",
    "TemplateCounter",
    "TemplateError",
    "TemplateRep",
    "TemplateSettings",
    "angle_features",
    "detect_template_reps",
    "imu_features",
    "count_reps",
    "summarize",
    "summarize_session",
    "warmup",
    "warmup_templates",
]
