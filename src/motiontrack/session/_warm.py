"""First run of a live session: compile only what it needs, in the order it needs it.

Kernels compile on their first call and are cached on disk (``motiontrack._kernels``); a
first run has nothing cached. A live session needs its fusion filter's streaming entries
from the first sample, the calibration's kernels once it has seen the standing pose and some
motion, and the rep counter's once it is calibrated (10-25 s of the session protocol later).

* Warm cache (every run after the first): :func:`foreground` loads the streaming entries
  before streaming starts (milliseconds) and :func:`start_background` loads the rest on a
  thread.
* First run (:func:`start_compiler`): a background *process* compiles them all, in the
  order the session needs them (calibration, rep counter, then the filter's streaming
  entries), filling the on-disk cache on the second core; streaming starts at once, its
  filter running the *same* kernel source as plain Python (``_jit.interpreted``, ~0.1-0.2 ms
  a sample) until the compiled entries are on disk. A loader thread in this process loads
  each step from the cache as soon as the process reports it done; the filter switches to the
  compiled entry at its next sample (its state lives in the filter's buffer: the stream goes
  on where it was; round-off level differences only). The session's engine thread runs every
  kernel the process has not compiled yet as Python (calibration, reps: ``_jit.Switch``, opted
  in by ``_jit.interpret_pending``); any other thread reaching one waits for it: the loader
  holds numba's compiler lock until the process is done, so nothing compiles a kernel a second
  time. At exit, this process waits for the compiler process to finish filling the cache (so
  that the next run is warm). If the process fails, the lock is released and what is still
  needed compiles here.

Safe by construction: the results do not depend on who compiled a kernel; interpreted and
compiled kernels differ by round-off (fastmath), tests/test_kernels_interpreted.py.
"""

from __future__ import annotations

import atexit
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from .. import _progress, fusion, kinematics, quaternion, reps
from .._kernels import _cache, _jit

logger = logging.getLogger(__name__)

