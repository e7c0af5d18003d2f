"""Byte layouts declared as data.

Every fixed-size structure of the wire protocol is a :class:`Layout`: an ordered tuple of
:class:`Field` rows (name, offset, size, type, scale, unit), the same columns as the byte
tables in ``firmware_protocol/SPEC.md``. Packing and unpacking are derived from the rows,
and a test checks that the rows equal the tables in the spec, so code and spec cannot drift
apart (bumble declares its HCI fields with byte-width metadata in the same spirit).

All multi-byte integers and floats are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from ..errors import ProtocolError

#: Wire type name -> (struct code, size in bytes). ``bytesN`` is handled separately.
_TYPES: dict[str, tuple[str, int]] = {
    "u8": ("B", 1),
    "i8": ("b", 1),
    "u16": ("H", 2),
    "i16": ("h", 2),
    "u32": ("I", 4),
    "i32": ("i", 4),
    "f32": ("f", 4),
}


@dataclass(frozen=True, slots=True)
class Field:
    """One row of a byte table.

    Attributes
    ----------
    name : str
        Field name, as in the spec table.
    offset : int
        Byte offset from the start of the structure.
    size : int
        Size in bytes.
    type : str
        ``u8``, ``i8``, ``u16``, ``i16``, ``u32``, ``i32``, ``f32`` or ``bytesN``.
    scale : str
        How to turn the stored value into the quantity: ``"1"`` for plain values, or a
        short expression such as ``"0.01"`` or ``"1/1000"``; ``"-"`` for bit fields/enums.
    unit : str
        Unit of the scaled quantity (``"-"`` when dimensionless).
    """

    name: str
    offset: int
    size: int
    type: str
    scale: str = "1"
    unit: str = "-"


class Layout:
    """An ordered, gap-free byte layout compiled to a :class:`struct.Struct`.

    Parameters
    ----------
    name : str
        Identifier used in the spec (``<!-- layout: NAME -->`` marks its table).
    fields : sequence of (name, type, scale, unit) tuples
        Offsets and sizes are derived from the types, in order.
    """

    __slots__ = ("fields", "name", "names", "size", "struct")

    def __init__(self, name: str, fields: list[tuple[str, str, str, str]]) -> None:
        rows: list[Field] = []
        codes = ["<"]
        offset = 0
        for fname, ftype, scale, unit in fields:
            if ftype.startswith("bytes"):
                size = int(ftype[5:])
                codes.append(f"{size}s")
            else:
                code, size = _TYPES[ftype]
                codes.append(code)
            rows.append(Field(fname, offset, size, ftype, scale, unit))
            offset += size
        self.name = name
        self.fields: tuple[Field, ...] = tuple(rows)
        self.struct = struct.Struct("".join(codes))
        self.size: int = offset
        self.names: tuple[str, ...] = tuple(f.name for f in rows)

    def pack(self, **values: Any) -> bytes:
        """Pack named values (every field required). Raises ``struct.error`` on range errors."""
        return self.struct.pack(*(values[n] for n in self.names))

    def unpack(
        self, data: bytes | bytearray | memoryview, *, what: str | None = None
    ) -> dict[str, Any]:
        """Unpack the first :attr:`size` bytes; a shorter buffer raises ``ProtocolError('truncated')``."""
        if len(data) < self.size:
            raise ProtocolError(
                f"{what or self.name}: {len(data)} bytes, need at least {self.size}",
                code="truncated",
            )
        return dict(zip(self.names, self.struct.unpack_from(data, 0)))

    def rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """The table as strings: (offset, size, type, field, scale, unit), as in SPEC.md."""
        return [(str(f.offset), str(f.size), f.type, f.name, f.scale, f.unit) for f in self.fields]

    def __repr__(self) -> str:
        return f"Layout({self.name!r}, {self.size} bytes)"


__all__ = ["Field", "Layout"]
