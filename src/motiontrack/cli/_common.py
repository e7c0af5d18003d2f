"""Helpers shared by the session-team sub-commands: progress lines, TTY detection, JSON."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

import numpy as np


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
