"""The extension point for sensors: one :class:`SensorProfile` per sensor family.

A profile says how to find the sensor (service UUID, name prefixes), which
characteristics to subscribe to and write, which bytes start and stop streaming, and how
to turn one notification into :class:`ProfileSamples` in motiontrack's SI units and
frames. It also states its *confidence*: what comes from public documentation and what
is assumed. Adding a sensor means adding one module that defines a profile and calls
:func:`register_profile` (see ``witmotion.py``).

Decoders of profiles follow the package rule: bytes in, frozen dataclasses out, and
:class:`~motiontrack.errors.ProtocolError` (stable ``.code``) for anything malformed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ...errors import ConfigurationError


@dataclass(frozen=True, slots=True, eq=False)
class ProfileSamples:
    """Samples decoded from one notification of a third-party sensor.

    Every array has ``n`` rows; a quantity the payload does not carry is None.

    device_time_us : ndarray (n,) float64 or None   device clock of each sample, µs
                                                    (None: the sensor sends no time)
    acc : (n, 3) m/s², sensor frame, +9.81 along *up* at rest (specific force)
    gyr : (n, 3) rad/s, sensor frame
    mag : (n, 3) µT, sensor frame (None when the sensor's unit is not µT-convertible)
    q_earth_sensor : (n, 4) w, x, y, z, the sensor's own orientation estimate
    euler_deg : (n, 3) roll, pitch, yaw in degrees as sent (display only)
    free_acc : (n, 3) m/s², earth frame, gravity removed (as sent by the sensor)
    extras : tuple of (name, ndarray) vendor fields kept as they are (raw units named)
    """

    n: int
    device_time_us: np.ndarray | None = None
    acc: np.ndarray | None = None
    gyr: np.ndarray | None = None
    mag: np.ndarray | None = None
    q_earth_sensor: np.ndarray | None = None
    euler_deg: np.ndarray | None = None
    free_acc: np.ndarray | None = None
    extras: tuple[tuple[str, np.ndarray], ...] = field(default=())

    def extra(self, name: str) -> np.ndarray:
        return dict(self.extras)[name]


@runtime_checkable
class SensorProfile(Protocol):
    """What a sensor family must provide (structural: any object with these members)."""

    name: str  # registry key, e.g. "witmotion"
    service_uuid: str  # primary service to scan for / connect to
    notify_uuids: tuple[str, ...]  # characteristics carrying samples
    write_uuid: str | None  # where commands go (None: no commands)
    name_prefixes: tuple[str, ...]  # advertised names, for scanning
    has_sequence: bool  # packets carry a counter -> exact loss counting
    has_device_time: bool  # samples carry a device timestamp
    confidence: str  # what is documented vs assumed

    def start_commands(self, *, sample_rate_hz: float | None = None) -> list[tuple[str, bytes]]:
        """(characteristic UUID, bytes) writes that configure and start streaming."""
        ...

    def stop_commands(self) -> list[tuple[str, bytes]]:
        """Writes that stop streaming."""
        ...

    def decode(
        self, data: bytes | bytearray | memoryview, *, characteristic: str | None = None
    ) -> ProfileSamples:
        """One notification -> samples; raises ProtocolError only."""
        ...


_REGISTRY: dict[str, SensorProfile] = {}


def register_profile(profile: SensorProfile) -> SensorProfile:
    """Add a profile under ``profile.name`` (a name may be registered once)."""
    if not isinstance(profile, SensorProfile):
        raise ConfigurationError(f"{profile!r} does not implement SensorProfile")
    if profile.name in _REGISTRY and _REGISTRY[profile.name] is not profile:
        raise ConfigurationError(f"a sensor profile named {profile.name!r} is already registered")
    _REGISTRY[profile.name] = profile
    return profile


def get_profile(name: str) -> SensorProfile:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown sensor profile {name!r}; known: {sorted(_REGISTRY)}"
        ) from None


def available_profiles() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def profile_for_services(service_uuids: Iterable[str]) -> SensorProfile | None:
    """The first registered profile whose service UUID is advertised (case-insensitive)."""
    wanted = {u.lower() for u in service_uuids}
    for p in _REGISTRY.values():
        if p.service_uuid.lower() in wanted:
            return p
    return None


__all__ = [
    "ProfileSamples",
    "SensorProfile",
    "available_profiles",
    "get_profile",
    "profile_for_services",
    "register_profile",
]
