"""Re-export of the sources, which live in :mod:`motiontrack.transport` now.

Kept so ``motiontrack.session`` imports keep working while the session engine moves
over; to be removed.
"""

from __future__ import annotations

from ..transport.replay import ReplaySource
from ..transport.sources import BleSource, open_source

__all__ = ["BleSource", "ReplaySource", "open_source"]
