"""Helpers shared by the session-team sub-commands: progress lines, TTY detection, JSON,
recording output files."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..errors import ConfigurationError, RecordingError


def is_tty(stream: TextIO | None = None) -> bool:
    s = stream or sys.stdout
    try:
        return s.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """One updating status line on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = is_tty(self.stream) if enabled is None else enabled
        self._t0 = time.monotonic()
        self._width = 0

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        line = f"[{time.monotonic() - self._t0:5.1f} s] {message}..."
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def done(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def print_json(obj: Any) -> None:
    """Print one JSON object on stdout (a closed pipe, as with ``| head``, is not an error)."""
    write_stdout(json.dumps(obj, indent=2, allow_nan=False, default=_default) + "\n")


def print_json_line(obj: Any) -> None:
    """Print one compact JSON object on one line of stdout (JSON Lines)."""
    write_stdout(json.dumps(obj, allow_nan=False, default=_default) + "\n")


def write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def prepare_output(
    path: str, overwrite: bool, *, option: str = "-o", flag: str | None = "--overwrite"
) -> None:
    """Refuse an existing output file unless ``overwrite`` (checked before any sensor is
    opened); with it, remove the old file so that the recording starts afresh. The error
    names the command's real ``option`` for the file and its ``flag`` to replace it, if any."""
    p = Path(path)
    if p.is_dir():
        raise RecordingError(f"{p} is a directory; give a file name with {option}")
    if not (p.exists() or p.is_symlink()):
        return
    if not overwrite:
        raise RecordingError(
            f"{p} exists; choose another name with {option}"
            + (f", or pass {flag} to replace it" if flag else ", or delete it first")
        )
    try:
        os.unlink(p)
    except OSError as exc:
        raise RecordingError(f"cannot replace {p}: {exc.strerror}") from None


def parse_sources(items: list[str]) -> dict[str, str]:
    """Sensor name -> source of ``SOURCE`` or ``NAME=SOURCE`` arguments (``record``,
    ``stream --web``): ``sim:thigh`` is named ``thigh``, a ``ble:`` source ``sensorN``."""
    out: dict[str, str] = {}
    for item in items:
        if "=" in item:
            name, src = item.split("=", 1)
        else:
            src = item
            kind, _, target = src.partition(":")
            if kind not in ("ble", "sim", "replay") or not target:
                raise ConfigurationError(
                    f"unknown source {item!r}: use ble:ADDRESS, sim:NAME or NAME=SOURCE"
                )
            name = target if kind == "sim" else f"sensor{len(out) + 1}"
        if name in out:
            raise ConfigurationError(f"two sensors named {name!r}; name them NAME=SOURCE")
        out[name] = src
    return out
