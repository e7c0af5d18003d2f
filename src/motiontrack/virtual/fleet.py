"""Several virtual sensors sharing one simulated clock (and one motion model).

:class:`VirtualFleet` starts and stops sensors together; :func:`knee_pair` is the
usual setup (thigh + shank of one simulated knee). :func:`ensure_sensor` backs the
``sim:NAME`` source strings of :mod:`motiontrack.transport`: it starts a virtual
sensor called ``NAME`` on the loop's radio unless one is already there
(``thigh``/``shank`` move as a knee doing ``DEFAULT_EXERCISE``, any other name is a
sensor lying still).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable

from .clock import SimulationClock
from .motion import KneeMotion, MotionModel, StillMotion
from .radio import VirtualRadio, get_radio
from .sensor import VirtualSensor, VirtualSensorSettings

__all__ = [
    "DEFAULT_EXERCISE",
    "VirtualFleet",
    "ensure_sensor",
    "knee_pair",
    "start_motion_sensors",
    "start_sensors",
]

logger = logging.getLogger(__name__)

DEFAULT_EXERCISE = "seated_knee_extension"
KNEE_SEGMENTS = ("thigh", "shank")


class VirtualFleet:
    """Virtual sensors on one radio and one :class:`SimulationClock`.

    Parameters
    ----------
    clock : SimulationClock, optional
        Shared simulated time (default: real time).
    radio : VirtualRadio, optional
        Default: the running loop's radio.
    """

    def __init__(
        self, clock: SimulationClock | None = None, radio: VirtualRadio | None = None
    ) -> None:
        self.clock = clock if clock is not None else SimulationClock(1.0)
        self.radio = radio if radio is not None else get_radio()
        self.sensors: dict[str, VirtualSensor] = {}
        self._knee: KneeMotion | None = None
        self._knee_exercise: str | None = None

    def knee(self, exercise: str = DEFAULT_EXERCISE, *, seed: int = 0) -> KneeMotion:
        """The fleet's knee model (generated once per exercise)."""
        if self._knee is None or self._knee_exercise != exercise:
            self._knee = KneeMotion(exercise, seed=seed)
            self._knee_exercise = exercise
        return self._knee

    async def add(
        self, settings: VirtualSensorSettings, motion: MotionModel | None = None
    ) -> VirtualSensor:
        """Create, power on and advertise one sensor."""
        sensor = VirtualSensor(settings, motion, self.clock, self.radio)
        await sensor.start()
        self.sensors[settings.name] = sensor
        return sensor

    async def close(self) -> None:
        for sensor in list(self.sensors.values()):
            await sensor.close()
        self.sensors.clear()

    async def __aenter__(self) -> VirtualFleet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __getitem__(self, name: str) -> VirtualSensor:
        return self.sensors[name]


async def knee_pair(
    *,
    exercise: str = DEFAULT_EXERCISE,
    speed: float = 1.0,
    sample_rate_hz: float = 100.0,
    names: Iterable[str] = KNEE_SEGMENTS,
    seed: int = 0,
    **settings: object,
) -> VirtualFleet:
    """Start thigh and shank sensors of one simulated knee doing ``exercise``.

    ``settings`` are further :class:`VirtualSensorSettings` fields applied to both.
    """
    fleet = VirtualFleet(SimulationClock(speed))
    knee = fleet.knee(exercise, seed=seed)
    for i, name in enumerate(names):
        segment = KNEE_SEGMENTS[i % 2] if name not in KNEE_SEGMENTS else name
        await fleet.add(
            VirtualSensorSettings(
                name=name,
                sample_rate_hz=sample_rate_hz,
                clock_offset_us=1_000_000 + 777_777 * i,
                seed=seed + i,
                **settings,  # type: ignore[arg-type]
            ),
            knee.segment(segment),
        )
    return fleet


_DEFAULT_FLEETS: weakref.WeakKeyDictionary[VirtualRadio, VirtualFleet] = weakref.WeakKeyDictionary()


async def ensure_sensor(name: str) -> VirtualSensor:
    """The virtual sensor called ``name`` on this loop's radio, started if absent."""
    radio = get_radio()
    for peripheral in radio.peripherals.values():
        if isinstance(peripheral, VirtualSensor) and peripheral.settings.name == name:
            return peripheral
    fleet = _DEFAULT_FLEETS.get(radio)
    if fleet is None:
        fleet = VirtualFleet(radio=radio)
        _DEFAULT_FLEETS[radio] = fleet
    index = len(fleet.sensors)
    motion: MotionModel
    if name in KNEE_SEGMENTS:
        motion = fleet.knee().segment(name)
    else:
        motion = StillMotion(seed=index)
    return await fleet.add(
        VirtualSensorSettings(name=name, clock_offset_us=1_000_000 + 777_777 * index, seed=index),
        motion,
    )


async def start_sensors(
    names: Iterable[str],
    *,
    speed: float = 1.0,
    sample_rate_hz: float = 100.0,
    exercise: str = DEFAULT_EXERCISE,
    seed: int = 0,
    with_mag: bool = False,
) -> VirtualFleet:
    """Start virtual sensors called ``names`` on one clock (``thigh``/``shank`` move as a
    knee doing ``exercise``, other names lie still); they then answer ``sim:NAME``.

    ``with_mag``: the sensors have a magnetometer (9-axis, the simulator's field), streamed
    when the app's START asks for it (``Session`` with ``magnetometer=True``)."""
    fleet = VirtualFleet(SimulationClock(speed))
    radio = fleet.radio
    _DEFAULT_FLEETS[radio] = fleet
    for index, name in enumerate(names):
        motion: MotionModel
        if name in KNEE_SEGMENTS:
            motion = fleet.knee(exercise, seed=seed).segment(name)
        else:
            motion = StillMotion(seed=seed + index)
        await fleet.add(
            VirtualSensorSettings(
                name=name,
                sample_rate_hz=sample_rate_hz,
                clock_offset_us=1_000_000 + 777_777 * index,
                seed=seed + index,
                with_mag=with_mag,
            ),
            motion,
        )
    return fleet


async def start_motion_sensors(
    motions: dict[str, MotionModel], *, speed: float = 1.0, sample_rate_hz: float = 100.0
) -> VirtualFleet:
    """Start one virtual sensor per ``{name: motion}`` on one clock (e.g. the
    :class:`~motiontrack.virtual.motion.SegmentMotion` tables of a simulated body-region
    session); they then answer ``sim:NAME``."""
    fleet = VirtualFleet(SimulationClock(speed))
    _DEFAULT_FLEETS[fleet.radio] = fleet
    for index, (name, motion) in enumerate(motions.items()):
        await fleet.add(
            VirtualSensorSettings(
                name=name,
                sample_rate_hz=sample_rate_hz,
                clock_offset_us=1_000_000 + 777_777 * index,
                seed=index,
            ),
            motion,
        )
    return fleet
