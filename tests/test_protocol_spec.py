"""The byte tables of firmware_protocol/SPEC.md equal the layouts declared in Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from motiontrack.protocol import commands, config, gatt, packets
from motiontrack.protocol.layout import Layout

SPEC = Path(__file__).resolve().parents[1] / "firmware_protocol" / "SPEC.md"


def python_layouts() -> dict[str, Layout]:
    found: list[Layout] = [
        packets.DATA_HEADER_LAYOUT,
        packets.DATA_SAMPLE_LAYOUT,
        packets.MAG_SAMPLE_LAYOUT,
        config.CONFIG_LAYOUT,
        config.STATUS_LAYOUT,
        commands.COMMAND_HEADER_LAYOUT,
        commands.RESPONSE_HEADER_LAYOUT,
        *commands.COMMAND_PARAMS.values(),
        *commands.REPLY_PAYLOADS.values(),
    ]
    return {lay.name: lay for lay in found}


def spec_tables() -> dict[str, list[tuple[str, ...]]]:
    lines = SPEC.read_text(encoding="utf-8").splitlines()
    tables: dict[str, list[tuple[str, ...]]] = {}
    for i, line in enumerate(lines):
        m = re.fullmatch(r"<!-- layout: (\w+) -->", line.strip())
        if not m:
            continue
        rows = []
        j = i + 1
        if lines[j].strip() != "(none)":
            assert [c.strip() for c in lines[j].strip("|").split("|")] == [
                "offset",
                "size",
                "type",
                "field",
                "scale",
                "unit",
            ], m.group(1)
            j += 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(tuple(c.strip() for c in lines[j].strip().strip("|").split("|")))
                j += 1
        assert m.group(1) not in tables, f"table {m.group(1)} appears twice"
        tables[m.group(1)] = rows
    return tables


def test_every_python_layout_is_in_the_spec_and_equal():
    spec = spec_tables()
    py = python_layouts()
    assert set(spec) == set(py)
    for name, lay in py.items():
        assert spec[name] == lay.rows(), name


def test_table_offsets_are_contiguous():
    for name, rows in spec_tables().items():
        off = 0
        for r in rows:
            assert int(r[0]) == off, (name, r)
            off += int(r[1])


@pytest.mark.parametrize(
    "uuid",
    [gatt.SERVICE_UUID, gatt.DATA_UUID, gatt.CONTROL_UUID, gatt.STATUS_UUID, gatt.CONFIG_UUID],
)
def test_uuids_are_in_the_spec(uuid):
    assert f"`{uuid}`" in SPEC.read_text(encoding="utf-8")


def test_opcodes_and_result_codes_in_spec():
    text = SPEC.read_text(encoding="utf-8")
    for op in commands.Opcode:
        assert re.search(rf"\| 0x{op.value:02x} \| {op.name} \|", text), op
    for rc in commands.ResultCode:
        assert re.search(rf"\| 0x{rc.value:02x} \| {rc.name} \|", text), rc
    for pt in gatt.PacketType:
        assert re.search(rf"\| 0x{pt.value:x} \| {pt.name} \|", text), pt


def test_protocol_is_pure():
    """STYLE §2: protocol never imports bleak, numba or asyncio (checked on the source)."""
    import ast

    import motiontrack.protocol as proto

    root = Path(proto.__file__).parent
    for f in root.rglob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                assert n.split(".")[0] not in {"bleak", "numba", "asyncio", "bumble"}, (f, n)
