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
holds away from rest; rejected ones are reported with a reason code.

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

# rep_step: state, coefficient and event layout
PH_SEEK = 0  #: polarity unknown: waiting for the first stroke after rest
PH_IDLE = 1  #: at rest, waiting for an out stroke
PH_OUT = 2  #: moving away from rest (or holding at the top)
PH_BACK = 3  #: returning towards rest

R_N = 0  #: samples seen since reset (valid or not)
R_PHASE = 1
R_POL = 2  #: +1: reps increase x; -1: reps decrease x; 0: unknown
R_REF = 3  #: running reference ROM of the set (EMA of accepted reps), x units
R_SETREF = 4  #: ROM of a full rep for this counter: EMA over reps not judged partial
R_LO = 5  #: SEEK: running minimum of x;  IDLE: rest level (in y = pol * x)
R_HI = 6  #: SEEK: running maximum of x
R_LO_T = 7  #: SEEK: last time near the minimum
R_HI_T = 8  #: SEEK: last time near the maximum
R_START_T = 9
R_START_Y = 10
R_PEAK_T = 11
R_PEAK_Y = 12
R_ENTER_T = 13  #: first time within the hold band of the top
R_LEAVE_T = 14  #: last time within the hold band of the top
R_BACK_T = 15
R_BACK_Y = 16  #: running minimum of y during the back stroke
R_PROG_T = 17  #: last time the back stroke made progress
R_PROG_Y = 18
R_STILL_T0 = 19  #: start of the current still window
R_STILL_LO = 20
R_STILL_HI = 21
R_LAST_VALID_N = 22
R_SET = 23  #: set index (increments after a pause that followed reps)
R_SET_REPS = 24  #: reps accepted in the current set
R_LAST_REJECT = 25  #: reason code of the last rejected candidate
R_N_REJECT = 26
R_N_REPS = 27
R_LAST_PEAK_T = 28
R_LAST_PEAK_X = 29
R_T_LAST = 30  #: time of the last valid sample
R_ENTER_Y = 31  #: y at R_ENTER_T
R_XS1 = 32  #: first low-pass stage of x
R_XS2 = 33  #: second low-pass stage of x (the signal the state machine sees)
R_XP1 = 34  #: previous raw x
R_XP2 = 35  #: raw x before that
R_NVAR = 36  #: running noise variance of raw x (from second differences), x units^2
R_NN = 37  #: number of noise updates so far (a plain mean until the EMA takes over)
R_N_MISSING = 38  #: samples that were NaN (dropped)
R_N_LONG_GAPS = 39  #: gaps longer than max_gap_s (each ended the set)
R_TEMPO = 40  #: duration of a rep at the normal tempo, s: EMA over reps not judged fast
R_XSPREV = 41  #: smoothed x at the previous valid sample
R_MISS_T = 42  #: time of the last missing sample of a hole longer than the bridge, NaN before
R_CAND_MISS_T = 43  #: first missing sample within the candidate under way, NaN if none
R_SIZE = 44

# coefficients
RK_DT = 0  #: sample period, s
RK_T0 = 1  #: time of sample 0, s
RK_DELTA_FLOOR = 2  #: smallest hysteresis, x units
RK_DELTA_FRAC = 3  #: hysteresis as a fraction of the reference ROM
RK_MIN_ROM = 4  #: smallest accepted excursion, x units
RK_REJECT_FRAC = 5  #: excursions below this fraction of the reference ROM are rejected
RK_MIN_DUR = 6  #: shortest accepted rep, s
RK_MAX_DUR = 7  #: longest accepted rep, s
RK_RETURN_FRAC = 8  #: a back stroke that has returned this far ends the rep at once
RK_SETTLE_FRAC = 9  #: a back stroke that has returned this far ends the rep once settled
RK_SETTLE_S = 10  #: time without progress that counts as settled, s
RK_PAUSE_S = 11  #: stillness at rest that ends a set, s
RK_MAX_HOLD_S = 12  #: stillness away from rest that abandons a candidate, s
RK_MAX_GAP_S = 13  #: a longer gap abandons the candidate and restarts the set, s
RK_POL = 14  #: fixed polarity (+1 / -1) or 0 for automatic
RK_EMA = 15  #: weight of a new rep in the reference ROM
RK_KREST = 16  #: per-sample pull of the rest level towards x, dt / rest_tau (slow drift)
RK_KSMOOTH = 17  #: per-stage low-pass gain, 1 - exp(-dt / smoothing_tau); 1 disables
RK_KNOISE = 18  #: forgetting factor of the noise variance per sample
RK_NOISE_MULT = 19  #: hysteresis and minimum ROM are at least this many noise sigmas
RK_PARTIAL_FRAC = 20  #: reps below this share of the full-rep ROM are partial
RK_FAST_FRAC = 21  #: reps shorter than this share of the normal tempo are fast
RK_BRIDGE_S = 22  #: a longer run of missing samples inside a rep interrupts it, s
RK_SIZE = 23

