"""The package's import layers hold: every import of every module, read with ``ast``.

A module may import its own top-level package and packages of the same or a lower layer
of :data:`LAYERS` (the order stated in words in the docstring of
:mod:`motiontrack.exercise`). Imports under ``if TYPE_CHECKING:`` are not run and are not
checked. An import inside a function body must not import a ``motiontrack`` module (a
layer problem hidden in a function is still a layer problem; an import cycle is fixed by
moving code), except a part that itself needs an optional dependency
(:data:`OPTIONAL_PARTS`: the virtual sensors need bumble), and carries a comment, on its line or the line just above, saying why it is
lazy: that is only for an optional or slow dependency (bumble, psutil, the imufusion/vqf/
ahrs peers, ``resource`` on POSIX, ``scipy.optimize``, numba internals).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG_DIR = ROOT / "src" / "motiontrack"

#: Layer order, lowest first. ``motiontrack`` (the root ``__init__``) is the top layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("conventions", "errors", "events", "_version", "checks", "_progress", "_optional"),
    ("_kernels", "quaternion"),
    ("protocol",),
    ("recording", "io"),
    ("transport",),
    ("fusion", "calibration"),
    ("kinematics",),
    ("reps",),
    ("exercise",),
    ("session", "analysis", "report", "template_analysis", "batch"),
    ("simulation", "virtual"),
    ("cli", "bench", "demo", "__main__", "motiontrack"),
)
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}
#: Test doubles: nothing below them may import them.
TEST_DOUBLES = ("simulation", "virtual")


@dataclass(frozen=True)
class Import:
    file: str  # path relative to the repository
    line: int
    importer: str  # motiontrack.x.y
    target: str  # motiontrack.a.b, or an outside module
    in_function: bool
    type_checking: bool
    commented: bool


def _module_name(path: Path) -> tuple[str, str]:
    """(module, package it lives in) of a source file."""
    parts = ("motiontrack",) + path.relative_to(PKG_DIR).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _is_module(dotted: str) -> bool:
    """Is ``motiontrack.a.b`` a module or package of the source tree?"""
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    base = PKG_DIR / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _targets(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if not module.startswith("motiontrack"):
        return [module]
    # ``from pkg import name``: the submodule pkg.name if there is one, else pkg itself.
    out = []
    for alias in node.names:
        sub = f"{module}.{alias.name}"
        out.append(sub if _is_module(sub) else module)
    return out


def _comment_lines(source: str) -> set[int]:
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            lines.add(tok.start[0])
    return lines


def _imports(path: Path) -> list[Import]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    module, package = _module_name(path)
    comments = _comment_lines(source)
    in_function: set[int] = set()
    type_checking: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        commented = any(
            n in comments for n in range(node.lineno - 1, (node.end_lineno or node.lineno) + 1)
        )
        for target in _targets(node, package):
            found.append(
                Import(
                    file=str(path.relative_to(ROOT)),
                    line=node.lineno,
                    importer=module,
                    target=target,
                    in_function=id(node) in in_function,
                    type_checking=id(node) in type_checking,
                    commented=commented,
                )
            )
    return found


#: motiontrack packages that need an optional dependency at import time: the virtual sensors
#: run on bumble (``pip install motiontrack[sim]``). A command that only *may* use them (``sim:``
#: sources) imports them inside the function that does, with a comment.
OPTIONAL_PARTS = ("motiontrack.virtual",)


def _optional(target: str) -> bool:
    return any(target == p or target.startswith(p + ".") for p in OPTIONAL_PARTS)


def _top(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "motiontrack"


def all_imports() -> list[Import]:
    return [imp for path in sorted(PKG_DIR.rglob("*.py")) for imp in _imports(path)]


def violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        where = f"{imp.file}:{imp.line}: {imp.importer} imports {imp.target}"
        if imp.type_checking:
            continue
        internal = imp.target.split(".")[0] == "motiontrack"
        if imp.in_function:
            if internal and not _optional(imp.target):
                out.append(f"{where}: a motiontrack import inside a function (move it to the top)")
            elif internal and not imp.commented:
                out.append(f"{where}: a lazy import of an optional part without a comment saying why")
            elif not imp.commented:
                out.append(f"{where}: a lazy import without a comment saying why it is lazy")
        if not internal:
            continue
        me, it = _top(imp.importer), _top(imp.target)
        if me == it:
            continue
        if me not in LAYER_OF or it not in LAYER_OF:
            unknown = me if me not in LAYER_OF else it
            out.append(f"{where}: {unknown!r} is not in the layer table of tests/test_layers.py")
            continue
        if it in TEST_DOUBLES and LAYER_OF[me] < LAYER_OF[it]:
            out.append(f"{where}: the test doubles ({it}) are imported by layer {LAYER_OF[me]}")
        elif LAYER_OF[it] > LAYER_OF[me]:
            out.append(
                f"{where}: {me} (layer {LAYER_OF[me]}) imports {it} (layer {LAYER_OF[it]})"
            )
    return list(dict.fromkeys(out))  # one line per import statement and target


def test_the_walk_sees_the_package():
    imports = all_imports()
    files = {imp.file for imp in imports}
    assert len(files) > 100
    assert any(
        imp.importer == "motiontrack.recording.writer" and imp.target == "motiontrack._version"
        for imp in imports
    )
    # the checker itself: a relative ``from .. import name`` of a non-module is the package
    node = ast.parse("from .. import __version__").body[0]
    assert _targets(node, "motiontrack.recording") == ["motiontrack"]
    node = ast.parse("from ..io import load").body[0]
    assert _targets(node, "motiontrack.cli") == ["motiontrack.io"]
    node = ast.parse("from . import conventions").body[0]
    assert _targets(node, "motiontrack") == ["motiontrack.conventions"]


def test_every_top_level_name_has_a_layer():
    tops = {p.stem for p in PKG_DIR.glob("*.py")}
    tops |= {p.name for p in PKG_DIR.iterdir() if (p / "__init__.py").is_file()}
    tops = {"motiontrack" if t == "__init__" else t for t in tops}
    missing = sorted(tops - set(LAYER_OF))
    assert not missing, f"add these to LAYERS and to motiontrack.exercise's docstring: {missing}"


def test_imports_follow_the_layers():
    found = violations(all_imports())
    if found:
        print(f"{len(found)} layer violation(s):")
        for line in found:
            print("  " + line)
    assert not found, "\n".join(["import layer violations:"] + found)


def test_the_checker_catches_violations():
    def imp(importer, target, **kw):
        base = {"in_function": False, "type_checking": False, "commented": False}
        return Import(file="x.py", line=1, importer=importer, target=target, **{**base, **kw})

    assert violations([imp("motiontrack.fusion.vqf", "motiontrack.quaternion")]) == []
    assert violations([imp("motiontrack.protocol.gatt", "motiontrack.errors")]) == []
    assert len(violations([imp("motiontrack.quaternion", "motiontrack.fusion")])) == 1
    assert len(violations([imp("motiontrack.session", "motiontrack.virtual.fleet")])) == 1
    assert len(violations([imp("motiontrack.recording.writer", "motiontrack")])) == 1
    assert len(violations([imp("motiontrack.cli.x", "motiontrack.io", in_function=True)])) == 1
    assert len(violations([imp("motiontrack.fusion", "time", in_function=True)])) == 1
    assert violations([imp("motiontrack.fusion", "vqf", in_function=True, commented=True)]) == []
    assert violations([imp("motiontrack.io", "motiontrack.cli", type_checking=True)]) == []


def _docstring_layers() -> list[tuple[str, ...]]:
    """The layer table in the docstring of ``motiontrack.exercise`` (names only)."""
    doc = ast.get_docstring(ast.parse((PKG_DIR / "exercise" / "__init__.py").read_text()))
    assert doc
    block = doc.split("Layers\n------\n", 1)[1].split("::\n\n", 1)[1].split("\n\n", 1)[0]
    layers = []
    for line in block.splitlines():
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        if line.startswith("    ") and not line.startswith("     "):
            layers.append(tuple(n.strip() for n in names.split(",")))
    return layers


def test_the_exercise_docstring_states_the_same_layers():
    assert _docstring_layers() == [tuple(n for n in layer) for layer in LAYERS]


def test_the_version_agrees_with_pyproject():
    import tomllib

    import motiontrack
    from motiontrack._version import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__ == motiontrack.__version__


def test_the_cli_parser_imports_no_subcommand_implementation():
    """``motiontrack --help`` builds every parser; it must not import the commands' code."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from motiontrack.cli import build_parser\n"
        "build_parser()\n"
        "heavy = ['motiontrack.cli._' + n for n in "
        "('analyze', 'calibrate', 'demo', 'record', 'replay', 'report')]\n"
        "heavy += ['motiontrack.analysis', 'motiontrack.session', 'motiontrack.exercise']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_root_exports_its_lazy_names():
    import motiontrack

    assert len(set(motiontrack.__all__)) == len(motiontrack.__all__)
    assert set(motiontrack._LAZY) <= set(motiontrack.__all__)
    assert all(hasattr(motiontrack, name) for name in motiontrack.__all__)
