"""Rep counting by template: streaming :class:`TemplateCounter`, batch :func:`detect_template_reps`.

Every example of every template, at several amplitudes (:attr:`TemplateSettings.scales`), is
one row of the streaming subsequence-DTW kernel (:mod:`motiontrack._kernels.template_match`,
SPRING). Matches from different rows that overlap are one repetition, counted at the first of
them to be decided. A match reported later that overlaps the last reported rep by more than
``overlap_frac`` of the shorter of the two is that rep again (a long example matching the
whole of a rep whose first part a short example already reported): it is not counted, but it
is one more candidate for the rep's label; if it wins the label, the rep's start, end and
duration are its span (after the previous rep's end, before the next rep's start). The
overlap is measured in time and in movement (the feature path length within it, against the
smaller match's; ``motion_overlap``): two
reps share at most the rest between them, so a match that shares a movement of the last rep
(the lowering of one rep with the raising of the next, paired the other way round) is that
rep again, however short the movement is in time.

Labelling: the rep's *exercise* is that of its candidate with the lowest DTW cost plus
``measure_weight`` times ``|ln duration ratio| + |ln amplitude ratio|``. Among the variants
of that exercise (labels ``exercise/variant``), the execution type is chosen from the whole
rep's duration and amplitude, fitted over the session's reps
(:mod:`motiontrack.reps._template_typing`; ``TemplateSettings.typing = "session"``, the
default), or is the best candidate's template (``typing = "match"``).

Live, a rep is reported with the labels and measures known then (``provisional``): its
measures need :data:`~motiontrack.reps._template_typing.PAD_S` after it, and the session fit
changes with every rep. :attr:`TemplateCounter.reps` relabels every rep counted so far; after
:meth:`TemplateCounter.flush` they are final and equal to :func:`detect_template_reps` of the
whole recording with the same settings (one engine, one result).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._kernels import template_match as _k
from ..errors import InputError
from ._counter import _check_fs
from . import _template_typing as _ty
from ._restrap import Aligner, Mounting, exercise_groups
from ._template import Template, TemplateError, TemplateSettings, rate_columns
from ._template_rep import TemplateRep, _feature_speed, sparc
from ._template_stream import Stream, merge_events

__all__ = ["TemplateCounter", "TemplateRep", "detect_template_reps"]

_CHUNK = 4096  # input samples per kernel call (bounds the event buffer only)
_KEEP_S = 120.0  # s of features kept for the execution measures
_FIT_WEIGHT = 0.5  # templates of several exercises, "aligned": rank added per unit of an
#                   exercise's re-strap fit cost above the best exercise's (PT data re-strapped,
#                   subject 1: recognised 63.0 % without, 69.1 % at 0.5, 67.9 % at 2)
_FIT_LIVE = 120  # live, the session fit of an exercise's variants uses its last this many reps


@dataclass(slots=True)
class _Found:
    """A counted rep: the match that counted it, every candidate for its label, its timing
    and its whole-rep measures (final once the window after it has been seen)."""

    best: tuple
    cands: list  #: (rank, match) of every match of the rep
    emit_k: float
    timing: dict
    span: tuple[int, int] = (0, -1)  #: feature samples reported: the label-winning match's
    measures: tuple[float, float] = (0.0, 0.0)
    final: bool = False
    template: int = -1

    @property
    def winner(self) -> tuple:
        """The candidate match with the best rank: it names the rep's exercise and span."""
        return min(self.cands, key=lambda c: c[0])[1]


@dataclass(slots=True)
class _Row:
    template: int
    example: int
    scale: float
    m: int
    energy: float


