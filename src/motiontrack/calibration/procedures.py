"""Step-by-step calibration procedures for live, guided use (and for scripted replays).

A procedure is a list of prompts; the caller shows the current prompt, feeds the sensor's
samples as they arrive, and moves on when the step reports ``done``::

    proc = SixFaceProcedure(fs=100.0, sensor="thigh")
    for prompt in proc:                    # yields the current prompt until all steps are done
        show(prompt.instruction)
        while True:
            acc, gyr, mag = await next_block()         # (n, 3) arrays, SI units
            status = proc.update(acc, gyr, mag)
            show_progress(status.progress, status.message)
            if status.done:
                break
    calibration = proc.result()            # a SensorCalibration

Nothing here does I/O or waits: the session layer (BLE, virtual sensors, replays) drives it.
The offline functions (:func:`estimate_gyro_bias`, :func:`calibrate_six_face`,
:func:`calibrate_magnetometer`) do the fitting in :meth:`result`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import CalibrationError, InputError
from .accelerometer import FACES, fit_six_face
from .gyroscope import estimate_gyro_bias
from .magnetometer import calibrate_magnetometer, sphere_coverage
from .model import SensorCalibration
from .still import StillnessSettings, find_still_segments

__all__ = [
    "CalibrationProcedure",
    "GyroBiasProcedure",
    "MagnetometerProcedure",
    "Prompt",
    "SixFaceProcedure",
    "StepStatus",
]

_AXIS_WORDS = {"x": "X", "y": "Y", "z": "Z"}


@dataclass(frozen=True, slots=True)
class Prompt:
    """One step of a procedure, as shown to the user."""

    key: str  # stable identifier: "rest", "face:+x", ..., "rotate"
    instruction: str  # what to do, one or two sentences
    duration_s: float  # s, how long the step needs (still time, or the rotation time budget)
    kind: str  # "still" or "rotate"


@dataclass(frozen=True, slots=True)
class StepStatus:
    """Progress of the current step after an :meth:`CalibrationProcedure.update`."""

    prompt: Prompt
    progress: float  # 0..1
    message: str  # feedback, e.g. "hold still", "moving: keep it still"
    done: bool  # the step is complete (the procedure moved to the next prompt)


class CalibrationProcedure:
    """Base class: a sequence of prompts fed with sample blocks."""

    def __init__(self, prompts: list[Prompt], *, fs: float, sensor: str = "",
                 settings: StillnessSettings | None = None, max_buffer_s: float = 60.0) -> None:
        if not (np.isfinite(fs) and fs > 0):
            raise InputError(f"fs must be a positive sample rate, got {fs!r}")
        self.fs = float(fs)
        self.sensor = sensor
        self.settings = settings or StillnessSettings()
        self.prompts = prompts
        self._index = 0
        self._max_buffer = int(max_buffer_s * fs)
        self._acc: list[np.ndarray] = []
        self._gyr: list[np.ndarray] = []
        self._mag: list[np.ndarray] = []

    @property
    def current(self) -> Prompt | None:
        return self.prompts[self._index] if self._index < len(self.prompts) else None

    @property
    def finished(self) -> bool:
        return self._index >= len(self.prompts)

    def __iter__(self) -> Iterator[Prompt]:
        # yields the current prompt again if the caller moved on without finishing the step
        while self._index < len(self.prompts):
            yield self.prompts[self._index]

    def update(self, acc: npt.ArrayLike, gyr: npt.ArrayLike, mag: npt.ArrayLike | None = None) -> StepStatus:
        """Feed a block of samples ``(n, 3)`` (or one sample ``(3,)``) of the current step."""
        prompt = self.current
        if prompt is None:
            raise CalibrationError("the procedure is finished; call result()")
        a = np.atleast_2d(np.asarray(acc, dtype=np.float64))
        g = np.atleast_2d(np.asarray(gyr, dtype=np.float64))
        if a.shape != g.shape or a.shape[1] != 3:
            raise InputError(f"acc and gyr must have the same shape (n, 3), got {a.shape} and {g.shape}")
        self._acc.append(a)
        self._gyr.append(g)
        if mag is not None:
            m = np.atleast_2d(np.asarray(mag, dtype=np.float64))
            if m.shape != a.shape:
                raise InputError(f"mag must have shape {a.shape}, got {m.shape}")
            self._mag.append(m)
        status = self._evaluate(prompt)
        if status.done:
            self._index += 1
            self._acc, self._gyr, self._mag = [], [], []
        return status

    def _buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        a = np.vstack(self._acc)[-self._max_buffer :]
        g = np.vstack(self._gyr)[-self._max_buffer :]
        m = np.vstack(self._mag)[-self._max_buffer :] if self._mag else None
        self._acc, self._gyr = [a], [g]
        if m is not None:
            self._mag = [m]
        return a, g, m

    def _trailing_still(self, prompt: Prompt) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The still stretch that reaches the end of the buffer: (acc, gyr, seconds)."""
        a, g, _ = self._buffers()
        cfg = dataclasses.replace(self.settings, min_duration_s=min(0.2, prompt.duration_s), margin_s=0.0)
        segs = find_still_segments(g, a, fs=self.fs, settings=cfg)
        if not segs:
            return None
        last = segs[-1]
        # the window at the buffer's end is shrunk; accept a stretch that ends within it
        if last.stop < a.shape[0] - int(self.settings.window_s * self.fs):
            return None
        start = last.start + int(self.settings.margin_s * self.fs)
        if last.stop - start < 2:
            return None
        return a[start : last.stop], g[start : last.stop], max(0.0, (last.stop - start) / self.fs)

    def _evaluate(self, prompt: Prompt) -> StepStatus:  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self) -> SensorCalibration:  # pragma: no cover - abstract
        raise NotImplementedError


class GyroBiasProcedure(CalibrationProcedure):
    """One step: leave the sensor on a table, untouched, for ``duration_s`` (default 10 s)."""

    def __init__(self, *, fs: float, sensor: str = "", duration_s: float = 10.0,
                 settings: StillnessSettings | None = None) -> None:
        prompt = Prompt(
            "rest",
            f"Put the sensor on a table and do not touch it for {duration_s:g} s.",
            duration_s,
            "still",
        )
        super().__init__([prompt], fs=fs, sensor=sensor, settings=settings)
        self._still: tuple[np.ndarray, np.ndarray] | None = None

    def _evaluate(self, prompt: Prompt) -> StepStatus:
        got = self._trailing_still(prompt)
        if got is None:
            return StepStatus(prompt, 0.0, "moving: leave the sensor still", False)
        a, g, secs = got
        if secs >= prompt.duration_s:
            self._still = (a, g)
            return StepStatus(prompt, 1.0, "done", True)
        return StepStatus(prompt, secs / prompt.duration_s, f"hold still ({secs:.0f}/{prompt.duration_s:g} s)", False)

    def result(self) -> SensorCalibration:
        if self._still is None:
            raise CalibrationError("the gyroscope bias step has not been completed")
        a, g = self._still
        res = estimate_gyro_bias(g, a, fs=self.fs, min_duration_s=min(3.0, g.shape[0] / self.fs))
        return SensorCalibration(
            sensor=self.sensor,
            gyr_bias=res.bias,
            quality={"gyr_bias_uncertainty_dps": float(np.degrees(res.uncertainty.max())),
                     "gyr_noise_dps": float(np.degrees(res.noise_std.max()))},
        )


class SixFaceProcedure(CalibrationProcedure):
    """Six steps: rest the sensor on each face (+X, −X, +Y, −Y, +Z, −Z up) for ``face_s`` each."""

    def __init__(self, *, fs: float, sensor: str = "", face_s: float = 4.0,
                 settings: StillnessSettings | None = None) -> None:
        prompts = []
        for face in FACES:
            sign = "+" if face[0] == "+" else "−"
            prompts.append(
                Prompt(
                    f"face:{face}",
                    f"Lay the sensor flat with its {sign}{_AXIS_WORDS[face[1]]} axis pointing up "
                    f"(the {sign}{_AXIS_WORDS[face[1]]} face on top) and keep it still for {face_s:.0f} s.",
                    face_s,
                    "still",
                )
            )
        super().__init__(prompts, fs=fs, sensor=sensor, settings=settings)
        self._means: dict[str, np.ndarray] = {}

    def _evaluate(self, prompt: Prompt) -> StepStatus:
        got = self._trailing_still(prompt)
        if got is None:
            return StepStatus(prompt, 0.0, "moving: put the sensor down and keep it still", False)
        a, _, secs = got
        mean = a.mean(axis=0)
        k = int(np.argmax(np.abs(mean)))
        seen = ("+" if mean[k] > 0 else "-") + "xyz"[k]
        tilt = np.degrees(np.arccos(min(1.0, abs(mean[k]) / np.linalg.norm(mean))))
        want = prompt.key.split(":")[1]
        if seen != want:
            return StepStatus(prompt, 0.0, f"expected {want} up, the sensor has {seen} up", False)
        if tilt > 25.0:
            return StepStatus(prompt, 0.0, f"{want} is up but tilted by {tilt:.0f}°: lay the sensor flat", False)
        if secs >= prompt.duration_s:
            self._means[want] = mean
            return StepStatus(prompt, 1.0, "done", True)
        return StepStatus(prompt, secs / prompt.duration_s, f"hold still ({secs:.0f}/{prompt.duration_s:.0f} s)", False)

    def result(self) -> SensorCalibration:
        missing = [f for f in FACES if f not in self._means]
        if missing:
            raise CalibrationError(f"six-face calibration is missing the faces {', '.join(missing)}")
        offset, scale, mis, resid = fit_six_face(np.array([self._means[f] for f in FACES]))
        return SensorCalibration(sensor=self.sensor, acc_offset=offset, acc_scale=scale,
                                 acc_misalignment=mis, quality={"acc_residual_ms2": resid})


class MagnetometerProcedure(CalibrationProcedure):
    """One step: rotate the sensor through all orientations until 80 % of directions are covered
    (or ``max_s`` has passed)."""

    def __init__(self, *, fs: float, sensor: str = "", max_s: float = 60.0, target_coverage: float = 0.8,
                 field_ut: float | None = None) -> None:
        prompt = Prompt(
            "rotate",
            "Away from metal and electronics, slowly rotate the sensor in every direction: "
            "figure-eights, turn it over, roll it on each side.",
            max_s,
            "rotate",
        )
        super().__init__([prompt], fs=fs, sensor=sensor, max_buffer_s=max_s + 5.0)
        self.target_coverage = target_coverage
        self.field_ut = field_ut
        self._mag_data: np.ndarray | None = None

    def _evaluate(self, prompt: Prompt) -> StepStatus:
        _, _, m = self._buffers()
        if m is None:
            return StepStatus(prompt, 0.0, "no magnetometer data", False)
        m = m[np.all(np.isfinite(m), axis=1)]
        if m.shape[0] < 20:
            return StepStatus(prompt, 0.0, "rotate the sensor", False)
        centre = 0.5 * (m.max(axis=0) + m.min(axis=0))  # rough hard iron for the progress display
        cov = sphere_coverage(m - centre)
        elapsed = m.shape[0] / self.fs
        done = cov >= self.target_coverage or elapsed >= prompt.duration_s
        if done:
            self._mag_data = m
        return StepStatus(prompt, min(1.0, cov / self.target_coverage),
                          f"{100 * cov:.0f} % of directions covered", done)

    def result(self) -> SensorCalibration:
        if self._mag_data is None:
            raise CalibrationError("the magnetometer rotation step has not been completed")
        res = calibrate_magnetometer(self._mag_data, field_ut=self.field_ut)
        return SensorCalibration(sensor=self.sensor, mag_hard_iron=res.hard_iron, mag_soft_iron=res.soft_iron,
                                 mag_field_ut=res.field_ut,
                                 quality={"mag_residual": res.residual, "mag_coverage": res.coverage})
