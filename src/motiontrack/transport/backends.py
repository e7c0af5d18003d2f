"""Which bleak backend serves a source kind: the registry of transport backends.

A *source kind* is the prefix of a source string (``ble`` in ``ble:AA:BB:..``). Each
kind maps to a :class:`BackendSpec`: the bleak scanner and client backend classes
(``None`` = bleak's platform backend) and an optional ``prepare(target)`` coroutine run
before scanning (the virtual sensors start a sensor there). ``ble`` is built in.

Other kinds register themselves the way bleak picks platform backends without importing
them all: through the Python entry point group ``motiontrack.transport_backends``, loaded
lazily the first time a kind is asked for that is not registered yet. The virtual
sensors (:mod:`motiontrack.virtual`, which needs Bumble) declare in ``pyproject.toml``::

    [project.entry-points."motiontrack.transport_backends"]
    sim = "motiontrack.virtual.backend:SIM_BACKEND"

An entry point names a :class:`BackendSpec`, or a callable returning one. A program can
also call :func:`register_backend` directly. This module imports neither bleak nor any
backend.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from ..errors import ConfigurationError

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendSpec",
    "backend_kinds",
    "get_backend",
    "register_backend",
]

logger = logging.getLogger(__name__)

#: The entry point group searched for backends of unknown source kinds.
ENTRY_POINT_GROUP = "motiontrack.transport_backends"


@dataclass(frozen=True, kw_only=True, slots=True)
class BackendSpec:
    """How to reach the sensors of one source kind through bleak.

    scanner : type or None    bleak scanner backend (``BleakScanner(backend=...)``);
                              None = bleak's platform backend
    client : type or None     bleak client backend (``BleakClient(backend=...)``);
                              None = bleak's platform backend
    prepare : async callable(target) or None
                              awaited before scanning for ``target`` (e.g. to start a
                              virtual sensor); its result is ignored
    target_is_name : bool     the target of the source string is an advertised local
                              name, found by scanning (``sim:thigh``); False = a
                              Bluetooth address (or macOS UUID) that bleak finds itself,
                              compared case-insensitively
    """

    scanner: type | None = None
    client: type | None = None
    prepare: Callable[[str], Awaitable[Any]] | None = None
    target_is_name: bool = False


_REGISTRY: dict[str, BackendSpec] = {"ble": BackendSpec()}
_ENTRY_POINT_ERRORS: dict[str, str] = {}  # kind -> why its entry point did not load
_entry_points_loaded = False


def register_backend(kind: str, spec: BackendSpec, *, replace: bool = False) -> None:
    """Serve source strings ``KIND:TARGET`` with ``spec``.

    Raises ConfigurationError if ``kind`` is taken (unless ``replace``) or reserved
    (``replay`` names recordings, not radios).
    """
    if not isinstance(spec, BackendSpec):
        raise ConfigurationError(f"backend for {kind!r} must be a BackendSpec, not {spec!r}")
    kind = kind.strip().lower()
    if not kind.isidentifier() or kind == "replay":
        raise ConfigurationError(f"{kind!r} cannot name a transport backend")
    if kind in _REGISTRY and not replace and _REGISTRY[kind] != spec:
        raise ConfigurationError(f"a transport backend for {kind!r} is already registered")
    _REGISTRY[kind] = spec


def _load_entry_points() -> None:
    global _entry_points_loaded
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        try:
            obj = ep.load()
            spec = obj if isinstance(obj, BackendSpec) else obj()
            register_backend(ep.name, spec)
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the others
            _ENTRY_POINT_ERRORS[ep.name] = f"{type(exc).__name__}: {exc}"
            logger.warning("transport backend %r (%s) did not load: %s", ep.name, ep.value, exc)


def get_backend(kind: str) -> BackendSpec:
    """The backend of a source kind, loading the entry points on the first unknown kind.

    Raises ConfigurationError for a kind nobody provides.
    """
    spec = _REGISTRY.get(kind)
    if spec is None and not _entry_points_loaded:
        _load_entry_points()
        spec = _REGISTRY.get(kind)
    if spec is None:
        why = _ENTRY_POINT_ERRORS.get(kind)
        if why is not None:
            hint = " (pip install motiontrack[sim])" if kind == "sim" else ""
            raise ConfigurationError(f"the {kind!r} transport backend did not load{hint}: {why}")
        raise ConfigurationError(
            f"unknown source kind {kind!r}; use one of {backend_kinds() + ('replay',)}"
        )
    return spec


def backend_kinds() -> tuple[str, ...]:
    """Every registered source kind (entry points included), sorted."""
    if not _entry_points_loaded:
        _load_entry_points()
    return tuple(sorted(_REGISTRY))
