"""Live sessions: the exercise engine (:mod:`motiontrack.exercise`) fed as samples arrive.

``async with Session({...}) as session: async for event in session.events(): ...``;
:class:`SyncSession` for code without asyncio. Events: :mod:`motiontrack.events`.
"""

from ..exercise import ExerciseSettings
from ..transport import BleSource, ReplaySource, open_source
from ._session import Session
from ._sync import SyncSession

#: .. versionchanged:: 0.1.0  The one settings object of live and offline sessions.
SessionSettings = ExerciseSettings

__all__ = [
    "BleSource",
    "ExerciseSettings",
    "ReplaySource",
    "Session",
    "SessionSettings",
    "SyncSession",
    "open_source",
]
