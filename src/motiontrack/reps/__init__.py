"""Repetition counting: streaming :class:`RepCounter`, batch :func:`count_reps`, summaries.

From a joint angle (two sensors) or from one sensor alone (its dominant rotation axis is
found automatically). See ``motiontrack._kernels.reps`` for the method.
"""

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
from .summary import SessionSummary, SetSummary, summarize, summarize_session

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
    "count_reps",
    "summarize",
    "summarize_session",
]
