"""First run of a live session: compile only what it needs, in the order it needs it.

Kernels compile on their first call and are cached on disk (``motiontrack._kernels``); a
first run has nothing cached. A live session needs its fusion filter's streaming entries
from the first sample: :func:`foreground` compiles them before streaming starts (a few
seconds). The calibration needs the kinematics kernels only once it has seen the standing
pose and some motion, and the rep counter only once it is calibrated (10-25 s of the session
protocol later): :func:`start_background` compiles those on a background thread meanwhile,
in that order. (numba compiles one function at a time per process: the background thread
overlaps compilation with streaming and calibrating, not with other compilation.)

Safe by construction: numba compiles under one lock, so the engine reaching a kernel that
the background thread is still compiling waits for it and then runs the same machine code
(results do not depend on who compiled it); on a warm cache every step only loads from disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from .. import _progress, fusion, kinematics, quaternion, reps
from .._kernels import _cache

logger = logging.getLogger(__name__)

__all__ = [
    "background_steps",
    "foreground",
    "foreground_steps",
    "foreground_with_progress",
    "start_background",
]

#: (what, kernel modules for the cache check and the estimate, the warm-up call)
Step = tuple[str, tuple[str, ...], Callable[[], object]]

_started: set[str] = set()
_lock = threading.Lock()


def foreground_steps(method: str) -> list[Step]:
    """What must be compiled before the first sample: the filter's streaming entries."""
    (fg,), _ = _cache.session_plan(method)
    return [(f"fusion ({method})", (fg,), lambda: fusion.warmup([method], batch=False))]


def background_steps(method: str) -> list[Step]:
    """What the session needs later, in the order it needs it
    (:func:`motiontrack._kernels._cache.session_plan`): the calibration's kernels (it
    fuses its window in batch, and solves for the mounting with quaternion and joint
    kernels), then the rep counter's."""
    _, (quat, joint, offline, batch, rep) = _cache.session_plan(method)
    return [
        ("quaternions", (quat,), _quaternions),
        ("kinematics (calibration, angles)", (joint,), kinematics.warmup),
        ("fusion (calibration window)", (offline,), lambda: fusion.warmup(["vqf-offline"])),
        (f"fusion ({method}, large blocks)", (batch,),
         lambda: fusion.warmup([method], streaming=False)),
        ("repetitions", (rep,), reps.warmup),
    ]


def _quaternions() -> None:
    q = np.tile([1.0, 0.0, 0.0, 0.0], (2, 1))
    v = np.zeros((2, 3))
    quaternion.multiply(q, q)
    quaternion.rotate(q, v)
    quaternion.rotate(q, v, inverse=True)
    quaternion.from_matrix(quaternion.to_matrix(q))


def foreground(method: str) -> float:
    """Compile (or load) the streaming entries of fusion ``method``; returns seconds."""
    t0 = time.perf_counter()
    for _what, _mods, fn in foreground_steps(method):
        fn()
    return time.perf_counter() - t0


def start_background(method: str) -> threading.Thread | None:
    """Compile (or load) the rest on a daemon thread, once per process and method; returns
    the thread (None when it was started before)."""
    with _lock:
        if method in _started:
            return None
        _started.add(method)

    def work() -> None:
        for what, _mods, fn in background_steps(method):
            t0 = time.perf_counter()
            try:
                fn()
            except Exception:  # the engine compiles it itself on first use
                logger.exception("background compilation of %s failed", what)
            logger.debug("%s ready in %.2f s", what, time.perf_counter() - t0)

    thread = threading.Thread(target=work, name="motiontrack-compile", daemon=True)
    thread.start()
    return thread


def foreground_with_progress(method: str, *, quiet: bool = False) -> float:
    """:func:`foreground` with a progress bar (``motiontrack._progress``, stderr) when it
    compiles: the bar runs on the estimated seconds (:mod:`motiontrack._kernels._cache`)."""
    fg, _ = _cache.first_run_s(method)
    if not fg:
        return foreground(method)
    t0 = time.perf_counter()
    failed: list[BaseException] = []

    def work() -> None:
        try:
            foreground(method)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=work, name="motiontrack-compile-fg", daemon=True)
    thread.start()
    with _progress.progress(total=round(fg, 1), desc="compiling kernels (first run)", unit="s",
                            quiet=quiet) as bar:
        while thread.is_alive():
            thread.join(0.1)
            bar.n = round(min(time.perf_counter() - t0, 0.99 * fg), 1)
            bar.refresh()
        bar.n = round(fg, 1)
        bar.refresh()
    if failed:
        raise failed[0]
    return time.perf_counter() - t0
