"""Virtual sensor firmware: a GATT server implementing ``firmware_protocol`` on Bumble.

A :class:`VirtualSensor` is one IMU sensor as firmware would run it: it advertises
(random static address, ~20 ms interval, name and service UUID in the 31-byte
advertising data), accepts one connection, serves

* the motiontrack service (SPEC §2): data (notify), control (write with response;
  responses notified on the same characteristic), status (read + notify), config
  (read);
* Device Information (0x180A) and Battery (0x180F, level 0x2A19, read + notify);

and streams IMU samples from a :class:`~motiontrack.virtual.motion.MotionModel` with
its own device clock (:class:`~motiontrack.virtual.clock.DeviceClock`: offset and
drift) on a :class:`~motiontrack.virtual.clock.SimulationClock` (which may run
faster than real time). Every byte on the air comes from the protocol layer's
encoders (:mod:`motiontrack.protocol`); nothing here knows the wire format.

Fault injection, on demand: :meth:`VirtualSensor.set_packet_loss`,
:meth:`VirtualSensor.drop_link`, :meth:`VirtualSensor.set_clock_drift`,
:meth:`VirtualSensor.saturate`, :meth:`VirtualSensor.set_battery`,
:meth:`VirtualSensor.send_malformed`, :meth:`VirtualSensor.disconnect`
(peripheral-initiated), :meth:`VirtualSensor.vanish` / :meth:`VirtualSensor.reappear`.
Counters of what the firmware did (:class:`FirmwareCounters`) let tests check the
host's gap reports against the truth.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np
from bumble.device import Connection, Device

from .. import protocol
from ..errors import ConfigurationError
from . import _commands
from ._faults import FaultInjection, Faults
from ._gatt import GattServer
from ._streaming import Streaming
from .clock import DeviceClock, SimulationClock
from .motion import MotionModel, StillMotion
from .radio import REASON_CONNECTION_TIMEOUT, VirtualRadio, get_radio, random_static_address

__all__ = ["FirmwareCounters", "VirtualSensor", "VirtualSensorSettings"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class VirtualSensorSettings:
    """What a virtual sensor is and how its firmware behaves."""

    name: str  # advertised local name (the ``sim:NAME`` of a source)
    address: str | None = None  # random static address; None = derived from ``name``
    sample_rate_hz: float = 100.0  # Hz, output data rate of acc/gyr
    acc_range_g: int = 16  # ± g
    gyr_range_dps: int = 2000  # ± °/s
    with_mag: bool = False  # a magnetometer is fitted (streamed when START asks for it)
    mag_rate_hz: float = 25.0  # Hz, magnetometer output data rate (with_mag only)
    samples_per_packet: int | None = None  # None = as many as fit, capped by max_packet_interval_s
    max_packet_interval_s: float = 0.05  # s; latency cap when batching samples per packet
    advertising_interval_ms: float = 20.0  # ms
    clock_offset_us: int = 1_000_000  # device time at simulation start, µs
    clock_drift_ppm: float = 0.0  # device crystal error, ppm
    battery_percent: int = 87  # %
    temperature_c: float = 31.5  # °C
    serial: str = ""  # up to 8 ASCII characters; "" = derived from the address
    notify_queue_packets: int = (
        32  # notifications the radio may hold; beyond, samples wait in the FIFO
    )
    fifo_s: float = 2.0  # s of samples the sensor FIFO holds; older ones are lost (FIFO_OVERFLOW)
    link_hold_s: float = 30.0  # s; keeps sampling through a link loss this long, then stops
    seed: int = 0  # seed of the packet-loss draws

    def __post_init__(self) -> None:
        if not self.name or len(self.name.encode()) > 26:
            raise ConfigurationError("VirtualSensorSettings: name must be 1..26 bytes")
        if not self.sample_rate_hz > 0:
            raise ConfigurationError("VirtualSensorSettings: sample_rate_hz must be > 0")
        if self.samples_per_packet is not None and self.samples_per_packet < 1:
            raise ConfigurationError("VirtualSensorSettings: samples_per_packet must be >= 1")
        if not self.max_packet_interval_s > 0:
            raise ConfigurationError("VirtualSensorSettings: max_packet_interval_s must be > 0")
        if not 5.0 <= self.advertising_interval_ms <= 10_240.0:
            raise ConfigurationError("VirtualSensorSettings: advertising_interval_ms out of range")
        if not 0 <= self.battery_percent <= 100:
            raise ConfigurationError("VirtualSensorSettings: battery_percent must be 0..100")
        if self.notify_queue_packets < 1:
            raise ConfigurationError("VirtualSensorSettings: notify_queue_packets must be >= 1")
        if not self.fifo_s > 0:
            raise ConfigurationError("VirtualSensorSettings: fifo_s must be > 0")


@dataclass(slots=True)
class FirmwareCounters:
    """What the firmware really did (ground truth for tests)."""

    packets_generated: int = 0  # DATA packets made (sequence numbers consumed by DATA)
    samples_generated: int = 0
    packets_sent: int = 0  # DATA notifications handed to the radio (a link loss may still eat them)
    samples_sent: int = 0
    packets_lost_air: int = 0  # dropped by the packet-loss fault (sequence consumed)
    samples_lost_air: int = 0
    packets_unsent: int = 0  # generated while no subscriber / link down / queue full
    samples_unsent: int = 0
    samples_fifo_overflow: int = 0  # lost before packetising (FIFO full while the radio was busy)
    malformed_sent: int = 0  # malformed notifications injected
    commands: int = 0  # control writes handled
    connections: int = 0
    link_drops: int = 0


class VirtualSensor(GattServer, Streaming, FaultInjection):
    """One virtual IMU sensor (firmware + radio) on the loop's virtual radio.

    Parameters
    ----------
    settings : VirtualSensorSettings
    motion : MotionModel, optional
        Source of SI samples at true time; default a still sensor.
    clock : SimulationClock, optional
        Shared simulated time; default real time.
    radio : VirtualRadio, optional
        Default: the running loop's radio.

    Use as ``async with VirtualSensor(...) as sensor:`` or call :meth:`start` and
    :meth:`close`.
    """

    def __init__(
        self,
        settings: VirtualSensorSettings,
        motion: MotionModel | None = None,
        clock: SimulationClock | None = None,
        radio: VirtualRadio | None = None,
    ) -> None:
        self.settings = settings
        self.motion = motion if motion is not None else StillMotion(seed=settings.seed)
        self.clock = clock if clock is not None else SimulationClock(1.0)
        self.radio = radio if radio is not None else get_radio()
        self.address = (settings.address or random_static_address(settings.name)).upper()
        serial = settings.serial or self.address.replace(":", "")[-8:]
        self.config = protocol.SensorConfig(
            sample_rate_hz=settings.sample_rate_hz,
            acc_range_g=settings.acc_range_g,
            gyr_range_dps=settings.gyr_range_dps,
            mag_rate_hz=settings.mag_rate_hz if settings.with_mag else 0.0,
            serial=serial,
            capabilities=(
                protocol.Capabilities.HAS_TEMPERATURE
                | protocol.Capabilities.HAS_BATTERY_GAUGE
                | protocol.Capabilities.TIME_SYNC
                | protocol.Capabilities.IDENTIFY
                | (protocol.Capabilities.HAS_MAG if settings.with_mag else 0)
            ),
        )
        self.device_clock = DeviceClock(
            offset_us=settings.clock_offset_us, drift_ppm=settings.clock_drift_ppm
        )
        self.counters = FirmwareCounters()
        self.faults = Faults()
        self.battery_percent = settings.battery_percent
        self.temperature_c = settings.temperature_c
        self.error_flags = protocol.ErrorFlags(0)
        self.identify_count = 0
        #: Benchmarks set a dict here: sequence -> perf_counter when the DATA notification
        #: was handed to the radio.
        self.sent_at: dict[int, float] | None = None
        self._rng = np.random.default_rng(settings.seed)
        self._device: Device = self.radio.new_device(settings.name, self.address)
        self._controller = self._device.host.hci_sink
        self._connection: Connection | None = None
        self._visible = True
        self._started = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_task: asyncio.Task[None] | None = None
        self._sequence = 0
        self._next_sample = 0  # index of the next sample on the device clock
        self._stream_origin_us = 0.0  # device time of sample 0 of this stream, µs
        self._clock_synced = False
        self._payload_size = 20  # ATT_MTU - 3 of the current (or last) link
        self._mag_mode: str | None = None  # None, "nine_axis" or "separate" (SPEC §5)
        self._next_mag = 0
        self._lost_link_at: float | None = None  # true time of the last link loss
        self._build_gatt()

    # ------------------------------------------------------------- lifecycle
    async def start(self) -> VirtualSensor:
        """Power on and start advertising."""
        if self._started:
            return self
        await self._device.power_on()
        self._started = True
        self.radio.peripherals[self.address] = self
        await self._advertise()
        return self

    async def close(self) -> None:
        """Stop streaming, disconnect, leave the air."""
        self._stop_stream()
        if self._connection is not None:
            self.radio.drop_link(self.address, REASON_CONNECTION_TIMEOUT)
        self._visible = False
        if self._started:
            try:
                await self._device.stop_advertising()
            except Exception:  # noqa: BLE001 - best effort while shutting down
                logger.debug("stop_advertising failed on close", exc_info=True)
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self.radio.peripherals.pop(self.address, None)
        controller = self._device.host.hci_sink
        self.radio.remove_controller(controller)  # type: ignore[arg-type]
        self._started = False

    async def __aenter__(self) -> VirtualSensor:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _advertise(self) -> None:
        if not (self._visible and self._started) or self._connection is not None:
            return
        interval = self.settings.advertising_interval_ms
        await self._device.start_advertising(
            advertising_data=self.advertising_data(),
            advertising_interval_min=interval,
            advertising_interval_max=interval,
        )

    def _spawn(self, coro: object) -> None:
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    @property
    def is_streaming(self) -> bool:
        return self._stream_task is not None and not self._stream_task.done()

    @property
    def sequence(self) -> int:
        """Sequence number the next DATA packet will carry (mod 65536)."""
        return self._sequence & 0xFFFF

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._lost_link_at = None
        self.counters.connections += 1
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._lost_link_at = self.clock.now()
        if reason == REASON_CONNECTION_TIMEOUT:
            self.counters.link_drops += 1
        self._spawn(self._advertise())

    # -------------------------------------------------------------- commands
    async def _on_control_write(self, connection: Connection, value: bytes) -> None:
        self.counters.commands += 1
        response = self.handle_command(bytes(value))
        if response is not None:
            # Respond after the write response, as a notification on the control characteristic.
            asyncio.get_running_loop().call_soon(self._notify, self._control_char, response)

    def handle_command(self, payload: bytes) -> bytes | None:
        """Execute one control-characteristic command and return the response bytes."""
        return _commands.handle(self, payload)