# event record
E_START_T = 0
E_PEAK_T = 1
E_END_T = 2
E_START_X = 3
E_PEAK_X = 4
E_END_X = 5
E_HOLD_S = 6
E_EMIT_T = 7
E_ACCEPTED = 8
E_REASON = 9
E_SET = 10
E_REF = 11  #: reference ROM of the set before this rep
E_SETREF = 12  #: full-rep ROM reference before this rep
E_POL = 13
E_TEMPO = 14  #: normal-tempo duration reference before this rep, s
E_INTERRUPTED = 15  #: 1: a rep (or what was seen of one) cut by missing samples; not counted
E_SIZE = 16

# rejection reasons
REJ_NONE = 0
REJ_SMALL = 1  #: excursion below the absolute minimum ROM
REJ_SMALL_REL = 2  #: excursion small relative to the set's ROM
REJ_SHORT = 3  #: shorter than the minimum duration
REJ_LONG = 4  #: longer than the maximum duration
REJ_GAP = 5  #: interrupted by a data gap
REJ_NO_RETURN = 6  #: never came back to rest (transition or change of posture)


@jit
def rep_init(state: np.ndarray, coeffs: np.ndarray) -> None:
    """Reset the rep state in place."""
    for i in range(R_SIZE):
        state[i] = 0.0
    state[R_POL] = coeffs[RK_POL]
    state[R_PHASE] = PH_SEEK
    state[R_LO] = math.nan
    state[R_LAST_VALID_N] = -1.0
    state[R_LAST_PEAK_T] = math.nan
    state[R_LAST_PEAK_X] = math.nan
    state[R_MISS_T] = math.nan
    state[R_CAND_MISS_T] = math.nan


@jit
def _begin_candidate(state: np.ndarray, coeffs: np.ndarray, start_t: float) -> None:
    """A candidate starting at ``start_t`` is interrupted if data were missing since, or
    less than ``settle_s`` before (too little rest seen to know the stroke began there)."""
    miss = state[R_MISS_T]
    state[R_CAND_MISS_T] = miss if miss >= start_t - coeffs[RK_SETTLE_S] else math.nan


@jit
def _restart(state: np.ndarray, coeffs: np.ndarray, t: float, x: float) -> None:
    """Start a new set at rest at (t, x): polarity re-learnt unless fixed."""
    if state[R_SET_REPS] > 0.0:
        state[R_SET] += 1.0
        state[R_SET_REPS] = 0.0
        state[R_REF] *= 0.5  # a new set may be shallower; the first rep must not be rejected
    if coeffs[RK_POL] == 0.0:
        state[R_POL] = 0.0
        state[R_PHASE] = PH_SEEK
        state[R_LO] = x
        state[R_HI] = x
        state[R_LO_T] = t
        state[R_HI_T] = t
    else:
        state[R_POL] = coeffs[RK_POL]
        state[R_PHASE] = PH_IDLE
        state[R_LO] = coeffs[RK_POL] * x
        state[R_START_T] = t
        state[R_START_Y] = coeffs[RK_POL] * x


@jit
def _reject(state: np.ndarray, reason: int) -> None:
    state[R_LAST_REJECT] = reason
    state[R_N_REJECT] += 1.0


@jit
def _abandon(state: np.ndarray, reason: int, end_t: float, end_y: float, t: float,
             ev: np.ndarray, k: int, interrupted: bool = False) -> int:
    """Record the candidate under way as rejected for ``reason`` (or, ``interrupted``, as what
    was seen of a rep that missing samples cut); return the event count."""
    if not interrupted:
        _reject(state, reason)
    if k < ev.shape[0]:
        pol = state[R_POL]
        ev[k, E_START_T] = state[R_START_T]
        ev[k, E_PEAK_T] = state[R_PEAK_T]
        ev[k, E_END_T] = end_t
        ev[k, E_START_X] = pol * state[R_START_Y]
        ev[k, E_PEAK_X] = pol * state[R_PEAK_Y]
        ev[k, E_END_X] = pol * end_y
        ev[k, E_HOLD_S] = 0.0
        ev[k, E_EMIT_T] = t
        ev[k, E_ACCEPTED] = 0.0
        ev[k, E_REASON] = reason
        ev[k, E_SET] = state[R_SET]
        ev[k, E_REF] = state[R_REF]
        ev[k, E_SETREF] = state[R_SETREF]
        ev[k, E_POL] = pol
        ev[k, E_TEMPO] = state[R_TEMPO]
        ev[k, E_INTERRUPTED] = 1.0 if interrupted else 0.0
    state[R_LAST_PEAK_T] = state[R_PEAK_T]
    state[R_LAST_PEAK_X] = state[R_POL] * state[R_PEAK_Y]
    state[R_CAND_MISS_T] = math.nan
    return k + 1


