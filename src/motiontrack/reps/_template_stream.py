"""One state of the template kernel over a set of template rows, for
:class:`TemplateCounter <motiontrack.reps.TemplateCounter>`.

A counter runs one stream over all its rows, except with ``frame="aligned"`` and templates of
several exercises (the labels' part before ``/``): there each exercise's rows get their own
stream, fed the session rotated by that exercise's own re-strap fit
(:attr:`motiontrack.reps._restrap.Aligner.mountings`), and the matches of every stream
compete in the counter's one arbiter. The kernel is the same
(:func:`motiontrack._kernels.template_match.run`); its events come back with the counter's row
numbers, in the order (feature sample reported, row): the same whichever blocks the input
came in.
"""

from __future__ import annotations

import numpy as np

from .._kernels import template_match as _k


class Stream:
    """Kernel state (feature filters, DTW cells, candidates, feature history) of ``rows``
    (the counter's row indices, ascending) of the counter's stacked ``Y`` (per sample) and
    ``W`` (per row)."""

    def __init__(self, rows: np.ndarray, exercise: str | None, Y: np.ndarray, W: np.ndarray,
                 row_off: np.ndarray, row_eps: np.ndarray, n_imu: int, n_hist: int) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)
        self.exercise = exercise  #: the re-strap fit this stream is rotated by (None: best)
        sl = [np.arange(row_off[r], row_off[r + 1]) for r in self.rows]
        idx = np.concatenate(sl)
        self.Y = np.ascontiguousarray(Y[idx])
        self.W = np.ascontiguousarray(W[self.rows])
        self.row_off = np.concatenate([[0], np.cumsum([s.size for s in sl])]).astype(np.int64)
        self.row_eps = np.ascontiguousarray(row_eps[self.rows])
        n_dim = Y.shape[1]
        self.fstate = np.zeros((max(n_imu, 1), _k.F_SIZE))
        self.rs = np.zeros(_k.RS_F + n_dim)
        self.rs[_k.RS_T_PREV] = np.nan
        self.P = np.zeros((self.Y.shape[0], _k.P_SIZE))
        self.P[:, [_k.P_D1, _k.P_D2, _k.P_D3]] = np.inf
        self.P[:, [_k.P_L1, _k.P_L2, _k.P_L3]] = 1.0
        self.cand = np.zeros((self.rows.size, _k.C_SIZE))
        self.cand[:, _k.C_DMIN] = np.inf
        self.H = np.zeros((n_hist, n_dim))

    def run(self, X: np.ndarray, n_imu: int, c: np.ndarray, t: np.ndarray, col: np.ndarray,
            fr: float, fs: float) -> tuple[np.ndarray, np.ndarray]:
        """Feed input ``X`` at times ``t``: (feature samples, events with counter rows)."""
        fout = np.empty((int(X.shape[0] * fr / fs) + 4, self.Y.shape[1]))
        ev = np.empty((self.rows.size * (fout.shape[0] + 2), _k.E_SIZE))
        k, n_ev = _k.run(self.fstate, X, n_imu, c, self.rs, t, self.Y, self.W, self.row_off,
                         self.row_eps, self.P, self.cand, fout, ev, self.H, col)
        return fout[:k], self._global(ev[:n_ev])

    def flush(self) -> np.ndarray:
        """End of the stream: every pending candidate's event."""
        ev = np.empty((self.rows.size, _k.E_SIZE))
        n_ev = _k.flush(self.rs, self.row_off, self.P, self.cand, ev)
        return self._global(ev[:n_ev])

    def _global(self, ev: np.ndarray) -> np.ndarray:
        ev = ev.copy()
        ev[:, _k.E_ROW] = self.rows[ev[:, _k.E_ROW].astype(np.int64)]
        return ev


def merge_events(evs: list[np.ndarray]) -> np.ndarray:
    """The streams' events of one call in the order (reported at, row); one stream's as they
    are (the kernel reports in that order)."""
    if len(evs) == 1:
        return evs[0]
    ev = np.vstack(evs)
    return ev[np.lexsort((ev[:, _k.E_ROW], ev[:, _k.E_EMIT]))]
