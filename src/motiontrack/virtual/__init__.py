"""Virtual BLE sensors on Bumble's emulated controller, reachable through the real bleak API.

Nothing here needs a radio: Bumble's emulated controllers talk over an in-process
link, the bleak backend (:class:`BumbleScanner`, :class:`BumbleClient`) drives
Bumble's host stack, and :class:`VirtualSensor` is sensor firmware (a GATT server
implementing ``firmware_protocol``) streaming a motion model::

    import asyncio
    from bleak import BleakClient, BleakScanner
    from motiontrack.virtual import (
        BumbleClient, BumbleScanner, VirtualSensor, VirtualSensorSettings,
    )

    async def main():
        async with VirtualSensor(VirtualSensorSettings(name="thigh")) as sensor:
            device = await BleakScanner.find_device_by_name("thigh", backend=BumbleScanner)
            async with BleakClient(device, backend=BumbleClient) as client:
                print(client.mtu_size)            # 247

    asyncio.run(main())

One :class:`VirtualRadio` exists per event loop (:func:`get_radio`). Bumble is an
optional dependency (``pip install motiontrack[sim]``); this package imports it.
"""

from __future__ import annotations

from .backend import BumbleClient, BumbleScanner
from .clock import DeviceClock, SimulationClock
from .fleet import VirtualFleet, knee_pair, start_sensors
from .motion import KneeMotion, MotionModel, SegmentMotion, StillMotion
from .radio import VirtualRadio, get_radio, random_static_address
from .sensor import FirmwareCounters, VirtualSensor, VirtualSensorSettings

__all__ = [
    "BumbleClient",
    "BumbleScanner",
    "DeviceClock",
    "FirmwareCounters",
    "KneeMotion",
    "MotionModel",
    "SegmentMotion",
    "SimulationClock",
    "StillMotion",
    "VirtualFleet",
    "VirtualRadio",
    "VirtualSensor",
    "VirtualSensorSettings",
    "get_radio",
    "knee_pair",
    "random_static_address",
    "start_sensors",
]
