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
import math
import time
from dataclasses import dataclass

import numpy as np
from bumble import att
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from .. import protocol
from ..errors import ConfigurationError
from ..protocol import gatt as uuids
from ..protocol.packets import HEADER_SIZE, SAMPLE_SIZE_9
from .clock import DeviceClock, SimulationClock
from .motion import MotionModel, StillMotion
from .radio import REASON_CONNECTION_TIMEOUT, VirtualRadio, get_radio, random_static_address

__all__ = ["FirmwareCounters", "VirtualSensor", "VirtualSensorSettings"]

logger = logging.getLogger(__name__)

_ATT_HANDLE_VALUE_NOTIFICATION = 0x1B
#: STATUS is notified at least this often while streaming (SPEC §8), s of true time.
STATUS_INTERVAL_S = 10.0


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
    notify_queue_packets: int = 32  # notifications the radio may hold; beyond, samples wait in the FIFO
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


@dataclass(slots=True)
class _Faults:
    packet_loss: float = 0.0  # probability a DATA packet is lost over the air
    saturate_until_s: float = -math.inf  # true time until which motion is scaled up
    saturate_gain: float = 50.0


class VirtualSensor:
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
        self.faults = _Faults()
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

    # ------------------------------------------------------------------ GATT
    def _build_gatt(self) -> None:
        props = Characteristic.Properties
        readable = Characteristic.Permissions.READABLE
        writable = Characteristic.Permissions.WRITEABLE
        self._data_char = Characteristic(uuids.DATA_UUID, props.NOTIFY, readable, b"")
        self._control_char = Characteristic(
            uuids.CONTROL_UUID,
            props.WRITE | props.NOTIFY,
            readable | writable,
            CharacteristicValue(write=self._on_control_write),
        )
        self._status_char = Characteristic(
            uuids.STATUS_UUID,
            props.READ | props.NOTIFY,
            readable,
            CharacteristicValue(read=lambda _c: self._status_bytes()),
        )
        self._config_char = Characteristic(
            uuids.CONFIG_UUID,
            props.READ,
            readable,
            CharacteristicValue(read=lambda _c: protocol.encode_config(self.config)),
        )
        self._battery_char = Characteristic(
            uuids.BATTERY_LEVEL_UUID,
            props.READ | props.NOTIFY,
            readable,
            CharacteristicValue(read=lambda _c: bytes([self.battery_percent])),
        )

        def info(uuid: str, text: str) -> Characteristic[bytes]:
            return Characteristic(uuid, props.READ, readable, text.encode())

        self._device.add_services(
            [
                Service(
                    uuids.SERVICE_UUID,
                    [self._data_char, self._control_char, self._status_char, self._config_char],
                ),
                Service(
                    uuids.DEVICE_INFORMATION_SERVICE_UUID,
                    [
                        info(uuids.MANUFACTURER_NAME_UUID, "motiontrack"),
                        info(uuids.MODEL_NUMBER_UUID, "MT-IMU-VIRTUAL"),
                        info(uuids.SERIAL_NUMBER_UUID, self.config.serial),
                        info(uuids.HARDWARE_REVISION_UUID, "virtual-1"),
                        info(
                            uuids.FIRMWARE_REVISION_UUID,
                            f"{uuids.PROTOCOL_MAJOR}.{uuids.PROTOCOL_MINOR}.0-virtual",
                        ),
                    ],
                ),
                Service(uuids.BATTERY_SERVICE_UUID, [self._battery_char]),
            ]
        )
        self._device.on(self._device.EVENT_CONNECTION, self._on_connection)

    def advertising_data(self) -> bytes:
        """Flags, the 128-bit service UUID, the name, and the battery level if room is left.

        Scan responses are not emulated, so everything must fit 31 bytes; a name too
        long for the room left is sent shortened (AD type 0x08).
        """
        flags = (AdvertisingData.FLAGS, bytes([0x06]))  # LE general discoverable, no BR/EDR
        service = (
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            UUID(uuids.SERVICE_UUID).to_bytes(),
        )
        name = self.settings.name.encode()
        room = 31 - 3 - 18 - 2
        structures = [flags, service]
        if len(name) > room:
            structures.append((AdvertisingData.SHORTENED_LOCAL_NAME, name[:room]))
        else:
            structures.append((AdvertisingData.COMPLETE_LOCAL_NAME, name))
            if room - len(name) >= 5:  # 16-bit service data: Battery Service -> level
                structures.append(
                    (
                        AdvertisingData.SERVICE_DATA_16_BIT_UUID,
                        UUID.from_16_bits(0x180F).to_bytes() + bytes([self.battery_percent]),
                    )
                )
        data = bytes(AdvertisingData(structures))
        assert len(data) <= 31  # by construction above
        return data

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

    # --------------------------------------------------------------- notify
    def _subscribed(self, characteristic: Characteristic) -> bool:
        connection = self._connection
        if connection is None:
            return False
        cccds = self._device.gatt_server.subscribers.get(connection)
        if not cccds:
            return False
        cccd = cccds.get(characteristic.handle)
        return bool(cccd) and len(cccd) == 2 and bool(cccd[0] & 0x01)

    def _notify(self, characteristic: Characteristic, value: bytes) -> bool:
        """Send a notification if subscribed and the device queue has room.

        Truncates to ATT_MTU - 3 like every GATT server does.
        """
        connection = self._connection
        if connection is None or not self._subscribed(characteristic):
            return False
        if connection.peer_address not in self._controller.le_connections:
            return False  # the link is gone; the host has not processed the event yet
        host_queue = self._device.host.le_acl_packet_queue
        if host_queue is not None and host_queue.pending >= self.settings.notify_queue_packets:
            self.error_flags |= protocol.ErrorFlags.NOTIFY_QUEUE_FULL
            return False
        value = value[: connection.att_mtu - 3]
        pdu = bytes([_ATT_HANDLE_VALUE_NOTIFICATION]) + characteristic.handle.to_bytes(2, "little")
        self._device.send_l2cap_pdu(connection.handle, att.ATT_CID, pdu + value)
        return True

    def _status(self) -> protocol.Status:
        flags = self.error_flags
        if self.battery_percent < 10:
            flags |= protocol.ErrorFlags.LOW_BATTERY
        if not self._clock_synced:
            flags |= protocol.ErrorFlags.CLOCK_UNSYNCED
        dropped = (self.counters.packets_unsent + self.counters.packets_lost_air) & 0xFFFF
        return protocol.Status(
            state=protocol.StreamState.STREAMING if self.is_streaming else protocol.StreamState.IDLE,
            battery_percent=self.battery_percent,
            temperature_c=self.temperature_c,
            battery_mv=int(3300 + 9 * self.battery_percent),
            error_flags=flags,
            device_dropped=dropped,
        )

    def _status_bytes(self) -> bytes:
        return protocol.encode_status(self._status())

    def notify_status(self) -> None:
        """Push the status characteristic (and battery level) to a subscribed host."""
        self._notify(self._status_char, self._status_bytes())
        self._notify(self._battery_char, bytes([self.battery_percent]))

    # ------------------------------------------------------------- streaming
    @property
    def samples_per_packet(self) -> int:
        """DATA samples per notification at the current MTU and rate."""
        # The packet size chosen at START holds while the link is down.
        if self._connection is not None:
            self._payload_size = self._connection.att_mtu - 3
        fit = protocol.max_samples(self._payload_size, mag=self.settings.with_mag)
        if self.settings.samples_per_packet is not None:
            return max(1, min(fit, self.settings.samples_per_packet))
        cap = max(1, int(self.config.sample_rate_hz * self.settings.max_packet_interval_s))
        return max(1, min(fit, cap))

    def start_stream(self, *, mag: bool = False, mag_separate: bool = False) -> bool:
        """Start sampling with the sequence at 0 (SPEC §4); False if already streaming.

        With ``mag``, the magnetometer travels in 9-axis DATA samples when the payload
        allows (>= 26 bytes) and ``mag_separate`` is not set, else in MAG packets at
        ``config.mag_rate_hz`` (SPEC §5).
        """
        if self.is_streaming:
            return False
        if self._connection is not None:
            self._payload_size = self._connection.att_mtu - 3
        nine_axis_fits = self._payload_size >= HEADER_SIZE + SAMPLE_SIZE_9
        self._mag_mode = None
        if mag:
            self._mag_mode = "separate" if (mag_separate or not nine_axis_fits) else "nine_axis"
        self._stream_origin_us = self.device_clock.device_us(self.clock.now())
        self._next_sample = 0
        self._next_mag = 0
        self._sequence = 0
        self._stream_task = asyncio.get_running_loop().create_task(self._stream_loop())
        self._spawn_status_soon()
        return True

    def _stop_stream(self) -> None:
        task, self._stream_task = self._stream_task, None
        if task is not None:
            task.cancel()
            self._spawn_status_soon()

    def _spawn_status_soon(self) -> None:
        # STATUS is notified immediately when the state changes (SPEC §8).
        try:
            asyncio.get_running_loop().call_soon(self.notify_status)
        except RuntimeError:  # no loop: closing down
            pass

    def _sample_device_us(self, k: int) -> float:
        return self._stream_origin_us + k * self.config.sample_period_us

    async def _stream_loop(self) -> None:
        period = self.config.sample_period_us
        mag_period = self.config.mag_period_us
        next_status = self.clock.now() + STATUS_INTERVAL_S
        try:
            while True:
                t = self.clock.now()
                if (
                    self._lost_link_at is not None
                    and t - self._lost_link_at > self.settings.link_hold_s
                ):
                    self._stream_task = None
                    return  # nobody came back: stop like a real sensor saving power
                now_dev = self.device_clock.device_us(t)
                due = int(math.floor((now_dev - self._stream_origin_us) / period)) + 1
                spp = self.samples_per_packet
                blocked = False
                while due - self._next_sample >= spp:
                    if self._queue_full():
                        blocked = True  # samples wait in the sensor FIFO
                        break
                    self._emit(spp)
                self._check_fifo(due)
                wake_dev = self._sample_device_us(self._next_sample + spp - 1)
                if self._mag_mode == "separate":
                    mpp = self._mag_per_packet()
                    due_mag = int(math.floor((now_dev - self._stream_origin_us) / mag_period)) + 1
                    while due_mag - self._next_mag >= mpp and not blocked:
                        if self._queue_full():
                            blocked = True
                            break
                        self._emit_mag(mpp)
                    wake_dev = min(
                        wake_dev, self._stream_origin_us + (self._next_mag + mpp - 1) * mag_period
                    )
                if blocked:
                    await asyncio.sleep(0.0005)  # let the radio drain the notification queue
                    continue
                if t >= next_status:
                    next_status = t + STATUS_INTERVAL_S
                    self.notify_status()
                await self.clock.sleep_until(self.device_clock.true_time(wake_dev))
        except asyncio.CancelledError:
            raise
        except Exception:  # a firmware bug must be visible in tests, not silently stop
            logger.exception("virtual sensor %s: stream loop failed", self.settings.name)
            raise

    def _queue_full(self) -> bool:
        queue = self._device.host.le_acl_packet_queue
        return (
            self._connection is not None
            and queue is not None
            and queue.pending >= self.settings.notify_queue_packets
        )

    def _check_fifo(self, due: int) -> None:
        """A backlog beyond the FIFO is lost before packetising (SPEC §4.2, FIFO_OVERFLOW)."""
        capacity = max(1, int(self.settings.fifo_s * self.config.sample_rate_hz))
        backlog = due - self._next_sample
        if backlog > capacity:
            skipped = backlog - capacity
            self._next_sample += skipped
            self.counters.samples_fifo_overflow += skipped
            self.error_flags |= protocol.ErrorFlags.FIFO_OVERFLOW
            self._spawn_status_soon()

    def _mag_per_packet(self) -> int:
        fit = protocol.max_samples(
            self._payload_size, packet_type=protocol.PacketType.MAG
        )
        cap = max(1, int(self.config.mag_rate_hz * self.settings.max_packet_interval_s))
        return max(1, min(fit, cap))

    def _account(self, sent: bool, n: int) -> None:
        c = self.counters
        if sent:
            c.packets_sent += 1
            c.samples_sent += n
        else:
            c.packets_unsent += 1
            c.samples_unsent += n

    def _lost_in_air(self, n: int) -> bool:
        if self.faults.packet_loss > 0 and self._rng.random() < self.faults.packet_loss:
            self.counters.packets_lost_air += 1
            self.counters.samples_lost_air += n
            return True
        return False

    def _emit(self, n: int) -> None:
        k0 = self._next_sample
        dev_us = self._sample_device_us(k0 + np.arange(n))
        t = self.device_clock.true_time(dev_us)
        acc, gyr, mag = self.motion.sample(t)
        if t[0] <= self.faults.saturate_until_s:
            acc = acc * self.faults.saturate_gain
            gyr = gyr * self.faults.saturate_gain
        if self._mag_mode == "nine_axis":
            # sample-and-hold of the slower magnetometer (SPEC §5)
            held = np.floor((dev_us - self._stream_origin_us) / self.config.mag_period_us)
            held_dev = self._stream_origin_us + held * self.config.mag_period_us
            mag = self.motion.sample(self.device_clock.true_time(held_dev))[2]
        flags = protocol.DataFlags.CLOCK_SYNCED if self._clock_synced else 0
        packet = protocol.encode_data_packet(
            sequence=self._sequence,
            timestamp_us=int(round(dev_us[0])),
            acc=acc,
            gyr=gyr,
            mag=mag if self._mag_mode == "nine_axis" else None,
            config=self.config,
            flags=flags,
        )
        seq = self._sequence
        self._sequence += 1
        self._next_sample = k0 + n
        self.counters.packets_generated += 1
        self.counters.samples_generated += n
        if not self._lost_in_air(n):
            sent_at = time.perf_counter()
            sent = self._notify(self._data_char, packet)
            self._account(sent, n)
            if sent and self.sent_at is not None:
                self.sent_at[seq & 0xFFFF] = sent_at

    def _emit_mag(self, n: int) -> None:
        j0 = self._next_mag
        dev_us = self._stream_origin_us + (j0 + np.arange(n)) * self.config.mag_period_us
        mag = self.motion.sample(self.device_clock.true_time(dev_us))[2]
        flags = protocol.DataFlags.CLOCK_SYNCED if self._clock_synced else 0
        packet = protocol.encode_mag_packet(
            sequence=self._sequence,
            timestamp_us=int(round(dev_us[0])),
            mag=mag,
            config=self.config,
            flags=flags,
        )
        self._sequence += 1
        self._next_mag = j0 + n
        if not self._lost_in_air(0):
            self._account(self._notify(self._data_char, packet), 0)

    # ---------------------------------------------------------------- faults
    def set_packet_loss(self, probability: float) -> None:
        """Lose each DATA packet over the air with ``probability`` (sequence still advances)."""
        if not 0.0 <= probability <= 1.0:
            raise ConfigurationError("packet loss probability must be in [0, 1]")
        self.faults.packet_loss = float(probability)

    def set_clock_drift(self, drift_ppm: float) -> None:
        """Change the crystal error; the device clock stays continuous."""
        t = self.clock.now()
        before = self.device_clock.device_us(t)
        self.device_clock.drift_ppm = float(drift_ppm)
        self.device_clock.offset_us = 0
        self.device_clock.offset_us = int(round(before - self.device_clock.device_us(t)))

    def saturate(self, duration_s: float, gain: float = 50.0) -> None:
        """Scale motion by ``gain`` for ``duration_s`` of true time: counts clip at full scale."""
        self.faults.saturate_gain = float(gain)
        self.faults.saturate_until_s = self.clock.now() + float(duration_s)

    def set_battery(self, percent: int) -> None:
        """Set the battery level (below 10 % raises LOW_BATTERY) and notify the host."""
        if not 0 <= percent <= 100:
            raise ConfigurationError("battery percent must be 0..100")
        self.battery_percent = int(percent)
        self.notify_status()

    def send_malformed(self, count: int = 1) -> int:
        """Notify ``count`` malformed DATA payloads (truncated, bad version, bad length).

        They are extra notifications: no valid sample is replaced. Returns how many
        were sent (0 when nobody subscribed).
        """
        good = protocol.encode_data_packet(
            sequence=self._sequence,
            timestamp_us=0,
            acc=np.zeros((1, 3)),
            gyr=np.zeros((1, 3)),
            config=self.config,
        )
        variants = (
            good[:5],  # truncated header
            bytes([0x21]) + good[1:],  # protocol major version 2
            good + b"\x00\x01\x02",  # partial sample
            b"",  # empty
        )
        sent = 0
        for i in range(count):
            if self._notify(self._data_char, variants[i % len(variants)]):
                sent += 1
        self.counters.malformed_sent += sent
        return sent

    def drop_link(self, down_s: float = 0.0) -> bool:
        """Lose the link (supervision timeout on both ends).

        The sensor keeps sampling (samples made while the link is down are lost)
        and stays silent for ``down_s`` seconds of true time before advertising again.
        Returns whether a link was up.
        """
        was_up = self._connection is not None
        if down_s > 0:
            self._visible = False
            self._spawn(self._reappear_after(down_s))
        if was_up:
            self.radio.drop_link(self.address, REASON_CONNECTION_TIMEOUT)
        return was_up

    async def _reappear_after(self, down_s: float) -> None:
        try:
            await self._device.stop_advertising()
        except Exception:  # noqa: BLE001
            logger.debug("stop_advertising failed", exc_info=True)
        await self.clock.sleep(down_s)
        await self.reappear()

    async def vanish(self) -> None:
        """Go out of range: the link is lost and the sensor stops advertising."""
        self._visible = False
        await self._device.stop_advertising()
        if self._connection is not None:
            self.radio.drop_link(self.address, REASON_CONNECTION_TIMEOUT)

    async def reappear(self) -> None:
        """Come back in range and advertise again."""
        self._visible = True
        await self._advertise()

    async def disconnect(self) -> None:
        """Peripheral-initiated disconnection (e.g. the user pressed the power button)."""
        connection = self._connection
        if connection is not None:
            await connection.disconnect()

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


from . import _commands  # noqa: E402  (the command table needs VirtualSensor defined)

