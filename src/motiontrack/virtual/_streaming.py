"""Streaming of the virtual sensor firmware: sampling the motion on the device clock,
packetising (DATA, MAG; SPEC §4, §5), the FIFO and the radio queue, firmware counters."""

from __future__ import annotations

import asyncio
import logging
import math
import time

import numpy as np

from .. import protocol
from ..protocol.packets import HEADER_SIZE, SAMPLE_SIZE_9

__all__ = ["Streaming"]

logger = logging.getLogger(__name__)

#: STATUS is notified at least this often while streaming (SPEC §8), s of true time.
STATUS_INTERVAL_S = 10.0


class Streaming:
    """Sampling and packetising of :class:`~.sensor.VirtualSensor`.

    A part of ``VirtualSensor`` (a mixin): it works on the state that
    ``VirtualSensor.__init__`` sets up.
    """

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
        t0 = self.clock.now()
        start = getattr(self.motion, "start", None)
        if start is not None:  # a motion that begins with the first stream of its body
            # (SegmentMotion): every sensor of the body samples on the body's grid, so the
            # data are the same whenever each one connects
            origin = start(t0)
            period = self.config.sample_period_us * 1e-6
            t0 = origin + math.ceil((t0 - origin) / period - 1e-9) * period
        self._stream_origin_us = self.device_clock.device_us(t0)
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

    def stream_true_time(self, t: float) -> float:
        """Simulation-clock time (s) at which this sensor's device clock reads ``t`` s past
        the first sample of the current stream (a session's time, for its proximal sensor)."""
        return float(self.device_clock.true_time(self._stream_origin_us + t * 1e6))

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
        fit = protocol.max_samples(self._payload_size, packet_type=protocol.PacketType.MAG)
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
