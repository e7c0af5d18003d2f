"""The one ``jit`` decorator every kernel uses: compiler flags live here only.

* ``cache=True``: compiled code is written to disk (:mod:`._cache` says where) and reloaded by later processes, so
  start-up after the first run costs milliseconds. numba checks only a kernel's *own*
  source file, not the helpers it calls from other modules, so the cache lives in a folder
  named after a hash of every kernel source (``~/.cache/motiontrack/numba-<hash>``, or
  ``$XDG_CACHE_HOME``): editing any kernel file starts a fresh cache instead of loading a
  stale machine code. ``NUMBA_CACHE_DIR``, when set, is used as is.
* Compilation is lazy: nothing compiles at import; a kernel compiles on its first call
  (or in :func:`motiontrack.warmup`).
* numba itself is imported lazily: a kernel is a :class:`Kernel` until the first call that
  needs machine code, when :func:`activate` imports numba (~0.3-0.8 s with its target
  initialisation) and puts numba dispatchers in place of every :class:`Kernel` in the kernel
  modules. Until then (and, for the callers that ask, while a kernel module compiles in a
  background process, :func:`pending`) the *same* kernel source can run as plain Python:
  :func:`interpreted`. ``import motiontrack`` imports no numba and compiles nothing.
* ``fastmath`` is limited to flags that cannot change NaN/inf handling: kernels rely on
  ``math.isfinite`` to skip missing samples, so ``nnan``/``ninf`` are never enabled.
  ``contract`` (fused multiply-add), ``arcp`` (x / y as x * (1 / y)) and ``nsz`` (the sign
  of zero is free) changed results by round-off only and sped the classic filters up by
  ~25 % (benchmarks/fusion_speed.py); ``reassoc``/``afn`` are left out. (The interpreted
  kernels compute in plain IEEE arithmetic: they differ from the compiled ones by round-off
  only, tests/test_kernels_interpreted.py.)
* ``error_model="numpy"``: division by zero gives inf/NaN instead of raising, so a
  kernel never raises.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any, Callable, TypeVar

import numpy as np

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

#: Every kernel registered with :func:`jit` (:class:`Kernel`), for :func:`motiontrack.warmup`.
REGISTRY: list[Kernel] = []
_ALL: list[Kernel] = []  # every Kernel, helpers (inline) included
_lock = threading.RLock()
_active = False
_CACHE_DIR: str | None = None

#: Samples a process may run interpreted in small batch calls before it loads numba
#: (:func:`use_interpreted`, :func:`small_call`): ``fuse`` of a handful of rows costs less as
#: Python (~0.2 ms a sample) than loading numba and its compiled code (~0.5-1 s).
INTERPRETED_BUDGET = 16
_budget = [INTERPRETED_BUDGET]  # (samples left)
_pending: set[str] = set()


class Kernel:
    """A kernel before numba is loaded: its Python function and its compiler options.

    Calling it, or asking for a numba attribute (``signatures``, ``compile``, ...), loads
    numba (:func:`activate`) and forwards to the dispatcher. ``py_func`` is the kernel's
    Python function (as on a numba dispatcher).
    """

    __slots__ = ("__dict__", "_dispatcher", "py_func", "targetoptions")

    def __init__(self, func: Callable[..., Any]) -> None:
        self.py_func = func
        self.targetoptions: dict[str, Any] = {}  # set by fusion_common's flag helpers, applied in activate()
        self._dispatcher: Any = None
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self.__doc__ = func.__doc__

    @property
    def dispatcher(self) -> Any:
        """The numba dispatcher (numba loaded on first use)."""
        if self._dispatcher is None:
            activate()
        return self._dispatcher

    def __call__(self, *args: Any) -> Any:
        if _pending and getattr(_here, "on", False) and not getattr(_forced, "on", False):
            if name_of(self) in _pending:
                return interpreted(self)(*args)
        return self.dispatcher(*args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __repr__(self) -> str:
        return f"<kernel {self.__module__}.{self.__qualname__}>"


def jit(func: F) -> F:
    """Compile ``func`` lazily with motiontrack's flags."""
    k = _new(func)
    REGISTRY.append(k.kernel if type(k) is Switch else k)
    return k  # type: ignore[return-value]


