"""Source strings: ``ble:ADDRESS`` (bleak's platform backend) and ``sim:NAME`` (virtual sensor)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError

__all__ = ["SourceSpec", "parse_source"]

KINDS = ("ble", "sim")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed source string."""

    kind: str  # "ble" or "sim"
    target: str  # Bluetooth address / macOS UUID (ble) or advertised name (sim)

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


def parse_source(source: str) -> SourceSpec:
    """Parse ``"ble:AA:BB:CC:DD:EE:FF"``, ``"ble:<macOS UUID>"`` or ``"sim:thigh"``.

    Examples
    --------
    >>> parse_source("ble:aa:bb:cc:dd:ee:ff")
    SourceSpec(kind='ble', target='AA:BB:CC:DD:EE:FF')
    >>> parse_source("sim:thigh").target
    'thigh'
    """
    if not isinstance(source, str) or ":" not in source:
        raise ConfigurationError(
            f"source {source!r} must look like 'ble:ADDRESS' or 'sim:NAME'"
        )
    kind, target = source.split(":", 1)
    kind = kind.strip().lower()
    target = target.strip()
    if kind not in KINDS:
        raise ConfigurationError(f"unknown source kind {kind!r} in {source!r}; use one of {KINDS}")
    if not target:
        raise ConfigurationError(f"source {source!r} names no device")
    if kind == "ble":
        target = target.upper()
    return SourceSpec(kind, target)
