"""The one ``jit`` decorator every kernel uses: compiler flags live here only.

* ``cache=True``: compiled code is written to disk (:mod:`._cache` says where) and reloaded by later processes, so
  start-up after the first run costs milliseconds. numba checks only a kernel's *own*
  source file, not the helpers it calls from other modules, so the cache lives in a folder
  named after a hash of every kernel source (``~/.cache/motiontrack/numba-<hash>``, or
  ``$XDG_CACHE_HOME``): editing any kernel file starts a fresh cache instead of loading a
  stale machine code. ``NUMBA_CACHE_DIR``, when set, is used as is.
* Compilation is lazy: nothing compiles at import; a kernel compiles on its first call
  (or in :func:`motiontrack.warmup`).
* ``fastmath`` is limited to flags that cannot change NaN/inf handling: kernels rely on
  ``math.isfinite`` to skip missing samples, so ``nnan``/``ninf`` are never enabled.
  ``contract`` (fused multiply-add), ``arcp`` (x / y as x * (1 / y)) and ``nsz`` (the sign
  of zero is free) changed results by round-off only and sped the classic filters up by
  ~25 % (benchmarks/fusion_speed.py); ``reassoc``/``afn`` are left out.
* ``error_model="numpy"``: division by zero gives inf/NaN instead of raising, so a
  kernel never raises.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numba
import numba.core.config

from ._cache import cache_dir

F = TypeVar("F", bound=Callable[..., Any])

FASTMATH = frozenset({"contract", "arcp", "nsz"})

_OPTIONS: dict[str, Any] = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": set(FASTMATH),
    "boundscheck": False,
}

#: Every kernel registered with :func:`jit`, for :func:`motiontrack.warmup`.
REGISTRY: list[Any] = []


_CACHE_DIR = cache_dir()


def _njit(func: Any) -> Any:
    # numba picks a function's cache folder when the dispatcher is created; point it at ours
    # for motiontrack's kernels only, leaving other packages' numba caches where they were.
    saved = numba.core.config.CACHE_DIR
    if _CACHE_DIR is not None:
        numba.core.config.CACHE_DIR = _CACHE_DIR
    try:
        return numba.njit(**_OPTIONS)(func)
    finally:
        numba.core.config.CACHE_DIR = saved


def jit(func: F) -> F:
    """Compile ``func`` lazily with motiontrack's flags."""
    dispatcher = _njit(func)
    REGISTRY.append(dispatcher)
    return dispatcher  # type: ignore[return-value]


def inline(func: F) -> F:
    """A small helper called from kernels (still cached).

    Compiled as its own numba function; LLVM inlines it into each caller when the caller's
    module is optimised (no call remains in the kernels' machine code). numba's IR-level
    ``inline="always"`` gave the same code but tripled cold compile times (madgwick.run
    3.9 s -> 1.25 s, ekf.run 13.9 s -> 4.7 s on the benchmark machine).
    """
    dispatcher = _njit(func)
    return dispatcher  # type: ignore[return-value]


def entry_point(dispatcher: Any, *example_args: Any) -> Callable[..., Any]:
    """The compiled entry point of ``dispatcher`` for the types of ``example_args``.

    Compiles (or loads from the cache) that one specialisation without running it and returns
    the native entry, which skips numba's per-call type dispatch (~0.1-0.3 µs). The caller
    must only pass arguments of exactly those types (same dtype, ndim, C-contiguous, native
    byte order): the entry unboxes without checking. Under ``NUMBA_DISABLE_JIT=1`` this is
    the plain Python function.
    """
    if not isinstance(dispatcher, numba.core.dispatcher.Dispatcher):
        return dispatcher  # NUMBA_DISABLE_JIT: plain function
    sig = tuple(numba.typeof(a) for a in example_args)
    dispatcher.compile(sig)
    return dispatcher.overloads[sig].entry_point
