"""Owner-only files for health data: recordings, reports, exports, calibrations.

Everything motiontrack writes about a person (samples, angles, orientations, reps,
calibrations, bench results) is created readable and writable by the owner only (0600),
and a file that already exists with wider permissions is narrowed before it is written.
It lives in the lowest layer that writes files, so that every writer (``recording``,
``io``, ``calibration``, ``report``, ``cli``) uses this one helper.
"""

from __future__ import annotations

import os
from typing import IO, Any

__all__ = ["PRIVATE_MODE", "open_private", "open_private_fd"]

#: Permissions of every file motiontrack writes: owner read/write only.
PRIVATE_MODE = 0o600


def open_private_fd(path: str | os.PathLike[str], *, overwrite: bool = True) -> int:
    """Open ``path`` for writing with mode 0600 and return the descriptor.

    ``overwrite=False`` refuses an existing file (:class:`FileExistsError`); otherwise an
    existing file is truncated and its mode set to 0600 (``os.open`` applies the mode only
    when it creates the file).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    flags |= getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE) if hasattr(os, "fchmod") else os.chmod(path, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> IO[Any]:
    """:func:`open` for writing a new or replaced file with owner-only permissions (0600).

    ``mode`` is ``"w"``/``"wb"`` (replace) or ``"x"``/``"xb"`` (new file only); ``kwargs``
    go to :func:`os.fdopen` (``newline``, ``encoding``).
    """
    if mode not in ("w", "wb", "x", "xb"):
        raise ValueError(f"open_private writes files: mode 'w', 'wb', 'x' or 'xb', not {mode!r}")
    fd = open_private_fd(path, overwrite=mode.startswith("w"))
    try:
        return os.fdopen(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise
