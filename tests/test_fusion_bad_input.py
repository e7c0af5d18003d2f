"""Bad input never crashes a stream: a typed error with a clear message, or a counted skip.

Never another exception type, never a NaN in the output or the state.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from motiontrack.errors import ConfigurationError, InputError, MotionTrackError
from motiontrack.fusion import FILTERS, fuse

METHODS = sorted(FILTERS)
FS = 100.0
HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# arrays of any real value (incl. NaN, ±inf, huge and subnormal) in plausible shapes
any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
rows = st.integers(0, 6)


def float_rows(n: int):
    return hnp.arrays(np.float64, (n, 3), elements=any_float)


def _check_output(f, q, n):
    assert q.shape == ((n, 4) if n != -1 else (4,))
    assert np.all(np.isfinite(q)), "NaN/inf in the output"
    assert np.all(np.isfinite(f.state)), "NaN/inf in the state"
    if q.size:
        np.testing.assert_allclose(np.linalg.norm(q.reshape(-1, 4), axis=1), 1.0, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
@HYP
@given(data=st.data(), n=rows, use_mag=st.booleans())
def test_any_float_values_give_finite_output_and_counted_gaps(method, data, n, use_mag):
    acc = data.draw(float_rows(n))
    gyr = data.draw(float_rows(n))
    mag = data.draw(float_rows(n)) if use_mag else None
    dt = data.draw(hnp.arrays(np.float64, (n,), elements=any_float))
    f = FILTERS[method](fs=FS)
    q = f.update(acc, gyr, mag, dt=dt)
    _check_output(f, q, n)
    d = f.diagnostics
    assert d.samples == n
    bad_dt = ~((dt > 0) & (dt <= 3600.0))
    assert d.counts["dt_invalid"] == int(bad_dt.sum())
    assert d.counts["acc_gap"] >= int((~np.isfinite(acc).all(axis=1)).sum())
    # a later good sample still works
    q2 = f.update(np.array([0.0, 0.0, 9.81]), np.zeros(3))
    _check_output(f, q2, -1)


def _bad_arrays():
    return st.one_of(
        st.just("abc"),
        st.just(["1", "2", "3"]),
        st.just(np.array(["a", "b", "c"])),
        st.just(np.array([1 + 2j, 0j, 3j])),
        st.just(np.array([None, 1.0, 2.0], dtype=object)),
        st.just(np.array([True, False, True])),
        st.just([[1.0, 2.0], [3.0]]),  # ragged
        st.just(None),
        st.just(3.0),
        st.just({"x": 1.0}),
        hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)).filter(
            lambda a: not (a.shape == (3,) or (a.ndim == 2 and a.shape[1] == 3))
        ),
    )


@pytest.mark.parametrize("method", METHODS)
@HYP
@given(bad=_bad_arrays(), which=st.sampled_from(["acc", "gyr", "mag"]))
def test_wrong_shapes_and_dtypes_raise_input_error(method, bad, which):
    args = {"acc": np.array([0.0, 0.0, 9.81]), "gyr": np.zeros(3), "mag": np.array([0.0, 20.0, -40.0])}
    if bad is None and which == "mag":
        return  # mag=None is valid (6D)
    args[which] = bad
    f = FILTERS[method](fs=FS)
    before = f.state
    with pytest.raises(InputError) as info:
        f.update(args["acc"], args["gyr"], args["mag"])
    assert which in str(info.value)
    np.testing.assert_array_equal(f.state, before)  # a rejected call changes nothing
    assert f.diagnostics.samples == 0


@pytest.mark.parametrize("method", METHODS)
def test_mismatched_lengths_raise(method):
    f = FILTERS[method](fs=FS)
    with pytest.raises(InputError, match="samples"):
        f.update(np.zeros((5, 3)), np.zeros((4, 3)))
    with pytest.raises(InputError, match="mag"):
        f.update(np.zeros((5, 3)), np.zeros((5, 3)), np.zeros((3, 3)))
    with pytest.raises(InputError, match="dt"):
        f.update(np.zeros((5, 3)), np.zeros((5, 3)), dt=np.full(4, 0.01))
    with pytest.raises(InputError, match="timestamps"):
        fuse(np.zeros((5, 3)), np.zeros((5, 3)), timestamps=np.arange(4.0), method=method)


@pytest.mark.parametrize(
    "fs", [0, -1.0, float("nan"), float("inf"), "100", None, 1 + 1j, True, np.array([100.0, 50.0]), 1e-9]
)
def test_bad_sample_rates_raise(fs):
    for method in METHODS:
        with pytest.raises(InputError, match="fs"):
            FILTERS[method](fs=fs)
    with pytest.raises(InputError):
        fuse(np.zeros((3, 3)), np.zeros((3, 3)), fs=fs, method="madgwick")


@pytest.mark.parametrize("dt", [0.0, -0.01, float("nan"), float("inf"), "0.01", 1j, [0.01, 0.01]])
def test_bad_scalar_periods_raise(dt):
    f = FILTERS["mahony"](fs=FS)
    with pytest.raises(InputError, match="dt"):
        f.update(np.zeros((3, 3)), np.zeros((3, 3)), dt=dt)


def test_bad_timestamps_are_typed_errors_or_counted():
    acc = np.tile([0.0, 0.0, 9.81], (6, 1))
    gyr = np.zeros((6, 3))
    with pytest.raises(InputError, match="timestamps"):
        fuse(acc, gyr, timestamps=["a"] * 6, method="ekf")
    with pytest.raises(InputError, match="timestamps"):
        fuse(acc, gyr, timestamps=np.zeros(6, complex), method="ekf")
    with pytest.raises(InputError, match="fs"):
        fuse(acc, gyr, timestamps=np.zeros(6), method="ekf")  # no positive period at all
    with pytest.raises(InputError, match="fs"):
        fuse(acc, gyr, method="ekf")
    # a clock jump back and a NaN timestamp are counted skips
    t = np.array([0.0, 0.01, 0.02, 0.015, np.nan, 0.04])
    res = fuse(acc, gyr, timestamps=t, method="ekf", full_output=True)
    assert res.diagnostics.counts["dt_invalid"] == 3
    assert np.all(np.isfinite(res.quaternion))


@pytest.mark.parametrize("method", METHODS)
def test_bad_settings_raise_configuration_error(method):
    cls = FILTERS[method]
    with pytest.raises(ConfigurationError, match="unknown setting"):
        cls(fs=FS, no_such_setting=1.0)
    with pytest.raises(ConfigurationError):
        cls(fs=FS, acc_range=-1.0)
    with pytest.raises(ConfigurationError):
        cls(fs=FS, gyr_range=float("nan"))
    with pytest.raises(ConfigurationError, match="unknown fusion method"):
        fuse(np.zeros((3, 3)), np.zeros((3, 3)), fs=FS, method=method + "x")


@pytest.mark.parametrize("method", ["madgwick", "mahony", "complementary", "ekf"])
def test_negative_gains_raise(method):
    name = {"madgwick": "beta", "mahony": "kp", "complementary": "tau_acc", "ekf": "acc_noise"}[method]
    for bad in (-0.1, float("nan"), float("inf"), "1", None, True):
        with pytest.raises(ConfigurationError, match=name):
            FILTERS[method](fs=FS, **{name: bad})


@pytest.mark.parametrize("method", METHODS)
@HYP
@given(value=st.one_of(hnp.arrays(np.float64, st.integers(0, 60), elements=any_float), st.just("x"),
                       st.just(np.zeros(3, complex))))
def test_bad_state_assignment_raises(method, value):
    f = FILTERS[method](fs=FS)
    good = f.state
    acceptable = (
        isinstance(value, np.ndarray)
        and value.dtype.kind == "f"
        and value.shape == good.shape
        and bool(np.all(np.isfinite(value)))
    )
    if acceptable:
        f.state = value  # a finite real array of the right shape is accepted
        np.testing.assert_array_equal(f.state, value)
        return
    with pytest.raises(InputError, match="state"):
        f.state = value
    np.testing.assert_array_equal(f.state, good)


def test_errors_are_motiontrack_and_value_errors():
    assert issubclass(InputError, MotionTrackError) and issubclass(InputError, ValueError)
    assert issubclass(ConfigurationError, MotionTrackError) and issubclass(ConfigurationError, ValueError)
