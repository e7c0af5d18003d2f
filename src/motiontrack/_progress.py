"""One progress bar for every long piece of work (batch, kernel compilation, bench, export).

Bars go to stderr and only when stderr is a terminal, so that ``--json`` output, pipes and
logs stay clean; ``quiet=True`` (what ``--json`` passes) or ``MOTIONTRACK_QUIET=1`` turns them
off everywhere. tqdm draws them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")

__all__ = ["enabled", "progress", "track"]


def enabled(quiet: bool = False) -> bool:
    """Whether a progress bar would be drawn: not quiet, not ``MOTIONTRACK_QUIET``, a terminal."""
    if quiet or os.environ.get("MOTIONTRACK_QUIET", "") not in ("", "0"):
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(total: float | None = None, desc: str = "", unit: str = "it",
             quiet: bool = False) -> tqdm:
    """A manual bar (call ``.update(n)``; use as a context manager); a no-op one when disabled."""
    # lazily: tqdm (with the email parser its version lookup loads) took ~15 ms of every
    # import of motiontrack.io, mostly for runs that draw no bar
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                disable=not enabled(quiet), dynamic_ncols=True)


def track(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it",
          quiet: bool = False) -> Iterator[T]:
    """Iterate over ``items`` with a bar."""
    with progress(total=total if total is not None else _len(items), desc=desc, unit=unit,
                  quiet=quiet) as bar:
        for item in items:
            yield item
            bar.update(1)


def _len(items: Iterable[object]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
