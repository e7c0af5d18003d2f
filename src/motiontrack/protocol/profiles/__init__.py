"""Sensor profiles: one module per sensor family behind :class:`SensorProfile`.

Built in: ``"motiontrack"`` (:mod:`.native`), ``"witmotion"`` (:mod:`.witmotion`),
``"movella_dot"`` (:mod:`.movella_dot`). A new sensor is one module that defines a class
with the :class:`SensorProfile` members and calls :func:`register_profile`; each module
states its confidence (documented vs assumed) in its docstring and ``confidence``.

    from motiontrack.protocol.profiles import get_profile
    wit = get_profile("witmotion")
    samples = wit.decode(notification)        # ProfileSamples: .acc m/s², .gyr rad/s, ...
    stream = ProfileStream(wit, sample_rate_hz=100.0)   # device time + inferred loss
    samples, lost_before = stream.push(notification, host_time_s=t_arrival)
"""

from __future__ import annotations

from . import movella_dot, native, witmotion
from .base import (
    ProfileSamples,
    SensorProfile,
    available_profiles,
    get_profile,
    profile_for_services,
    register_profile,
)
from .stream import ProfileStream, ProfileStreamStats

__all__ = [
    "ProfileSamples",
    "ProfileStream",
    "ProfileStreamStats",
    "SensorProfile",
    "available_profiles",
    "get_profile",
    "movella_dot",
    "native",
    "profile_for_services",
    "register_profile",
    "witmotion",
]