@jit
def _emit(state: np.ndarray, coeffs: np.ndarray, end_t: float, end_y: float, t: float,
          ev: np.ndarray, k: int) -> int:
    """Judge the candidate that ends at (end_t, end_y); write it to ev[k]; return k + 1."""
    pol = state[R_POL]
    start_y = state[R_START_Y]
    peak_y = state[R_PEAK_Y]
    amp = peak_y - max(start_y, end_y)  # excursion from the higher of the two rests
    rom = peak_y - min(start_y, end_y)
    dur = end_t - state[R_START_T]
    ref = state[R_REF]
    reason = _size_reason(state, coeffs, amp)
    if reason == REJ_NONE and dur < coeffs[RK_MIN_DUR]:
        reason = REJ_SHORT
    elif reason == REJ_NONE and coeffs[RK_MAX_DUR] > 0.0 and dur > coeffs[RK_MAX_DUR]:
        reason = REJ_LONG
    # a rep with missing samples inside: reported as interrupted, never counted
    interrupted = reason == REJ_NONE and state[R_CAND_MISS_T] <= end_t
    if k < ev.shape[0]:
        ev[k, E_START_T] = state[R_START_T]
        ev[k, E_PEAK_T] = state[R_PEAK_T]
        ev[k, E_END_T] = end_t
        ev[k, E_START_X] = pol * start_y
        ev[k, E_PEAK_X] = pol * peak_y
        ev[k, E_END_X] = pol * end_y
        ev[k, E_HOLD_S] = max(state[R_LEAVE_T] - state[R_ENTER_T], 0.0)
        ev[k, E_EMIT_T] = t
        ev[k, E_ACCEPTED] = 1.0 if reason == REJ_NONE and not interrupted else 0.0
        ev[k, E_REASON] = REJ_GAP if interrupted else reason
        ev[k, E_SET] = state[R_SET]
        ev[k, E_REF] = ref
        ev[k, E_SETREF] = state[R_SETREF]
        ev[k, E_POL] = pol
        ev[k, E_TEMPO] = state[R_TEMPO]
        ev[k, E_INTERRUPTED] = 1.0 if interrupted else 0.0
    state[R_LAST_PEAK_T] = state[R_PEAK_T]
    state[R_LAST_PEAK_X] = pol * peak_y
    state[R_CAND_MISS_T] = math.nan
    if interrupted:
        state[R_SET_REPS] += 1.0  # the set goes on; its references learn nothing from it
    elif reason == REJ_NONE:
        tempo = state[R_TEMPO]
        if tempo <= 0.0:
            state[R_TEMPO] = dur
        elif dur > tempo:
            state[R_TEMPO] = tempo + 0.5 * (dur - tempo)
        elif dur >= coeffs[RK_FAST_FRAC] * tempo:
            state[R_TEMPO] = tempo + 0.2 * (dur - tempo)
        if ref <= 0.0:
            state[R_REF] = rom
        else:
            state[R_REF] = ref + coeffs[RK_EMA] * (rom - ref)
        full = state[R_SETREF]
        if full <= 0.0:
            state[R_SETREF] = rom
        elif rom > full:
            state[R_SETREF] = full + 0.5 * (rom - full)  # fuller reps raise it quickly
        elif rom >= coeffs[RK_PARTIAL_FRAC] * full:
            state[R_SETREF] = full + 0.2 * (rom - full)  # partial reps never lower it
        state[R_SET_REPS] += 1.0
        state[R_N_REPS] += 1.0
    else:
        if reason == REJ_SMALL_REL:
            # consistently smaller excursions pull the reference down, so that one spurious
            # large stroke cannot silence a whole set
            state[R_REF] = ref + coeffs[RK_EMA] * (rom - ref)
        _reject(state, reason)
    return k + 1


@jit
def _size_reason(state: np.ndarray, coeffs: np.ndarray, amp: float) -> int:
    """REJ_SMALL / REJ_SMALL_REL for an excursion ``amp`` too small to be a rep, else REJ_NONE."""
    if amp < max(coeffs[RK_MIN_ROM], 2.0 * coeffs[RK_NOISE_MULT] * math.sqrt(state[R_NVAR])):
        return REJ_SMALL
    if amp < coeffs[RK_REJECT_FRAC] * state[R_REF]:
        return REJ_SMALL_REL
    return REJ_NONE


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