__all__ = [
    "background_steps",
    "foreground",
    "foreground_steps",
    "foreground_with_progress",
    "compiler",
    "start_background",
    "start_compiler",
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
    """Compile (or load) the streaming entries of fusion ``method``; returns seconds. On a
    first run (nothing cached) this starts the compiler process instead (:func:`start_compiler`)
    and returns at once: the filter runs interpreted until its entries are compiled."""
    t0 = time.perf_counter()
    if start_compiler(method) is None and compiler(method) is None:
        for _what, _mods, fn in foreground_steps(method):
            fn()
    return time.perf_counter() - t0


def start_background(method: str) -> threading.Thread | None:
    """Compile (or load) the rest on a daemon thread, once per process and method; returns
    the thread (None when it was started before)."""
    with _lock:
        if method in _started or method in _compilers:
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
    compiles in this process (the compiler process was refused: ``MOTIONTRACK_INTERPRETED=0``):
    the bar runs on the estimated seconds (:mod:`motiontrack._kernels._cache`)."""
    fg, _ = _cache.first_run_s(method)
    if not fg or start_compiler(method) is not None or compiler(method) is not None:
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


# -- the compiler process of a first run -------------------------------------------------------
_compilers: dict[str, Compiler] = {}


def compiler_steps(method: str) -> list[Step]:
    """What the compiler process compiles, in order: what the session needs first among what
    cannot run interpreted (the calibration's, the rep counter's kernels), then the filter's
    streaming entries (interpreted meanwhile)."""
    return background_steps(method) + foreground_steps(method)


class Compiler:
    """A compiler process filling the cache, and the thread that loads what it has compiled.

    ``done``/``total`` steps, ``estimate_s`` (seconds the whole takes, as estimated),
    ``failed`` (True when the process failed: the engine compiles what it needs itself).
    """

    def __init__(self, method: str, proc: subprocess.Popen[str]) -> None:
        self.method = method
        self.steps = compiler_steps(method)
        self.total = len(self.steps)
        self.done = 0
        self.failed = False
        self.t0 = time.perf_counter()
        cold = set(_cache.missing({m.removesuffix("_batch") for _w, mods, _f in self.steps for m in mods}))
        self.estimate_s = _cache.estimate_s(m for _w, mods, _f in self.steps for m in mods
                                            if m.removesuffix("_batch") in cold)
        self.proc = proc
        _jit.set_pending(["*"])  # every kernel runs interpreted until the loader says otherwise
        self.thread = threading.Thread(target=self._load, name="motiontrack-compile-load", daemon=True)
        self.thread.start()  # (not waited for: it imports numba while the session starts)

    def _load(self) -> None:
        _jit.activate()
        from numba.core.compiler_lock import global_compiler_lock  # lazy: numba loads in activate()

        try:
            with global_compiler_lock:  # (see the module notes)
                try:
                    self._follow()
                finally:  # (before the lock is released: numba compiles nothing while any is pending)
                    self.failed = self.proc.wait() != 0 or self.done < self.total
                    _jit.set_pending(["*"], False)
        finally:
            if self.failed:
                logger.warning("the kernel compiler process failed: compiling in this process instead")

    def _follow(self) -> None:
        """Load each step the process reports done; its kernels then run compiled here."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            word, index, names = (line.strip().split(" ") + ["", ""])[:3]
            if word != "done" or not index.isdigit():
                continue
            what, _mods, fn = self.steps[int(index)]
            t0 = time.perf_counter()
            try:
                with _jit.compiled():
                    fn()  # loads from the cache the process has just filled
            except Exception:  # the engine compiles it itself once the process is done
                logger.exception("loading %s failed", what)
            else:
                _jit.set_pending([n for n in names.split(",") if n], False)
            self.done += 1
            logger.debug("%s compiled and loaded (%.2f s)", what, time.perf_counter() - t0)

    def wait(self) -> None:
        """Until the process is done and its kernels are loaded here."""
        self.thread.join()

    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def start_compiler(method: str) -> Compiler | None:
    """On a first run (kernels of fusion ``method``'s session missing on disk), start the
    compiler process; None when the cache is warm, when it was started before, or when
    ``MOTIONTRACK_INTERPRETED=0`` (the old way: compile in this process)."""
    with _lock:
        if method in _compilers or method in _started or _jit.interpreted_off():
            return None
        proc = _cache.take_spawned(method)  # (started by the command line before its imports)
        if proc is None:
            _cache.spawn_compiler(method)
            proc = _cache.take_spawned(method)
        if proc is None:  # the session's kernels are cached
            return None
        c = _compilers[method] = Compiler(method, proc)
    return c


def compiler(method: str | None = None) -> Compiler | None:
    """The compiler process of ``method`` (or any) started in this process, if any."""
    if method is None:
        return next(iter(_compilers.values()), None)
    return _compilers.get(method)


@atexit.register
def _finish() -> None:
    """At exit, let a compiler process finish filling the cache (the next run is warm)."""
    for c in list(_compilers.values()):
        if c.proc.poll() is None:
            if getattr(sys.stderr, "isatty", lambda: False)():
                left = max(0.0, c.estimate_s - (time.perf_counter() - c.t0))
                print(f"motiontrack: finishing the kernel cache for the next runs (about {left:.0f} s more; "
                      "Ctrl-C skips it, the next run then compiles the rest)", file=sys.stderr, flush=True)
            c.proc.wait()


def _main(argv: list[str]) -> int:
    """The compiler process: compile every step for ``argv[0]`` (the fusion method), in
    order, saying ``done <index>`` after each."""
    method = argv[0]
    seen: set[str] = set()
    for i, (_what, _mods, fn) in enumerate(compiler_steps(method)):
        with _jit.compiled():
            fn()
        names = {_jit.name_of(k) for k in _jit._ALL if k._dispatcher is not None and k._dispatcher.signatures}
        print(f"done {i} {','.join(sorted(names - seen))}", flush=True)
        seen |= names
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