def inline(func: F) -> F:
    """A small helper called from kernels (still cached).

    Compiled as its own numba function; LLVM inlines it into each caller when the caller's
    module is optimised (no call remains in the kernels' machine code). numba's IR-level
    ``inline="always"`` gave the same code but tripled cold compile times (madgwick.run
    3.9 s -> 1.25 s, ekf.run 13.9 s -> 4.7 s on the benchmark machine).
    """
    return _new(func)  # type: ignore[return-value]


def _new(func: Any) -> Any:
    k = Kernel(func)
    _ALL.append(k)
    if _pend_new[0]:  # a kernel module imported while a compiler process runs
        _pending.add(name_of(k))
        return Switch(k)
    return k


def is_active() -> bool:
    """Whether numba is loaded and the kernels are numba dispatchers."""
    return _active


def activate() -> None:
    """Import numba and put a dispatcher in place of every :class:`Kernel`, in the kernel
    modules' namespaces (which numba reads when it compiles a kernel that calls another).
    Kernel modules imported later are handled when their first kernel is needed."""
    global _active, _CACHE_DIR, _has_nrt
    with _lock:
        new = [k for k in _ALL if k._dispatcher is None]
        if _active and not new:
            return
        import numba  # lazy: numba loads on the first call that needs machine code (module notes)
        import numba.core.config  # lazy: as numba

        if not _active:
            from numba.core.cpu import CPUTargetOptions  # lazy: as numba

            _has_nrt = hasattr(CPUTargetOptions, "_nrt")
            _CACHE_DIR = cache_dir()
        for k in new:
            k._dispatcher = _njit(numba, k.py_func, k.targetoptions, _has_nrt)
        for name in {k.py_func.__module__ for k in _ALL}:
            ns = sys.modules[name].__dict__
            for attr, value in list(ns.items()):
                if type(value) is Kernel:
                    ns[attr] = value._dispatcher
        if _pending:
            _place(set(_pending))  # (their Switches back)
        _active = True


_has_nrt = False


def _njit(numba: Any, func: Any, extra: dict[str, Any], has_nrt: bool) -> Any:
    # numba picks a function's cache folder when the dispatcher is created; point it at ours
    # for motiontrack's kernels only, leaving other packages' numba caches where they were.
    saved = numba.core.config.CACHE_DIR
    if _CACHE_DIR is not None:
        numba.core.config.CACHE_DIR = _CACHE_DIR
    try:
        d = numba.njit(**_OPTIONS)(func)
    finally:
        numba.core.config.CACHE_DIR = saved
    options = getattr(d, "targetoptions", None)
    if options is not None:  # (None under NUMBA_DISABLE_JIT=1: the plain function)
        options.update((k, v) for k, v in extra.items() if k != "_nrt" or has_nrt)
    return d


def entry_point(dispatcher: Any, *example_args: Any) -> Callable[..., Any]:
    """The compiled entry point of ``dispatcher`` for the types of ``example_args``.

    Compiles (or loads from the cache) that one specialisation without running it and returns
    the native entry, which skips numba's per-call type dispatch (~0.1-0.3 µs). The caller
    must only pass arguments of exactly those types (same dtype, ndim, C-contiguous, native
    byte order): the entry unboxes without checking. Under ``NUMBA_DISABLE_JIT=1`` this is
    the plain Python function.
    """
    if type(dispatcher) is Switch:
        dispatcher = dispatcher.kernel
    if type(dispatcher) is Kernel:
        dispatcher = dispatcher.dispatcher
    import numba  # lazy: loaded by the line above already (module notes)

    if not isinstance(dispatcher, numba.core.dispatcher.Dispatcher):
        return dispatcher  # NUMBA_DISABLE_JIT: plain function
    sig = tuple(numba.typeof(a) for a in example_args)
    dispatcher.compile(sig)
    return dispatcher.overloads[sig].entry_point


