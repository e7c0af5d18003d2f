"""Where the compiled kernels are cached on disk, and which are there already.

Light on purpose (no numba import): the command line asks :func:`missing` before anything
heavy is imported, to say at once that a first run compiles (see ``motiontrack.cli.demo``).
:mod:`._jit` points numba at :func:`cache_dir`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _numba_version() -> str:
    try:
        return importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - numba is required
        return ""


def cache_dir() -> str | None:
    """A writable cache folder keyed by the kernel sources and numba's version
    (``~/.cache/motiontrack/numba-<hash>``, or under ``$XDG_CACHE_HOME``), or None for
    numba's default (``NUMBA_CACHE_DIR`` when set, else next to the sources)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    digest = hashlib.sha256()
    for path in sorted(_HERE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(_numba_version().encode())
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = root / "motiontrack" / f"numba-{digest.hexdigest()[:16]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return None  # read-only home: numba's own locations (next to the sources, user-wide)
    return str(folder)


def missing(modules: Iterable[str]) -> list[str]:
    """The kernel modules (``"vqf"``, ``"joint"``, ...) with no kernel compiled on disk yet:
    a first run, or the first after an upgrade (numba's index files, ``MODULE.FUNC-*.nbi``)."""
    folder = cache_dir() or os.environ.get("NUMBA_CACHE_DIR")
    roots = [Path(folder)] if folder else [_HERE / "__pycache__"]
    found = {p.name.split(".", 1)[0] for root in roots if root.is_dir() for p in root.rglob("*.nbi")}
    return [m for m in modules if m not in found]


#: Seconds to compile each kernel module's entries that a live session uses, measured on the
#: benchmark machine (2 shared cores, ``benchmarks/startup.py``; a busy machine takes longer):
#: the estimate a first run announces. ``vqf`` is the streaming entries, with the helpers
#: every entry shares (``vqf_step`` and the ``vqf_*`` modules it calls: most of the time);
#: ``vqf_batch`` the general entry (blocks of more than 64 rows) once those are compiled.
COMPILE_S: dict[str, float] = {
    "vqf": 14.0,
    "vqf_batch": 2.0,
    "vqf_offline": 3.0,
    "madgwick": 1.5,
    "mahony": 1.0,
    "complementary": 1.0,
    "ekf": 3.0,
    "quaternion": 2.5,
    "joint": 3.5,
    "reps": 14.0,
}


def estimate_s(modules: Iterable[str]) -> float:
    """Seconds to compile ``modules`` (keys of :data:`COMPILE_S`; others count 1 s)."""
    return float(sum(COMPILE_S.get(m, 1.0) for m in modules))


def session_plan(method: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Kernel modules a live session with fusion ``method`` compiles before streaming, and
    those it compiles in the background meanwhile (``motiontrack.session._warm``)."""
    return (method,), ("quaternion", "joint", "vqf_offline", f"{method}_batch", "reps")


def first_run_s(method: str) -> tuple[float, float]:
    """Estimated seconds a live session compiles before streaming and in the background:
    (0, 0) when its kernels are on disk already."""
    fg, bg = session_plan(method)
    cold = set(missing({m.removesuffix("_batch") for m in fg + bg}))
    return (estimate_s(m for m in fg if m.removesuffix("_batch") in cold),
            estimate_s(m for m in bg if m.removesuffix("_batch") in cold))


_SPAWNED: dict[str, subprocess.Popen[str]] = {}


def spawn_compiler(method: str) -> subprocess.Popen[str] | None:
    """Start the first run's compiler process for a session with fusion ``method`` now, before
    the caller's heavy imports (``motiontrack.session._warm`` adopts it): None when the
    session's kernels are cached already or ``MOTIONTRACK_INTERPRETED=0``."""
    if method in _SPAWNED or os.environ.get("MOTIONTRACK_INTERPRETED", "1") == "0" or not any(first_run_s(method)):
        return None
    src = str(_HERE.parents[1])  # this motiontrack, whatever sys.path found it by
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    proc = _SPAWNED[method] = subprocess.Popen(
        [sys.executable, "-m", "motiontrack.session._warm", method],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    return proc


def take_spawned(method: str) -> subprocess.Popen[str] | None:
    """The process :func:`spawn_compiler` started for ``method`` (once), else None."""
    return _SPAWNED.pop(method, None)
