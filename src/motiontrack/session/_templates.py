"""Template counting in a live :class:`~motiontrack.Session` (``Session(..., templates=[...])``).

The hook beside the engine: the blocks of the template's one sensor go, as they arrive, to a
:class:`motiontrack.reps.TemplateCounter` (the same kernel as ``motiontrack analyze
--template``); its reps come out as :class:`motiontrack.events.TemplateRepCompleted` on the
sensor's device time (the session time of a one-sensor session). Samples missing between
blocks are fed as NaN (a gap: no rep is counted across it). A rep's event carries the label
and execution measures known when it was counted (``rep.provisional``: the execution type is
fitted over the session's reps and can change with later ones); :attr:`LiveTemplates.reps`
(``Session.templates.reps``) holds every rep with its current labels, final once the session
has ended: those of :func:`motiontrack.reps.detect_template_reps` on the same samples with the
same settings (``motiontrack analyze --template`` compares matches over a longer slack,
:data:`motiontrack.template_analysis.OFFLINE_SLACK_S`). Live, a template of one sensor;
templates of several sensors or of a joint angle are counted offline
(:func:`motiontrack.template_analysis.analyze_templates`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from .. import events as ev
from ..errors import ConfigurationError
from ..reps import Template, TemplateCounter, warmup_templates

__all__ = ["LiveTemplates"]

#: the longest hole filled with NaN rows (longer ones restart the counter's clock), s
MAX_FILL_S = 600.0


class LiveTemplates:
    """Feed one sensor's blocks to a template counter; return template rep events."""

    def __init__(self, templates: Sequence[Template | str | os.PathLike[str]],
                 rates: Mapping[str, float]) -> None:
        tl = [t if isinstance(t, Template) else Template.load(t) for t in templates]
        if not tl:
            raise ConfigurationError("templates= needs at least one template")
        src = tl[0].source
        if src["kind"] != "imu" or len(tl[0].segments) != 1:
            raise ConfigurationError(
                "a live session counts templates of one sensor; count templates of several "
                "sensors or of a joint angle offline (motiontrack analyze --template)")
        self.sensor = tl[0].segments[0]
        if self.sensor not in rates:
            raise ConfigurationError(f"the template needs sensor {self.sensor!r}; the session "
                                     f"has {sorted(rates)}")
        self.templates = tl
        self.fs = float(rates[self.sensor])
        warmup_templates()  # compiled before the first block, not during the first rep
        self.counter: TemplateCounter | None = None
        self._next_t = 0.0

    def feed(self, sensor: str, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
             ) -> list[ev.SessionEvent]:
        if sensor != self.sensor or len(t) == 0:
            return []
        if self.counter is None:
            self.counter = TemplateCounter(self.templates, fs=self.fs, t0=float(t[0]))
            self._next_t = float(t[0])
        keep = t > self._next_t - 0.5 / self.fs  # a repeated sample is not fed twice
        t, acc, gyr = t[keep], acc[keep], gyr[keep]
        if len(t) == 0:
            return []
        missing = int(round((float(t[0]) - self._next_t) * self.fs))
        out = []
        if missing > 0:
            hole = np.full((min(missing, int(MAX_FILL_S * self.fs)), 3), np.nan)
            out += self.counter.update(imu={sensor: (hole, hole)})
        out += self.counter.update(imu={sensor: (gyr, acc)})
        self._next_t = float(t[-1]) + 1.0 / self.fs
        return [ev.TemplateRepCompleted(t=r.emitted_s, rep=r, count=r.index + 1) for r in out]

    @property
    def reps(self) -> list:
        """Every template rep so far (:class:`motiontrack.reps.TemplateRep`), relabelled with
        all the session's reps; final after :meth:`finish`."""
        return self.counter.reps if self.counter is not None else []

    def finish(self) -> list[ev.SessionEvent]:
        if self.counter is None:
            return []
        return [ev.TemplateRepCompleted(t=r.emitted_s, rep=r, count=r.index + 1)
                for r in self.counter.flush()]
