"""Live view of a session for the terminal: one updating status line on a TTY, plain
event lines otherwise, or JSON lines (``--json``).

Lines are printed in session-time order: each carries the session time at which the session
reported it. Reps made while the session was still calibrating are reported once it is
calibrated: their line carries that time and the rep's own span (``rep 1 (4.2-7.1 s)``).
Until the angle is known the status line says what it waits for."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import TextIO

from .. import events as ev
from ..session import _warm
from ._common import is_tty


class LiveView:
    """Print session events for people (or, with ``json_lines``, one JSON object per line).

    On a terminal the current angle, rep count and last ROM sit on one line that is
    rewritten in place (at most ``fps`` times a second); other events print above it.
    """

    def __init__(
        self,
        *,
        json_lines: bool = False,
        quiet: bool = False,
        stream: TextIO | None = None,
        fps: float = 10.0,
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = is_tty(self.stream) and not json_lines
        self.json_lines = json_lines
        self.quiet = quiet
        self.min_interval = 1.0 / fps
        self._last_draw = 0.0
        self._status = ""
        self.angle_name = "angle"
        self.angle = math.nan
        self.t = 0.0
        self.count = 0
        self.last_rom: float | None = None
        self.calibrated = False
        self.ended = False
        self.pending = "waiting for the sensors"  # why there is no angle yet

    def _compose(self) -> str:
        return self._compose_session() + _compiling()

    def _compose_session(self) -> str:
        rom = "" if self.last_rom is None else f"   last ROM {self.last_rom:5.1f}°"
        if not self.calibrated or not math.isfinite(self.angle):
            why = self.pending if not self.calibrated else "no data (gap)"
            return f"t {self.t:6.1f} s   {self.angle_name} pending: {why}   reps {self.count}{rom}"
        n = int(max(0, min(30, round(self.angle / 5))))
        bar = "  |" + "#" * n + " " * (30 - n) + "|"
        return f"t {self.t:6.1f} s   {self.angle_name} {self.angle:6.1f}°   reps {self.count}{rom}{bar}"

    def _print(self, line: str) -> None:
        if self.quiet:
            return
        if self.tty and self._status:
            self.stream.write("\r\x1b[2K")
        self.stream.write(line + "\n")
        if self.tty:
            self._status = self._compose()
            self.stream.write(self._status)
        self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if not self.tty or self.quiet:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._status = self._compose()
        self.stream.write("\r\x1b[2K" + self._status)
        self.stream.flush()

    def __call__(self, e: ev.SessionEvent) -> None:
        if isinstance(e, ev.SessionEnded):
            # a session can deliver its end twice (the source ending and the close at the
            # end of ``async with`` both close it); the session ends once
            if self.ended:
                return
            self.ended = True
        if self.json_lines:
            if not isinstance(e, ev.AngleUpdate):
                self.stream.write(json.dumps(ev.event_to_dict(e), default=ev.json_default) + "\n")
                self.stream.flush()
            return
        t = self.t = max(self.t, e.t)  # the time of each line: session time, never backwards
        if isinstance(e, ev.AngleUpdate):
            self.angle_name = e.names[0].replace("_deg", "") if e.names else "angle"
            self.angle = e.angle_deg
            if not self.tty and not self.quiet:
                pass  # plain output: no per-block lines (reps and events only)
            self._draw()
            return
        if isinstance(e, ev.RepCompleted):
            self.count = e.count
            self.last_rom = e.rep.rom_deg
            r = e.rep
            flags = ",".join(f.name.lower() for f in type(r.flags) if f and f in r.flags) or "ok"
            self._print(
                f"[{t:7.2f} s] rep {e.count:2d} ({r.start_s:.1f}-{r.end_s:.1f} s): {r.min_deg:5.1f}° -> "
                f"{r.max_deg:5.1f}°  ROM {r.rom_deg:5.1f}°  {r.duration_s:4.1f} s  {flags}"
            )
        elif isinstance(e, ev.RepInterrupted):
            r = e.rep
            self._print(
                f"[{t:7.2f} s] rep cut by a data gap ({r.start_s:.1f}-{r.end_s:.1f} s): not counted"
            )
        elif isinstance(e, ev.CalibrationPrompt):
            if e.step == "still":
                self.pending = "calibrating: hold still (this pose is 0°)"
            elif e.step == "move":
                self.pending = "calibrating from your first movements"
            self._print(f"[{t:7.2f} s] >>> {e.message}")
        elif isinstance(e, ev.CalibrationDone):
            self.calibrated = True
            self._print(
                f"[{t:7.2f} s] calibrated ({e.pose} pose, confidence {e.confidence:.2f}): "
                "angles from now on"
            )
        elif isinstance(e, ev.CalibrationFailed):
            self.pending = "calibrating: keep moving"
            self._print(f"[{t:7.2f} s] calibration not yet: {e.reason}")
        elif isinstance(e, ev.SensorDisconnected):
            self._print(f"[{t:7.2f} s] {e.sensor} disconnected {e.detail}".rstrip())
        elif isinstance(e, ev.SensorReconnected):
            self._print(f"[{t:7.2f} s] {e.sensor} reconnected")
        elif isinstance(e, ev.DataGap) and not e.bridged:  # bridged holes: no line each
            self._print(
                f"[{t:7.2f} s] gap: {e.sensor} lost {e.missing_samples} samples ({e.cause})"
            )
        elif isinstance(e, ev.EventsDropped):
            self._print(f"[{t:7.2f} s] display fell behind: {e.count} updates skipped")
        elif isinstance(e, ev.SessionStarted):
            self.calibrated = e.joint is None
            self.pending = "calibrating"
            note = "" if self.calibrated else " (the angle shows once calibrated: stand still, then move)"
            self._print(f"streaming from {e.source}{note}")
        self._draw()

    def close(self) -> None:
        if self.tty and self._status and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
        self._status = ""


def _compiling() -> str:
    """A progress bar of a first run's kernel compilation while it runs (``session._warm``)."""
    c = _warm.compiler()
    if c is None or c.done >= c.total or not c.thread.is_alive():
        return ""
    n = round(10 * c.fraction())
    return f"   compiling kernels (first run) [{'#' * n}{'.' * (10 - n)}] {c.done}/{c.total}"

