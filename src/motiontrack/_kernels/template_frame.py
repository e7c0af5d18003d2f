"""Subsequence DTW with its warping path, for estimating a re-strapped sensor's rotation.

:func:`subsequence_dtw` finds where a short trace ``y`` (a template's example, one sensor's
features) fits best within a longer one ``x`` (the start of a session) and returns the mean
local cost and the warping path (Mueller, "Information Retrieval for Music and Motion",
Springer 2007, sec. 4.4: subsequence DTW, free start and end in ``x``; steps (1,0), (0,1),
(1,1); local cost the squared Euclidean distance). The matched pairs are what
:mod:`motiontrack.reps._restrap` fits a rotation to (Wahba's problem).

Kernels validate nothing and raise nothing.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def subsequence_dtw(x, y, D, pi, pj):
    """Best match of ``y`` (m, d) anywhere in ``x`` (n, d): returns (accumulated cost / m,
    path length k); the path's pairs (``x`` index, ``y`` index) are ``pi[:k]``, ``pj[:k]``,
    last pair first. ``D`` (n, m) is scratch, ``pi`` and ``pj`` need n + m entries."""
    n, m, nd = x.shape[0], y.shape[0], x.shape[1]
    for i in range(n):
        for j in range(m):
            c = 0.0
            for q in range(nd):
                e = x[i, q] - y[j, q]
                c += e * e
            if j == 0:
                D[i, j] = c  # free start in x
            elif i == 0:
                D[i, j] = c + D[i, j - 1]
            else:
                b = D[i - 1, j - 1]
                if D[i - 1, j] < b:
                    b = D[i - 1, j]
                if D[i, j - 1] < b:
                    b = D[i, j - 1]
                D[i, j] = c + b
    iend = 0
    for i in range(1, n):  # free end in x
        if D[i, m - 1] < D[iend, m - 1]:
            iend = i
    i, j, k = iend, m - 1, 0
    while True:
        pi[k] = i
        pj[k] = j
        k += 1
        if j == 0:
            break
        if i == 0:
            j -= 1
            continue
        a, b, c = D[i - 1, j - 1], D[i - 1, j], D[i, j - 1]
        if a <= b and a <= c:
            i -= 1
            j -= 1
        elif b <= c:
            i -= 1
        else:
            j -= 1
    return D[iend, m - 1] / m, k