class TemplateCounter:
    """Count repetitions live by matching example repetitions (one or many templates).

    Parameters
    ----------
    templates : Template or sequence of Template
        All from the same source (the same sensors, or a joint angle).
    fs : float
        Input sample rate, Hz (the templates may have been made at another rate).
    t0 : float
        Stream time of the first sample, s.
    settings : TemplateSettings, optional

    Notes
    -----
    Feeding samples one by one, in blocks, or all at once through
    :func:`detect_template_reps` gives the same reps (one kernel). A rep is returned by the
    :meth:`update` call holding the sample ``max_delay_s + slack_s`` plus one feature sample
    after its end (0.39 s by default). NaN samples are gaps: no rep is counted across one.

    With ``frame="aligned"`` templates, the input is held until each sensor's re-strap has
    been estimated (:mod:`motiontrack.reps._restrap`: on the first rest and the first rep,
    once it is back at rest, if that fits well; else on the first rest and 2.5 times the
    longest example), then run through the one kernel rotated into the templates' frames;
    a rep inside that window is reported when it closes (its ``emitted_s`` says when), every
    later rep as above. :attr:`mounting` is the estimate. Fed in blocks or at once, the
    window and the estimate are the same. With templates of several exercises (the labels'
    part before ``/``) each exercise gets its own fit (:attr:`mountings`) and its templates
    are matched on the input rotated by it (one kernel state per exercise, the same kernel);
    when the sensors as they are fit nearly as well (``_restrap.KEEP_RATIO``), none is
    rotated. Their matches compete in the one arbiter, each ranked up by ``_FIT_WEIGHT``
    times how much worse its exercise's fit is than the best.
    """

    def __init__(self, templates: Template | Sequence[Template], *, fs: float, t0: float = 0.0,
                 settings: TemplateSettings | None = None) -> None:
        self._fs = _check_fs(fs)
        self._st = settings or TemplateSettings()
        tl = [templates] if isinstance(templates, Template) else list(templates)
        if not tl or not all(isinstance(t, Template) for t in tl):
            raise TemplateError("give one or more motiontrack.Template objects")
        self._templates = tl
        self._kind = tl[0].source["kind"]
        if any(t.frame != tl[0].frame for t in tl):
            raise TemplateError("templates made with different feature frames cannot be used together")
        if self._kind == "imu" and self._st.frame != tl[0].frame:
            self._st = dataclasses.replace(self._st, frame=tl[0].frame)
        self._segments = tl[0].segments
        for t in tl[1:]:
            if t.source["kind"] != self._kind or set(t.segments) != set(self._segments):
                raise TemplateError(
                    f"templates {tl[0].label!r} and {t.label!r} come from different sources "
                    f"({_describe(tl[0])} vs {_describe(t)}); use templates of one source together")
        anchor = max(self._st.anchor_s, 2.5 * max(t.hold_s for t in tl))
        self._c = self._st.coefficients(self._fs, anchor)
        self._build_rows()
        self._t0 = float(t0)
        self.reset()

    # -- set-up -----------------------------------------------------------------------------
    def _example(self, t: Template, e: np.ndarray) -> np.ndarray:
        """An example with its feature columns in this counter's segment order."""
        if self._kind == "angle" or t.segments == self._segments:
            return e
        per = e.shape[1] // len(t.segments)
        cols = [per * t.segments.index(s) + q for s in self._segments for q in range(per)]
        return e[:, cols]

    def _build_rows(self) -> None:
        fr = self._st.feature_rate_hz
        ys, ws, rows, self._tsmooth, self._tamp = [], [], [], {}, {}
        self._grid_examples: list[list[np.ndarray]] = [[] for _ in self._templates]
        n_feat = self._templates[0].n_features
        rates = rate_columns(self._kind, self._templates[0].frame, n_feat)
        self._pose = np.array([c for c in range(n_feat) if c not in rates], dtype=np.int64)
        ex_meas: list[list[tuple[float, float]]] = [[] for _ in self._templates]
        # a row's energy floor (its threshold's scale): 1.5° of "up" change, below the
        # excursion of the smallest rep scaled down (a 10° chin tuck at 0.42: 4°), above the
        # sway left between reps (1-2°: a near-constant trace must not match a scaled bump)
        floor = math.radians(1.5) ** 2
        # how each feature column is compared (sensor-frame features, "sensor" and "aligned":
        # "up" from the match's start pose, the rates' leaky integral since the match's start)
        col = np.full(n_feat, _k.COL_ABS, np.int64)
        if self._kind == "imu" and self._st.frame in ("sensor", "aligned"):
            if self._st.pose_tolerance_deg > 0:
                col[:] = _k.COL_REL
            col[rates] = _k.COL_INT if self._st.rate_integral_s > 0 else _k.COL_ABS
        self._col = col
        integ = col == _k.COL_INT
        for ti, t in enumerate(self._templates):
            for ei, e in enumerate(t.examples):
                e = self._example(t, e)
                if abs(t.feature_rate_hz - fr) > 1e-9:  # a template made on another grid
                    n = max(3, round(e.shape[0] * fr / t.feature_rate_hz))
                    src = np.linspace(0, 1, e.shape[0])
                    e = np.column_stack([np.interp(np.linspace(0, 1, n), src, c) for c in e.T])
                self._grid_examples[ti].append(e)
                self._tamp[ti, ei] = float(np.linalg.norm(e - e[0], axis=1).max())
                self._tsmooth[ti, ei] = sparc(_feature_speed(e, fr), fr)
                ex_meas[ti].append(_ty.excursion_measures(e[:, self._pose], 0, e.shape[0] - 1, fr))
                if integ.any():  # as the kernel: the rates' leaky integral, rad
                    e = e.copy()
                    lk = np.empty((e.shape[0], int(integ.sum())))
                    _k.leaky_integral(np.ascontiguousarray(e[:, integ]), self._c, lk)
                    e[:, integ] = lk
                var = np.var(e, axis=0)
                w = np.maximum(var / max(float(var.max()), 1e-12), 0.02)
                for g in self._st.scales:
                    y = e[0] * (1.0 - integ) + g * (e - e[0])
                    energy = max(float(np.sum(w * np.var(y, axis=0))), floor)
                    ys.append(y)
                    ws.append(w)
                    rows.append(_Row(ti, ei, g, y.shape[0], energy))
        self._rows = rows
        # execution variants: templates of one exercise ("exercise/variant" labels), each
        # with its examples' median (ln duration, ln amplitude) (module _template_typing)
        self._centre = np.array([np.median(_ty.log_measures(m), axis=0) for m in ex_meas])
        self._exercise = [_ty.exercise_of(t.label) for t in self._templates]
        self._variants: dict[str, list[int]] = {}
        for ti, name in enumerate(self._exercise):
            self._variants.setdefault(name, []).append(ti)
        self._Y = np.ascontiguousarray(np.vstack(ys))
        self._W = np.ascontiguousarray(np.vstack(ws))
        self._row_off = np.concatenate([[0], np.cumsum([r.m for r in rows])]).astype(np.int64)
        self._row_norm = np.array([r.energy for r in rows])
        self._row_eps = self._st.threshold * self._row_norm
        self._n_dim = self._Y.shape[1]
        self._n_hist = 3 * max(r.m for r in rows) + 8  # feature samples a path can span

    def reset(self) -> None:
        """Forget everything: as freshly constructed."""
        n_imu = len(self._segments)
        groups = exercise_groups([t.label for t in self._templates], self._grid_examples)
        per_group = self._kind == "imu" and self._st.frame == "aligned" and len(groups) > 1
        # one kernel stream over every row; "aligned" with several exercises, one per exercise
        # (each fed the session rotated by its own re-strap fit)
        names = list(groups) if per_group else [None]
        self._streams = [
            Stream(np.array([i for i, r in enumerate(self._rows)
                             if name is None or self._exercise[r.template] == name]),
                   name, self._Y, self._W, self._row_off, self._row_eps, n_imu, self._n_hist)
            for name in names]
        self._fit_pen: dict[str, float] = {}  # rank added per exercise: its re-strap fit
        self._primary = self._streams[0]  # its features serve the measures (norms per sensor:
        #                                   the same in every stream's frame)
        self._n_in = 0
        self._feat = np.empty((0, self._n_dim))
        self._feat_k0 = 0
        self._pending: list[tuple[int, float, float, float, float]] = []
        self._accepted_start = self._accepted_end = -np.inf
        self._n_reps = 0
        self._aligner = None  # frame "aligned": the input held until the re-strap is known
        if self._kind == "imu" and self._st.frame == "aligned":
            self._aligner = Aligner(
                groups, len(self._segments), self._fs, self._t0, self._c, self._st.feature_rate_hz,
                self._st.vertical_tau_s)
        self._found: list[_Found] = []
        self._open = 0  # the first rep whose measures are not final
        self._flushed = False

    @property
    def templates(self) -> list[Template]:
        return list(self._templates)

    @property
    def rep_count(self) -> int:
        return self._n_reps

    @property
    def reps(self) -> list[TemplateRep]:
        """Every rep counted so far, labelled with all that is known now (the session fit of
        every rep, later candidates); final after :meth:`flush` (equal to
        :func:`detect_template_reps` of the whole recording)."""
        return [self._rep(i) for i in range(len(self._found))]

    @property
    def fs(self) -> float:
        return self._fs

    @property
    def mounting(self) -> Mounting | None:
        """``frame="aligned"``: each sensor's estimated re-strap (None until estimated)."""
        return self._aligner.mounting if self._aligner is not None else None

    @property
    def mountings(self) -> dict[str, Mounting]:
        """``frame="aligned"``: every exercise's own re-strap fit (its templates are matched on
        the session rotated by it); empty until estimated."""
        return dict(self._aligner.mountings) if self._aligner is not None else {}

    # -- processing -------------------------------------------------------------------------
    def _input(self, imu: Mapping[str, tuple[object, object]] | None, angle_deg: object) -> np.ndarray:
        if self._kind == "angle":
            if imu is not None or angle_deg is None:
                raise TemplateError("these templates were made from a joint angle: give angle_deg")
            x = np.asarray(angle_deg, dtype=np.float64).reshape(-1, 1)
            return np.radians(x)
        if imu is None or angle_deg is not None:
            raise TemplateError(f"these templates were made from IMUs {list(self._segments)}: give imu=")
        missing = [s for s in self._segments if s not in imu]
        if missing:
            raise TemplateError(f"the templates need sensors {list(self._segments)}; "
                                f"{missing} not given (sensors: {sorted(imu)})")
        cols = []
        for s in self._segments:
            g, a = (np.asarray(v, dtype=np.float64) for v in imu[s])
            g, a = np.atleast_2d(g), np.atleast_2d(a)
            if g.shape != a.shape or g.shape[1] != 3:
                raise InputError(f"{s}: gyroscope and accelerometer must both be (n, 3), got "
                                 f"{g.shape} and {a.shape}")
            cols += [g, a]
        n = {c.shape[0] for c in cols}
        if len(n) != 1:
            raise InputError("every sensor must give the same number of samples per update")
        return np.hstack(cols)

    def update(self, imu: Mapping[str, tuple[object, object]] | None = None,
               angle_deg: object = None) -> list[TemplateRep]:
        """Feed samples; return the reps they completed.

        Parameters
        ----------
        imu : mapping name -> (gyroscope, accelerometer)
            IMU templates: each sensor's (n, 3) rad/s and (n, 3) m/s^2, common rate ``fs``.
        angle_deg : ndarray (n,)
            Angle templates: the joint angle, degrees.
        """
        X = np.ascontiguousarray(self._input(imu, angle_deg))
        X = np.where(np.isfinite(X), X, np.nan)
        self._flushed = False
        if self._aligner is not None and self._aligner.mounting is None:
            return self._release(self._aligner.hold(X, final=False))
        return self._feed(X)

    def _feed(self, X: np.ndarray) -> list[TemplateRep]:
        out: list[TemplateRep] = []
        for i in range(0, X.shape[0], _CHUNK):
            out += self._run(X[i:i + _CHUNK])
        return out

    # -- a re-strapped sensor ("aligned") -------------------------------------------------------
    def _release(self, held: np.ndarray | None) -> list[TemplateRep]:
        """Feed the input held for the re-strap estimate (None: still held); the reps in it
        are reported now, when the window closes (the stream time of its last sample)."""
        if held is None:
            return []
        best = self._aligner.mounting
        self._primary = next((s for s in self._streams if s.exercise == best.exercise),
                             self._streams[0])
        if len(self._streams) > 1:  # how much worse each exercise's re-strap fit is
            self._fit_pen = {k: _FIT_WEIGHT * (m.cost - best.cost)
                             for k, m in self._aligner.mountings.items()
                             if math.isfinite(m.cost - best.cost)}
        reps = self._feed(held)
        k_close = ((self._n_in - 1) / self._fs) * self._st.feature_rate_hz
        for r in reps:
            f = self._found[r.index]
            f.emit_k = max(f.emit_k, k_close)
        return [self._rep(r.index) for r in reps]

    def _run(self, X: np.ndarray) -> list[TemplateRep]:
        n = X.shape[0]
        t = self._t0 + (self._n_in + np.arange(n)) / self._fs
        self._n_in += n
        evs = []
        for s in self._streams:
            Xs = X if self._aligner is None else self._aligner.rotate(X, s.exercise)
            f, ev = s.run(Xs, len(self._segments), self._c, t, self._col,
                          self._st.feature_rate_hz, self._fs)
            evs.append(ev)
            if s is self._primary:
                self._feat = np.vstack([self._feat, f])
        self._add_events(merge_events(evs))
        return self._decide(float(self._primary.rs[_k.RS_K]) - 1.0, final=False)

    def flush(self) -> list[TemplateRep]:
        """End of the stream: report what is pending."""
        held: list[TemplateRep] = []
        if self._aligner is not None and self._aligner.mounting is None:
            held = self._release(self._aligner.hold(np.empty((0, 6 * len(self._segments))),
                                                    final=True))
        self._add_events(merge_events([s.flush() for s in self._streams]))
        out = self._decide(float(self._primary.rs[_k.RS_K]), final=True)
        self._flushed = True
        return [self._rep(r.index) for r in held + out]

    def _add_events(self, ev: np.ndarray) -> None:
        for row in ev:
            self._pending.append((int(row[_k.E_ROW]), float(row[_k.E_TS]), float(row[_k.E_TE]),
                                  float(row[_k.E_COST]), float(row[_k.E_EMIT])))

    # -- choosing among overlapping matches --------------------------------------------------
    def _wait(self) -> float:
        return float(self._c[_k.CF_MAX_DELAY]) + round(self._st.slack_s * self._st.feature_rate_hz) + 1.0

    def _decide(self, now: float, final: bool) -> list[TemplateRep]:
        new: list[int] = []
        while self._pending:
            self._pending.sort(key=lambda p: p[2])
            first = self._pending[0]
            horizon = first[2] + self._wait()
            if not final and now < horizon:
                break
            group = [p for p in self._pending if (final or p[4] <= horizon) and self._overlap(first, p)]
            self._pending = [p for p in self._pending if p not in group]
            again = [p for p in group if self._repeats_accepted(p)]
            if again and self._found:  # the last rep again: not counted, a label candidate
                self._found[-1].cands.extend((self._rank(p), p) for p in again)
                self._respan(len(self._found) - 1)
            group = [p for p in group if p not in again]
            if not group:
                continue
            best = min(group, key=self._rank)
            new.append(self._accept(best, group, min(now, horizon) if not final else now))
            self._accepted_start, self._accepted_end = best[1], best[2]
        settled = self._update_measures(final)
        if new or settled or final:
            self._relabel(final)
        keep = int(_KEEP_S * self._st.feature_rate_hz)
        if self._feat.shape[0] > 2 * keep:
            drop = self._feat.shape[0] - keep
            self._feat = self._feat[drop:]
            self._feat_k0 += drop
        return [self._rep(i) for i in new]

    # -- labelling ---------------------------------------------------------------------------
    def _accept(self, best: tuple, group: list, emit_k: float) -> int:
        """Count a rep: its timing from the match that counted it (until a later match of it
        wins its label, :meth:`_respan`)."""
        span = (int(best[1]), int(best[2]))
        self._found.append(_Found(best=best, cands=[(self._rank(p), p) for p in group],
                                  emit_k=emit_k, timing=self._timing(*span), span=span))
        self._n_reps += 1
        if len(self._found) > 1:  # the previous rep's span ends before this one
            self._respan(len(self._found) - 2)
        return len(self._found) - 1

    def _timing(self, a: int, b: int) -> dict:
        """Start, peak, end, duration, hold, smoothness and amplitude of feature samples a..b."""
        fr = self._st.feature_rate_hz
        seg = self._feat[max(a - self._feat_k0, 0):b - self._feat_k0 + 1]
        exc = np.linalg.norm(seg - seg[0], axis=1)
        start, end = self._t0 + a / fr, self._t0 + b / fr
        return {"start_s": start, "peak_s": start + int(np.argmax(exc)) / fr, "end_s": end,
                "duration_s": end - start + 1 / fr,
                "hold_s": float(np.count_nonzero(exc >= 0.9 * exc.max())) / fr,
                "smoothness": sparc(_feature_speed(seg, fr), fr), "amplitude": float(exc.max())}

    def _respan(self, i: int) -> None:
        """Rep ``i`` spans the match that wins its label (a later, whole-rep match of it may
        beat the shorter one that counted it), within its neighbours: after the previous rep's
        end, before the next rep's start. The count, the whole-rep measures (taken around
        the counting match, out to the rest on either side) and the amplitude (from the
        counting match's start) stay as they are."""
        f = self._found[i]
        win = f.winner
        a, b = int(win[1]), int(win[2])
        if win is not f.best:  # the counting match's span is kept as it is
            if i > 0:
                a = max(a, self._found[i - 1].span[1] + 1)
            if i + 1 < len(self._found):
                b = min(b, self._found[i + 1].span[0] - 1)
        if b < a or a < self._feat_k0 or (a, b) == f.span:  # no room: keep the span it has
            return
        f.span = (a, b)
        f.timing = {**self._timing(a, b), "amplitude": f.timing["amplitude"]}

    def _update_measures(self, final: bool) -> bool:
        """Whole-rep measures of the reps whose window (PAD_S around the match) was not yet
        complete: final once it is (or at the end of the stream), else on what is there.
        Returns whether a rep's measures became final."""
        pad = round(_ty.PAD_S * self._st.feature_rate_hz)
        last = self._feat_k0 + self._feat.shape[0] - 1
        for f in self._found[self._open:]:
            a, b = int(f.best[1]), int(f.best[2])
            lo = max(a - pad, self._feat_k0)
            hi = min(b + pad, last)
            pose = self._feat[lo - self._feat_k0:hi - self._feat_k0 + 1][:, self._pose]
            f.measures = _ty.excursion_measures(pose, a - lo, b - lo, self._st.feature_rate_hz)
            f.final = final or b + pad <= last
        first = self._open
        while self._open < len(self._found) and self._found[self._open].final:
            self._open += 1
        return self._open > first

    def _relabel(self, final: bool) -> None:
        """Each rep's template: its exercise from the best-ranked candidate, its variant by the
        session fit of that exercise's reps (or the best candidate's, ``typing="match"``).
        Live the fit sees the last ``_FIT_LIVE`` reps of the exercise (bounded time per rep:
        about 15 ms for 100 reps), at the end of the stream all of them."""
        by_ex: dict[str, list[_Found]] = {}
        for f in self._found:
            ti = self._rows[f.winner[0]].template
            f.template = ti
            by_ex.setdefault(self._exercise[ti], []).append(f)
        if self._st.typing != "session":
            return
        for name, found in by_ex.items():
            variants = self._variants[name]
            if len(variants) < 2:
                continue
            x = _ty.log_measures([f.measures for f in found])
            c = self._centre[variants]
            k = _ty.nearest_variant(x, c, _ty.fit_variants(x if final else x[-_FIT_LIVE:], c))
            for f, kk in zip(found, k):
                f.template = variants[int(kk)]

    def _rep(self, i: int) -> TemplateRep:
        f = self._found[i]
        ti = f.template
        own = [p for _, p in f.cands if self._rows[p[0]].template == ti]
        pool = own or [p for _, p in f.cands
                       if self._exercise[self._rows[p[0]].template] == self._exercise[ti]]
        best = min(pool, key=lambda p: p[3] / self._rows[p[0]].energy)
        r = self._rows[best[0]]
        ex = r.example if own else 0
        dur = f.measures[0]
        c = np.exp(self._centre[ti])
        tamp = float(np.median([self._tamp[ti, e]
                                for e in range(len(self._templates[ti].examples))]))
        tm = f.timing
        return TemplateRep(
            index=i, label=self._templates[ti].label, template=ti,
            score=max(0.0, 1.0 - best[3] / r.energy), start_s=tm["start_s"], peak_s=tm["peak_s"],
            end_s=tm["end_s"], duration_s=tm["duration_s"], duration_ratio=float(dur / c[0]),
            amplitude_ratio=tm["amplitude"] / max(tamp, 1e-9), hold_s=tm["hold_s"],
            smoothness=tm["smoothness"], template_smoothness=self._tsmooth[ti, ex],
            emitted_s=self._t0 + f.emit_k / self._st.feature_rate_hz,
            provisional=not self._flushed,
        )

    def _repeats_accepted(self, p: tuple) -> bool:
        """A match that overlaps the last reported rep by more than ``overlap_frac`` of the
        shorter of the two is that rep again (e.g. a longer example matching the whole of a rep
        whose first part a shorter example matched and reported already); it is not counted."""
        return self._shared(p[1], p[2], self._accepted_start, self._accepted_end)

    def _overlap(self, a: tuple, b: tuple) -> bool:
        return self._shared(a[1], a[2], b[1], b[2])

    def _motion(self, a: float, b: float) -> float:
        """Movement between feature samples a and b (sum of the feature speed), + 1 sample."""
        lo, hi = int(a) - self._feat_k0, int(b) - self._feat_k0
        if hi <= lo:
            return 0.0
        seg = self._feat[max(lo, 0):hi + 1]
        d = np.linalg.norm(np.diff(seg, axis=0), axis=1) if seg.shape[0] > 1 else np.zeros(0)
        return float(np.nansum(d))

    def _shared(self, a0: float, a1: float, b0: float, b1: float) -> bool:
        """Two spans are one rep when they share more than ``overlap_frac`` of the shorter's
        time, or (``motion_overlap``) of the smaller's movement."""
        inter = min(a1, b1) - max(a0, b0) + 1
        if inter > self._st.overlap_frac * min(a1 - a0 + 1, b1 - b0 + 1):
            return True
        if not self._st.motion_overlap or inter <= 0:
            return False
        m = self._motion(max(a0, b0), min(a1, b1))
        return m > self._st.overlap_frac * min(self._motion(a0, a1), self._motion(b0, b1))

    def _segment(self, p: tuple) -> np.ndarray:
        a = int(p[1]) - self._feat_k0
        return self._feat[max(a, 0):int(p[2]) - self._feat_k0 + 1]

    def _measures(self, p: tuple) -> tuple[float, float, float]:
        r = self._rows[p[0]]
        seg = self._segment(p)
        dur_ratio = (p[2] - p[1] + 1) / r.m
        amp = float(np.linalg.norm(seg - seg[0], axis=1).max()) if seg.shape[0] else 0.0
        amp_ratio = amp / max(self._tamp[r.template, r.example], 1e-9)
        return p[3] / r.energy, dur_ratio, amp_ratio

    def _rank(self, p: tuple) -> float:
        cost, dr, ar = self._measures(p)
        pen = self._fit_pen.get(self._exercise[self._rows[p[0]].template], 0.0)
        return (cost + self._st.measure_weight * (abs(math.log(dr)) + abs(math.log(max(ar, 1e-3))))
                + pen)


def _describe(t: Template) -> str:
    if t.source["kind"] == "imu":
        return "sensors " + ", ".join(t.segments)
    return f"the {t.source.get('joint') or 'joint'} angle"


def detect_template_reps(templates: Template | Sequence[Template], *, fs: float,
                         imu: Mapping[str, tuple[object, object]] | None = None,
                         angle_deg: object = None, t0: float = 0.0,
                         settings: TemplateSettings | None = None) -> list[TemplateRep]:
    """Every repetition of any of ``templates`` in a whole recording (same kernel as
    :class:`TemplateCounter`, then :meth:`TemplateCounter.flush`)."""
    counter = TemplateCounter(templates, fs=fs, t0=t0, settings=settings)
    counter.update(imu=imu, angle_deg=angle_deg)
    counter.flush()
    return counter.reps
