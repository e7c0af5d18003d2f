"""Which sensor is which: the reference and the partner of a session from the options and
the sensors' names (:data:`motiontrack.conventions.SEGMENT_NAMES`)."""

from __future__ import annotations

from ..conventions import JOINT_CHOICES, SEGMENT_NAMES
from ..errors import ConfigurationError

__all__ = ["resolve_roles"]


def resolve_roles(
    names: list[str],
    joint: str | None,
    proximal: str | None,
    distal: str | None,
    segment: str | None,
) -> tuple[str, str | None]:
    """(reference sensor, partner or None) from the options: given names first, then the
    sensors' names (:data:`motiontrack.conventions.SEGMENT_NAMES`: ``thigh``/``shank`` for a
    knee, ...), then, for two sensors whose names say nothing, their order."""
    listed = ", ".join(names)
    if segment is not None:
        if segment not in names:
            raise ConfigurationError(f"no sensor {segment!r} (sensors: {listed})")
        return segment, None
    if joint not in JOINT_CHOICES:
        raise ConfigurationError(
            f"unknown joint {joint!r}; choose one of {', '.join(JOINT_CHOICES)}"
        )
    if proximal is None or distal is None:
        by_name = _roles_by_name(names, joint)
        proximal = proximal or (by_name[0] if by_name and by_name[0] != distal else None)
        distal = distal or (by_name[1] if by_name and by_name[1] != proximal else None)
    if proximal is None or distal is None:
        if len(names) != 2:
            raise ConfigurationError(
                f"a joint needs two sensors, there are {len(names)} ({listed}): name them with "
                "proximal= and distal=, or count from one with segment="
            )
        proximal = proximal or next(n for n in names if n != distal)
        distal = distal or next(n for n in names if n != proximal)
    for n in (proximal, distal):
        if n not in names:
            raise ConfigurationError(f"no sensor {n!r} (sensors: {listed})")
    if proximal == distal:
        raise ConfigurationError("proximal and distal must be two different sensors")
    return proximal, distal


def _roles_by_name(names: list[str], joint: str) -> tuple[str, str] | None:
    """(proximal, distal) when exactly one sensor's name says each segment of ``joint``."""
    prox_names, dist_names = SEGMENT_NAMES.get(joint, ((), ()))
    prox = [n for n in names if n.lower() in prox_names]
    dist = [n for n in names if n.lower() in dist_names]
    if len(prox) == 1 and len(dist) == 1 and prox[0] != dist[0]:
        return prox[0], dist[0]
    return None
