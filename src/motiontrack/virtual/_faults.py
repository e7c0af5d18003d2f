"""Fault injection of the virtual sensor firmware: packet loss, link drops, clock drift,
saturation, battery, malformed notifications, vanishing."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from .. import protocol
from ..errors import ConfigurationError
from .radio import REASON_CONNECTION_TIMEOUT

__all__ = ["FaultInjection", "Faults"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Faults:
    """The faults in force on one sensor."""

    packet_loss: float = 0.0  # probability a DATA packet is lost over the air
    saturate_until_s: float = -math.inf  # true time until which motion is scaled up
    saturate_gain: float = 50.0


class FaultInjection:
    """Faults injected on demand into :class:`~.sensor.VirtualSensor`.

    A part of ``VirtualSensor`` (a mixin): it works on the state that
    ``VirtualSensor.__init__`` sets up.
    """

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