# -- the same kernels as plain Python -------------------------------------------------------
_interp: dict[int, Callable[..., Any]] = {}  # id(Kernel) -> function over interpreted globals
_interp_n = [0]


def interpreted(kernel: Any) -> Callable[..., Any]:
    """The kernel's own Python function, calling the other kernels as Python too.

    (A kernel's ``py_func`` alone would call its helpers through the module namespace, where
    they are numba dispatchers once numba is loaded, compiling them: each kernel module gets a
    copy of its namespace here in which every kernel is its interpreted function.)
    """
    k = _kernel_of(kernel)
    with _lock:
        if _interp_n[0] != len(_ALL):
            _build_interpreted()
        return _interp[id(k)]


def _kernel_of(obj: Any) -> Kernel:
    if type(obj) is Switch:
        return obj.kernel
    if type(obj) is Kernel:
        return obj
    for k in _ALL:
        if k._dispatcher is obj or k.py_func is obj:
            return k
    raise TypeError(f"{obj!r} is not a motiontrack kernel")


def _build_interpreted() -> None:
    by_obj: dict[int, Kernel] = {}
    for k in _ALL:
        by_obj[id(k)] = k
        if k._dispatcher is not None:
            by_obj[id(k._dispatcher)] = k
    names = {k.py_func.__module__ for k in _ALL}
    spaces = {name: dict(sys.modules[name].__dict__) for name in names}
    funcs = {}
    for k in _ALL:
        f = k.py_func
        g = types.FunctionType(f.__code__, spaces[f.__module__], f.__name__, f.__defaults__, f.__closure__)
        g.__kwdefaults__ = f.__kwdefaults__
        funcs[id(k)] = g
    for ns in spaces.values():
        for attr, value in list(ns.items()):
            if type(value) is Switch:
                value = value.kernel
            k = by_obj.get(id(value))
            if k is not None and (value is k or value is k._dispatcher) and attr in ns:
                ns[attr] = funcs[id(k)]
    _interp.clear()
    _interp.update({key: _quiet(f) for key, f in funcs.items()})
    _interp_n[0] = len(_ALL)


