"""The rep state machine's layout (state, coefficient and event slots, phases, rejection
reasons) and the steps :func:`motiontrack._kernels.reps.rep_step` takes on a candidate:
begin it, judge and record it (:func:`_emit`), abandon it, restart a set. Kernels validate
and raise nothing."""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

__all__ = [
    "E_ACCEPTED",
    "E_EMIT_T",
    "E_END_T",
    "E_END_X",
    "E_HOLD_S",
    "E_INTERRUPTED",
    "E_PEAK_T",
    "E_PEAK_X",
    "E_POL",
    "E_REASON",
    "E_REF",
    "E_SET",
    "E_SETREF",
    "E_SIZE",
    "E_START_T",
    "E_START_X",
    "E_TEMPO",
    "PH_BACK",
    "PH_IDLE",
    "PH_OUT",
    "PH_SEEK",
    "REJ_GAP",
    "REJ_LONG",
    "REJ_NONE",
    "REJ_NO_RETURN",
    "REJ_SHORT",
    "REJ_SMALL",
    "REJ_SMALL_REL",
    "RK_BRIDGE_S",
    "RK_DELTA_FLOOR",
    "RK_DELTA_FRAC",
    "RK_DT",
    "RK_EMA",
    "RK_FAST_FRAC",
    "RK_KNOISE",
    "RK_KREST",
    "RK_KSMOOTH",
    "RK_MAX_DUR",
    "RK_MAX_GAP_S",
    "RK_MAX_HOLD_S",
    "RK_MIN_DUR",
    "RK_MIN_ROM",
    "RK_NOISE_MULT",
    "RK_PARTIAL_FRAC",
    "RK_PAUSE_S",
    "RK_POL",
    "RK_REJECT_FRAC",
    "RK_RETURN_FRAC",
    "RK_SETTLE_FRAC",
    "RK_SETTLE_S",
    "RK_SIZE",
    "RK_T0",
    "R_BACK_T",
    "R_BACK_Y",
    "R_CAND_MISS_T",
    "R_ENTER_T",
    "R_ENTER_Y",
    "R_HI",
    "R_HI_T",
    "R_LAST_PEAK_T",
    "R_LAST_PEAK_X",
    "R_LAST_REJECT",
    "R_LAST_VALID_N",
    "R_LEAVE_T",
    "R_LO",
    "R_LO_T",
    "R_MISS_T",
    "R_N",
    "R_NN",
    "R_NVAR",
    "R_N_LONG_GAPS",
    "R_N_MISSING",
    "R_N_REJECT",
    "R_N_REPS",
    "R_PEAK_T",
    "R_PEAK_Y",
    "R_PHASE",
    "R_POL",
    "R_PROG_T",
    "R_PROG_Y",
    "R_REF",
    "R_SET",
    "R_SETREF",
    "R_SET_REPS",
    "R_SIZE",
    "R_START_T",
    "R_START_Y",
    "R_STILL_HI",
    "R_STILL_LO",
    "R_STILL_T0",
    "R_TEMPO",
    "R_T_LAST",
    "R_XP1",
    "R_XP2",
    "R_XS1",
    "R_XS2",
    "R_XSPREV",
    "rep_init",
]

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
