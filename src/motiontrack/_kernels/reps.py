"""Repetition detection kernels: the repetition state machine and the loops that run it.

``rep_step`` is a hysteresis state machine on an angle ``x`` (degrees at the API). The input
passes a 3-sample running median (glitches) and two first-order low-pass stages, and its
noise level is estimated online from second differences. A repetition is an *out* stroke
away from rest followed by a *back* stroke. The reversal threshold
``delta = max(delta_floor, delta_frac * ref_rom, noise_mult * sigma)`` adapts to the
running ROM of the set (the adaptive-threshold idea of Pan & Tompkins 1985,
doi:10.1109/TBME.1985.325532, applied to an angle), so shallow reps among full ones still
count while noise and wobble during a hold do not. The direction of the out stroke is
fixed by the caller or learnt from the first stroke after rest (and flipped when that
stroke was a wiggle followed by a much larger stroke the other way). A rep is emitted as
soon as the back stroke has returned ``return_frac`` of the excursion, or has come at
least ``settle_frac`` back and stopped for ``settle_s``, or turns out again. Candidates are
judged on their excursion (absolute, noise-relative and set-relative), duration, gaps and
holds away from rest; rejected ones are reported with a reason code. A candidate with a
hole longer than ``bridge_s`` inside it, or a stroke already under way when the data resume
after a long gap, is recorded as *interrupted*: what was seen of it, never counted. The
state, coefficient and event layout and the steps on a candidate are in
:mod:`motiontrack._kernels.reps_layout`.

``RepCounter`` and ``count_reps`` share the ``run_*`` loops: any split gives the same reps;
``run_imu`` feeds ``rep_step`` the angle of :mod:`motiontrack._kernels.reps_axis` (whose
names the wrappers read from here). ``rep_step``, a per-sample step kernel, is exempt from
the 120-line limit on functions. Kernels validate and raise nothing; NaN samples are gaps.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from .reps_axis import (
    A_AX,  # noqa: F401
    A_AZ,  # noqa: F401
    A_GWEIGHT,  # noqa: F401
    A_SIZE,  # noqa: F401
    AK_DT,  # noqa: F401
    AK_G,  # noqa: F401
    AK_KACC,  # noqa: F401
    AK_KGL,  # noqa: F401
    AK_KGM,  # noqa: F401
    AK_KLEAK,  # noqa: F401
    AK_LAM,  # noqa: F401
    AK_SEED_RATE,  # noqa: F401
    AK_SIZE,  # noqa: F401
    AK_VWEIGHT,  # noqa: F401
    axis_init,  # noqa: F401
    axis_step,
)
from .reps_layout import *  # the layout, used by name here and by the wrappers
from .reps_layout import (  # the steps rep_step takes (private names: not in a star import)
    _abandon,
    _begin_candidate,
    _emit,
    _restart,
    _size_reason,
)


@jit
def rep_step(state: np.ndarray, coeffs: np.ndarray, x: float, ev: np.ndarray, k: int) -> int:
    """Advance the rep state machine by one sample ``x``; return the new event count.

    Events (accepted reps and rejected candidates) are written to ``ev[k]`` onwards.
    """
    n = state[R_N]
    state[R_N] = n + 1.0
    t = coeffs[RK_T0] + n * coeffs[RK_DT]
    if not math.isfinite(x):
        state[R_N_MISSING] += 1.0
        if state[R_LAST_VALID_N] >= 0.0 and (n - state[R_LAST_VALID_N]) * coeffs[RK_DT] > (
                coeffs[RK_BRIDGE_S] + 1e-9):
            state[R_MISS_T] = t
            if (state[R_PHASE] == PH_OUT or state[R_PHASE] == PH_BACK) and not (
                    state[R_CAND_MISS_T] <= t):
                state[R_CAND_MISS_T] = t
        return k
    # a long gap: abandon the candidate, restart the set where the data resumes
    if state[R_LAST_VALID_N] < 0.0 or (n - state[R_LAST_VALID_N]) * coeffs[RK_DT] > coeffs[RK_MAX_GAP_S]:
        state[R_XS1] = x
        state[R_XS2] = x
        state[R_XP1] = x
        state[R_XP2] = x
    else:
        # noise level from second differences: var(x[n] - 2x[n-1] + x[n-2]) = 6 sigma^2 for
        # white noise, ~0 for smooth motion
        if state[R_LAST_VALID_N] == n - 1.0:
            d2 = x - 2.0 * state[R_XP1] + state[R_XP2]
            state[R_NN] += 1.0
            kn = max(coeffs[RK_KNOISE], 1.0 / state[R_NN])
            v = d2 * d2 / 6.0
            if state[R_NN] > 10.0:
                v = min(v, 9.0 * state[R_NVAR])  # a step or glitch is not noise
            state[R_NVAR] += kn * (v - state[R_NVAR])
        # median of the last three raw samples: a one-sample glitch never reaches the filter
        # (Tukey's running median; monotone strokes pass unchanged, one sample later)
        xa = state[R_XP2]
        xb = state[R_XP1]
        xm = max(min(xa, xb), min(max(xa, xb), x))
        state[R_XP2] = xb
        state[R_XP1] = x
        # two cascaded first-order low-pass stages
        state[R_XS1] += coeffs[RK_KSMOOTH] * (xm - state[R_XS1])
        state[R_XS2] += coeffs[RK_KSMOOTH] * (state[R_XS1] - state[R_XS2])
    x = state[R_XS2]
    x_prev = state[R_XSPREV]
    state[R_XSPREV] = x
    if state[R_LAST_VALID_N] < 0.0:
        state[R_LAST_VALID_N] = n
        state[R_STILL_T0] = t
        state[R_STILL_LO] = x
        state[R_STILL_HI] = x
        state[R_T_LAST] = t
        _restart(state, coeffs, t, x)
        return k
    gap_s = (n - state[R_LAST_VALID_N]) * coeffs[RK_DT]
    t_prev = state[R_T_LAST]
    state[R_LAST_VALID_N] = n
    state[R_T_LAST] = t
    if gap_s > coeffs[RK_MAX_GAP_S]:
        state[R_N_LONG_GAPS] += 1.0
        if state[R_PHASE] == PH_OUT or state[R_PHASE] == PH_BACK:
            y_end = state[R_PEAK_Y] if state[R_PHASE] == PH_OUT else state[R_BACK_Y]
            seen = _size_reason(state, coeffs, state[R_PEAK_Y] - state[R_START_Y]) == REJ_NONE
            k = _abandon(state, REJ_GAP, t_prev, y_end, t, ev, k, seen)
        state[R_STILL_T0] = t
        state[R_STILL_LO] = x
        state[R_STILL_HI] = x
        state[R_SET_REPS] = max(state[R_SET_REPS], 1.0)  # a long gap always ends the set
        state[R_MISS_T] = t  # a stroke under way as the data resume began inside the gap
        _restart(state, coeffs, t, x)
        return k

    noise = coeffs[RK_NOISE_MULT] * math.sqrt(state[R_NVAR])
    delta = max(coeffs[RK_DELTA_FLOOR], coeffs[RK_DELTA_FRAC] * state[R_REF], noise)
    # stillness: x stayed within a band of width delta / 2 since STILL_T0
    lo = min(state[R_STILL_LO], x)
    hi = max(state[R_STILL_HI], x)
    if hi - lo > 0.5 * delta:
        state[R_STILL_T0] = t
        state[R_STILL_LO] = x
        state[R_STILL_HI] = x
    else:
        state[R_STILL_LO] = lo
        state[R_STILL_HI] = hi
    still_s = t - state[R_STILL_T0]

    # band around the rest level within which the signal still counts as "not yet started"
    tol = max(0.1 * delta, 0.5 * noise)
    phase = state[R_PHASE]
    if phase == PH_SEEK:
        # the extremes trail x slowly, so that drift never adds up to a stroke
        state[R_LO] += coeffs[RK_KREST] * (x - state[R_LO])
        state[R_HI] += coeffs[RK_KREST] * (x - state[R_HI])
        state[R_LO] = min(x, state[R_LO])
        # a stroke starts at the last sample that did not yet move its way
        if x <= x_prev:
            state[R_LO_T] = t
        state[R_HI] = max(x, state[R_HI])
        if x >= x_prev:
            state[R_HI_T] = t
        if x >= state[R_LO] + delta:
            state[R_POL] = 1.0
            state[R_START_T] = state[R_LO_T]
            state[R_START_Y] = state[R_LO]
        elif x <= state[R_HI] - delta:
            state[R_POL] = -1.0
            state[R_START_T] = state[R_HI_T]
            state[R_START_Y] = -state[R_HI]
        else:
            if still_s >= coeffs[RK_PAUSE_S]:
                # long rest: forget old extremes so that slow drift cannot fake a stroke
                state[R_LO] = x
                state[R_HI] = x
                state[R_LO_T] = t
                state[R_HI_T] = t
            return k
        y = state[R_POL] * x
        state[R_PHASE] = PH_OUT
        _begin_candidate(state, coeffs, state[R_START_T])
        state[R_PEAK_Y] = y
        state[R_PEAK_T] = t
        state[R_ENTER_T] = t
        state[R_ENTER_Y] = y
        state[R_LEAVE_T] = t
        return k

    pol = state[R_POL]
    y = pol * x
    if phase == PH_IDLE:
        if still_s >= coeffs[RK_PAUSE_S]:
            if state[R_SET_REPS] > 0.0 or coeffs[RK_POL] == 0.0:
                _restart(state, coeffs, t, x)
                if state[R_PHASE] == PH_SEEK:
                    return k
            else:
                state[R_LO] = y
        state[R_LO] += coeffs[RK_KREST] * (y - state[R_LO])
        state[R_LO] = min(y, state[R_LO])
        if y <= state[R_LO] + tol:
            # the rep's start level: lowest rest sample, following drift 5x slower than LO
            # (LO creeps towards y so that drift cannot trigger; START_Y must not, for the ROM)
            sy = state[R_START_Y] + 0.2 * coeffs[RK_KREST] * (y - state[R_START_Y])
            state[R_START_Y] = min(sy, y)
        if y <= pol * x_prev:
            state[R_START_T] = t  # not rising yet: the out stroke starts at the last such sample
        if y >= state[R_LO] + delta:
            state[R_PHASE] = PH_OUT
            _begin_candidate(state, coeffs, state[R_START_T])
            state[R_START_Y] = min(state[R_START_Y], state[R_LO])
            state[R_PEAK_Y] = y
            state[R_PEAK_T] = t
            state[R_ENTER_T] = t
            state[R_ENTER_Y] = y
            state[R_LEAVE_T] = t
        return k

    if coeffs[RK_MAX_DUR] > 0.0 and t - state[R_START_T] > coeffs[RK_MAX_DUR] and (
            phase == PH_OUT or phase == PH_BACK):
        # far longer than any rep: drop the candidate, keep the direction, rest from here
        k = _abandon(state, REJ_LONG, t, y, t, ev, k)
        state[R_PHASE] = PH_IDLE
        state[R_LO] = y
        state[R_START_T] = t
        state[R_START_Y] = y
        return k

    if phase == PH_OUT:
        if y > state[R_PEAK_Y]:
            state[R_PEAK_Y] = y
            state[R_PEAK_T] = t
        hb = 0.1 * (state[R_PEAK_Y] - state[R_START_Y])
        if state[R_ENTER_Y] < state[R_PEAK_Y] - hb:
            # the top band moved up: the hold starts when the signal first entered it
            state[R_ENTER_T] = t
            state[R_ENTER_Y] = y
        if y >= state[R_PEAK_Y] - hb:
            state[R_LEAVE_T] = t
        if y <= state[R_PEAK_Y] - delta:
            state[R_PHASE] = PH_BACK
            state[R_BACK_Y] = y
            state[R_BACK_T] = t
            state[R_PROG_Y] = y
            state[R_PROG_T] = t
        elif still_s >= coeffs[RK_MAX_HOLD_S] or (
                still_s >= coeffs[RK_PAUSE_S] and coeffs[RK_POL] == 0.0
                and state[R_SET_REPS] == 0.0):
            # held away from rest far too long (for the first stroke of a set whose direction
            # is being learnt: as long as a pause): a change of posture, not a rep
            k = _abandon(state, REJ_NO_RETURN, t, y, t, ev, k)
            state[R_SET_REPS] = max(state[R_SET_REPS], 1.0)
            _restart(state, coeffs, t, x)
        return k

    # PH_BACK
    peak_y = state[R_PEAK_Y]
    hb = 0.1 * (peak_y - state[R_START_Y])
    if y >= peak_y - hb:
        state[R_LEAVE_T] = t
    if y > peak_y:
        # went back up beyond the top: the earlier dip was part of the hold
        state[R_PHASE] = PH_OUT
        state[R_PEAK_Y] = y
        state[R_PEAK_T] = t
        return k
    if y < state[R_BACK_Y]:
        state[R_BACK_Y] = y
        state[R_BACK_T] = t
    settle_tol = max(0.25 * delta, 0.03 * (peak_y - state[R_START_Y]))
    if y <= state[R_PROG_Y] - settle_tol:
        state[R_PROG_Y] = y
        state[R_PROG_T] = t
    excursion = peak_y - state[R_START_Y]
    returned = (peak_y - y) / excursion if excursion > 0.0 else 1.0
    if returned >= 2.0 and coeffs[RK_POL] == 0.0 and state[R_SET_REPS] == 0.0:
        # a too-small "out" stroke followed by a larger stroke the other way: the direction
        # was learnt from a wiggle. Flip it: the stroke under way is the first out stroke.
        k = _abandon(state, REJ_SMALL, t, y, t, ev, k)
        state[R_POL] = -pol
        state[R_PHASE] = PH_OUT
        state[R_START_T] = state[R_PEAK_T]
        state[R_START_Y] = -peak_y
        state[R_PEAK_Y] = -y
        state[R_PEAK_T] = t
        state[R_ENTER_T] = t
        state[R_ENTER_Y] = -y
        state[R_LEAVE_T] = t
        return k
    # (the first rep of a set whose direction is being learnt ends only once settled, so that
    # a back stroke much larger than the out stroke can still flip the direction, unless it
    # is already half as large as the reps before the pause)
    if returned >= coeffs[RK_RETURN_FRAC] and (
            coeffs[RK_POL] != 0.0 or state[R_SET_REPS] > 0.0
            or (state[R_REF] > 0.0 and excursion >= max(coeffs[RK_MIN_ROM], 0.5 * state[R_REF]))):
        k = _emit(state, coeffs, t, y, t, ev, k)
        state[R_PHASE] = PH_IDLE
        state[R_LO] = y
        state[R_START_T] = t
        state[R_START_Y] = y
        return k
    # how far back counts as "halfway": relative to this rep's excursion, or to the set's
    # typical ROM when the excursion is inflated by a stale start level (e.g. after a transient)
    scale = excursion if state[R_REF] <= 0.0 else min(excursion, state[R_REF])
    if y >= state[R_BACK_Y] + delta and (peak_y - state[R_BACK_Y]) < coeffs[RK_SETTLE_FRAC] * scale:
        # a dip during the hold at the top (less than halfway back): still the same rep
        state[R_PHASE] = PH_OUT
        return k
    if y >= state[R_BACK_Y] + delta:
        # turned back out before reaching rest: the next rep starts from this valley
        k = _emit(state, coeffs, state[R_BACK_T], state[R_BACK_Y], t, ev, k)
        state[R_PHASE] = PH_OUT
        _begin_candidate(state, coeffs, state[R_BACK_T])
        state[R_START_T] = state[R_BACK_T]
        state[R_START_Y] = state[R_BACK_Y]
        state[R_PEAK_Y] = y
        state[R_PEAK_T] = t
        state[R_ENTER_T] = t
        state[R_ENTER_Y] = y
        state[R_LEAVE_T] = t
        return k
    settled_s = t - state[R_PROG_T]
    back_returned = (peak_y - state[R_BACK_Y]) / scale if scale > 0.0 else 1.0
    if (back_returned >= coeffs[RK_SETTLE_FRAC] and settled_s >= coeffs[RK_SETTLE_S]) or (
        settled_s >= coeffs[RK_MAX_HOLD_S]
    ):
        k = _emit(state, coeffs, state[R_BACK_T], state[R_BACK_Y], t, ev, k)
        state[R_PHASE] = PH_IDLE
        state[R_LO] = state[R_BACK_Y]
        state[R_START_T] = t
        state[R_START_Y] = state[R_BACK_Y]
    return k


@jit
def rep_flush(state: np.ndarray, coeffs: np.ndarray, ev: np.ndarray) -> int:
    """End of stream: a back stroke that is at least ``settle_frac`` home counts as settled.

    Returns the number of events written to ``ev`` (0 or 1).
    """
    if state[R_PHASE] != PH_BACK:
        return 0
    peak_y = state[R_PEAK_Y]
    excursion = peak_y - state[R_START_Y]
    scale = excursion if state[R_REF] <= 0.0 else min(excursion, state[R_REF])
    back_returned = (peak_y - state[R_BACK_Y]) / scale if scale > 0.0 else 1.0
    if back_returned < coeffs[RK_SETTLE_FRAC]:
        return 0
    k = _emit(state, coeffs, state[R_BACK_T], state[R_BACK_Y], state[R_T_LAST], ev, 0)
    state[R_PHASE] = PH_IDLE
    state[R_LO] = state[R_BACK_Y]
    state[R_START_T] = state[R_T_LAST]
    state[R_START_Y] = state[R_BACK_Y]
    return k


@jit
def run_angle(state: np.ndarray, coeffs: np.ndarray, x: np.ndarray, ev: np.ndarray) -> int:
    """Run ``rep_step`` over ``x`` (N,); return the number of events written to ``ev``."""
    k = 0
    for i in range(x.shape[0]):
        k = rep_step(state, coeffs, x[i], ev, k)
    return k


@jit
def run_imu(axis_state: np.ndarray, axis_coeffs: np.ndarray, rep_state: np.ndarray,
            rep_coeffs: np.ndarray, gyr: np.ndarray, acc: np.ndarray, scale: float,
            angle_out: np.ndarray, ev: np.ndarray) -> int:
    """Single-sensor mode: ``axis_step`` then ``rep_step`` (on ``scale * angle``) per sample.

    ``gyr`` (N, 3) rad/s, ``acc`` (N, 3) m/s^2 (NaN rows: no gravity); ``angle_out`` (N,)
    receives the angle-like signal times ``scale``. Returns the number of events.
    """
    k = 0
    for i in range(gyr.shape[0]):
        th = axis_step(axis_state, axis_coeffs, gyr[i, 0], gyr[i, 1], gyr[i, 2],
                       acc[i, 0], acc[i, 1], acc[i, 2])
        xi = scale * th
        angle_out[i] = xi
        k = rep_step(rep_state, rep_coeffs, xi, ev, k)
    return k