def _quiet(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` with numpy's floating-point warnings off, as compiled code has none (an overflow
    to inf, a 0/0 are results the kernels handle, not errors)."""
    def run(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return f(*args)

    run.__name__ = run.__qualname__ = f.__name__
    return run


# -- which to run: compiled or interpreted ---------------------------------------------------
def name_of(kernel: Any) -> str:
    """``"module.function"`` of a kernel (``"vqf.run1"``)."""
    f = getattr(kernel, "py_func", kernel)
    return f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}"


class Switch:
    """A kernel's name in its module's namespace while the kernel compiles in another process
    (:func:`set_pending`): a call runs the interpreted kernel, or the compiled one within
    :func:`compiled` (the loader, loading it from the cache). Callers that look the kernel up
    at call time (``_k.func(...)``) thus run it as Python until it is ready."""

    __slots__ = ("kernel",)

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def __call__(self, *args: Any) -> Any:
        k = self.kernel
        if getattr(_forced, "on", False) or not getattr(_here, "on", False) or name_of(k) not in _pending:
            return k.dispatcher(*args)
        return interpreted(k)(*args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.kernel, name)


def set_pending(names: Any, pending: bool = True) -> None:
    """Mark kernels (``"vqf.run1"``, :func:`name_of`; ``"*"``: every kernel registered so far
    and every kernel registered from now on, until unmarked) as being compiled elsewhere (a
    background process filling the cache): :func:`use_interpreted` says True for them and
    calls through a kernel module's namespace run them interpreted (:class:`Switch`) until
    they are unmarked."""
    with _lock:
        wanted = set(names)
        if "*" in wanted:
            _pend_new[0] = pending
            wanted = {name_of(k) for k in _ALL}
        (_pending.update if pending else _pending.difference_update)(wanted)
        _place(wanted)


def _place(names: set[str]) -> None:
    """In every kernel module's namespace (a kernel is also imported by name into others),
    put the Switch of each kernel of ``names`` that is pending, else its dispatcher (or its
    Kernel before numba is loaded)."""
    by_id: dict[int, Kernel] = {}
    for k in _ALL:
        if name_of(k) in names:
            by_id[id(k)] = k
            if k._dispatcher is not None:
                by_id[id(k._dispatcher)] = k
    if not by_id:
        return
    for mod in {k.py_func.__module__ for k in _ALL}:
        ns = sys.modules[mod].__dict__
        for attr, value in list(ns.items()):
            k = by_id.get(id(value.kernel) if type(value) is Switch else id(value))
            if k is None:
                continue
            if name_of(k) in _pending:
                ns[attr] = value if type(value) is Switch else Switch(k)
            else:
                ns[attr] = k._dispatcher if k._dispatcher is not None else k


_pend_new = [False]


def pending() -> frozenset[str]:
    """The kernels being compiled in the background (:func:`set_pending`)."""
    return frozenset(_pending)


def use_interpreted(kernel: Any, n: int) -> bool:
    """Whether a caller that can run ``kernel`` interpreted should, for ``n`` samples:
    while it compiles in the background (:func:`set_pending`) on a thread that runs pending
    kernels interpreted (:func:`interpret_pending`), or, within :func:`small_call`,
    while numba is not loaded yet and the process has run fewer than
    :data:`INTERPRETED_BUDGET` samples interpreted so far.
    ``MOTIONTRACK_INTERPRETED=0`` turns both off (always compiled)."""
    if _OFF or getattr(_forced, "on", False):
        return False
    if _pending and getattr(_here, "on", False) and name_of(kernel) in _pending:
        return True
    return not _active and getattr(_small, "on", False)


_small = threading.local()


@contextlib.contextmanager
def small_call(n: int) -> Iterator[None]:
    """A whole small batch call (``fuse`` of a few samples, on a filter of its own) may run
    interpreted within :data:`INTERPRETED_BUDGET` (:func:`use_interpreted`). Not a streaming
    filter's calls: its output is then compiled from the first sample on, so that one-by-one
    and batch stay bit-identical."""
    before = getattr(_small, "on", False)
    with _lock:
        ok = not _active and n <= _budget[0]
        if ok:
            _budget[0] -= n
    _small.on = ok
    try:
        yield
    finally:
        _small.on = before


_OFF = os.environ.get("MOTIONTRACK_INTERPRETED", "1") == "0"
_here = threading.local()


def interpret_pending(on: bool = True) -> None:
    """Have this thread run pending kernels (:func:`set_pending`) as Python: a live session's
    engine thread, which must keep up with its sensors. Other threads wait for a pending kernel's
    compiled code instead (numba's compiler lock, ``session._warm``), so that unrelated work in
    the same process (a large ``analyze``) never runs 100x slower as Python."""
    _here.on = on


def interpreted_off() -> bool:
    """``MOTIONTRACK_INTERPRETED=0``: never run kernels interpreted (compile first, the old way)."""
    return _OFF

_forced = threading.local()


@contextlib.contextmanager
def compiled() -> Iterator[None]:
    """Within this block, on this thread, :func:`use_interpreted` says False: compile (or load)
    whatever runs (the warm-up functions)."""
    activate()
    before = getattr(_forced, "on", False)
    _forced.on = True
    try:
        yield
    finally:
        _forced.on = before
