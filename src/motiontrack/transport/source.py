"""Source strings, parsed in one place: ``ble:ADDRESS``, ``sim:NAME``, ``replay:PATH``, ...

The kind before the colon picks a radio backend from :mod:`.backends` (``ble`` built in,
``sim`` and third-party kinds through entry points) or ``replay`` (a recording). A bare
Bluetooth address (``AA:BB:CC:DD:EE:FF``, or a macOS CoreBluetooth UUID) and a bleak
``BLEDevice`` mean ``ble:`` that address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from .backends import get_backend

__all__ = ["REPLAY", "SourceSpec", "parse_source"]

#: The kind of recordings played back (not a radio backend).
REPLAY = "replay"

_BARE_ADDRESS = re.compile(
    r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}"
)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed source string."""

    kind: str  # "ble", "sim", "replay" or a registered backend's kind
    target: str  # address / macOS UUID (ble), advertised name (sim), file path (replay)

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    @property
    def is_replay(self) -> bool:
        return self.kind == REPLAY


def parse_source(source: Any) -> SourceSpec:
    """Parse a source string (or a bleak ``BLEDevice``) into a :class:`SourceSpec`.

    Examples
    --------
    >>> parse_source("ble:aa:bb:cc:dd:ee:ff")
    SourceSpec(kind='ble', target='AA:BB:CC:DD:EE:FF')
    >>> parse_source("AA:BB:CC:DD:EE:FF").kind
    'ble'
    >>> parse_source("replay:squats.mtrec").target
    'squats.mtrec'
    """
    if not isinstance(source, str):
        address = getattr(source, "address", None)  # a bleak BLEDevice
        if not isinstance(address, str):
            raise ConfigurationError(
                f"source {source!r} must be a string such as 'ble:ADDRESS', 'sim:NAME' or "
                "'replay:PATH', or a bleak BLEDevice"
            )
        source = f"ble:{address}"
    text = source.strip()
    if _BARE_ADDRESS.fullmatch(text):
        text = f"ble:{text}"
    if ":" not in text:
        raise ConfigurationError(
            f"source {source!r} must look like 'ble:ADDRESS', 'sim:NAME' or 'replay:PATH'"
        )
    kind, target = text.split(":", 1)
    kind = kind.strip().lower()
    target = target.strip()
    if not target:
        raise ConfigurationError(f"source {source!r} names no device or file")
    if kind == REPLAY:
        return SourceSpec(kind, target)
    if not get_backend(kind).target_is_name:
        target = target.upper()  # addresses and CoreBluetooth UUIDs ignore case
    return SourceSpec(kind, target)
