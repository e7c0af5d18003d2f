"""Live sessions: sources -> decoding -> fusion -> calibration -> joint angles -> reps.

``async with Session({...}) as session: async for event in session.events(): ...``;
:class:`SyncSession` for code without asyncio. Events: :mod:`motiontrack.events`.
"""

from ._pipeline import Pipeline, SessionSettings
from ._session import Session
from ._sources import BleSource, ReplaySource, open_source
from ._sync import SyncSession

__all__ = [
    "BleSource",
    "Pipeline",
    "ReplaySource",
    "Session",
    "SessionSettings",
    "SyncSession",
    "open_source",
]
