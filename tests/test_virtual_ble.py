"""The Bumble-backed bleak backend and the virtual sensor firmware, through bleak's public API.

No mocks: BleakScanner/BleakClient run against Bumble's host stack and emulated
controllers (motiontrack.virtual). Each test gets its own event loop, hence its own
virtual radio.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError
from bumble.core import UUID, AdvertisingData

from motiontrack import protocol
from motiontrack.protocol import commands as cmd
from motiontrack.protocol.commands import Opcode, ResultCode
from motiontrack.virtual import (
    BumbleClient,
    BumbleScanner,
    SimulationClock,
    StillMotion,
    VirtualFleet,
    VirtualSensorSettings,
    get_radio,
    random_static_address,
)
from motiontrack.virtual.backend import parse_advertising_data

pytestmark = pytest.mark.timeout(60)

CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"


async def _fleet(*names: str, speed: float = 20.0, **settings: object) -> VirtualFleet:
    fleet = VirtualFleet(SimulationClock(speed))
    for i, name in enumerate(names):
        await fleet.add(VirtualSensorSettings(name=name, seed=i, **settings), StillMotion(seed=i))  # type: ignore[arg-type]
    return fleet


def test_random_static_addresses_are_stable_and_flagged() -> None:
    a = random_static_address("thigh")
    assert a == random_static_address("thigh") != random_static_address("shank")
    assert int(a[:2], 16) >> 6 == 0b11  # random static: two top bits set (Core Vol 6 B 1.3.2.1)


def test_advertising_data_parses_like_a_platform_would() -> None:
    # flags, 128-bit UUID list, complete name, battery service data
    raw = bytes(
        AdvertisingData(
            [
                (AdvertisingData.FLAGS, b"\x06"),
                (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, UUID(protocol.SERVICE_UUID).to_bytes()),
                (AdvertisingData.COMPLETE_LOCAL_NAME, b"T1"),
                (AdvertisingData.SERVICE_DATA_16_BIT_UUID, UUID.from_16_bits(0x180F).to_bytes() + b"\x2a"),
            ]
        )
    )
    adv = parse_advertising_data(raw, rssi=-61)
    assert adv.local_name == "T1"
    assert adv.service_uuids == [protocol.SERVICE_UUID]
    assert adv.service_data == {protocol.gatt.BATTERY_SERVICE_UUID: b"\x2a"}
    assert adv.rssi == -61


async def test_scan_filters_by_service_uuid_and_fits_31_bytes() -> None:
    fleet = await _fleet("thigh", "shank", "T1")
    # A foreign peripheral advertising another service must be filtered out.
    radio = get_radio()
    other = radio.new_device("other", random_static_address("other"))
    await other.power_on()
    await other.start_advertising(
        advertising_data=bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, UUID.from_16_bits(0x180D).to_bytes()),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, b"other"),
                ]
            )
        ),
        advertising_interval_min=20,
        advertising_interval_max=20,
    )
    try:
        for sensor in fleet.sensors.values():
            assert len(sensor.advertising_data()) <= 31
        found = await BleakScanner.discover(
            timeout=0.3, return_adv=True, service_uuids=[protocol.SERVICE_UUID], backend=BumbleScanner
        )
        names = {adv.local_name for _, adv in found.values()}
        assert names == {"thigh", "shank", "T1"}
        by_name = {adv.local_name: (dev, adv) for dev, adv in found.values()}
        assert by_name["thigh"][0].address == fleet["thigh"].address
        # Only the short name leaves room for the battery level in 31 bytes.
        assert by_name["T1"][1].service_data[protocol.gatt.BATTERY_SERVICE_UUID] == bytes([87])
        everything = await BleakScanner.discover(timeout=0.2, backend=BumbleScanner)
        assert any(d.name == "other" for d in everything)
    finally:
        await fleet.close()


async def test_connect_two_in_parallel_mtu_services_and_io() -> None:
    fleet = await _fleet("thigh", "shank")
    clients = [BleakClient(s.address, backend=BumbleClient, timeout=5.0) for s in fleet.sensors.values()]
    try:
        await asyncio.gather(*(c.connect() for c in clients))
        for client, sensor in zip(clients, fleet.sensors.values()):
            assert client.is_connected
            assert client.mtu_size == 247
            services = {s.uuid for s in client.services}
            assert {
                protocol.SERVICE_UUID,
                protocol.gatt.DEVICE_INFORMATION_SERVICE_UUID,
                protocol.gatt.BATTERY_SERVICE_UUID,
            } <= services
            data = client.services.get_characteristic(protocol.DATA_UUID)
            assert data.properties == ["notify"]
            assert data.max_write_without_response_size == 244
            config = protocol.decode_config(await client.read_gatt_char(protocol.CONFIG_UUID))
            assert config == sensor.config
            serial = await client.read_gatt_char(protocol.gatt.SERIAL_NUMBER_UUID)
            assert serial.decode() == config.serial
            assert (await client.read_gatt_char(protocol.gatt.BATTERY_LEVEL_UUID))[0] == 87
            # descriptors: the data CCCD reads 0, then 1 after start_notify
            cccd = data.get_descriptor(CCCD_UUID)
            assert bytes(await client.read_gatt_descriptor(cccd.handle)) == b"\x00\x00"
            got: list[bytes] = []
            await client.start_notify(data, lambda _c, d: got.append(bytes(d)))
            assert bytes(await client.read_gatt_descriptor(cccd.handle)) == b"\x01\x00"
            await client.stop_notify(data)
            assert bytes(await client.read_gatt_descriptor(cccd.handle)) == b"\x00\x00"
    finally:
        for c in clients:
            await c.disconnect()
        await fleet.close()


async def test_descriptor_and_characteristic_writes_reach_the_server() -> None:
    from bumble.gatt import Characteristic, Descriptor, Service

    radio = get_radio()
    address = random_static_address("rw")
    device = radio.new_device("rw", address)
    written: list[bytes] = []
    desc = Descriptor("2901", Descriptor.READABLE | Descriptor.WRITEABLE, b"label")
    char = Characteristic(
        "6d74aaaa-0b5e-4c3a-9f10-6d6f74726b00",
        Characteristic.Properties.READ | Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
        Characteristic.READABLE | Characteristic.WRITEABLE,
        b"v0",
        descriptors=[desc],
    )
    char.on(char.EVENT_WRITE if hasattr(char, "EVENT_WRITE") else "write", lambda *a: written.append(a[-1]))
    device.add_service(Service("6d74bbbb-0b5e-4c3a-9f10-6d6f74726b00", [char]))
    await device.power_on()
    await device.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    async with BleakClient(address, backend=BumbleClient) as client:
        bchar = client.services.get_characteristic(char.uuid.to_hex_str("-").lower())
        await client.write_gatt_char(bchar, b"v1", response=True)
        assert bytes(await client.read_gatt_char(bchar)) == b"v1"
        await client.write_gatt_char(bchar, b"v2", response=False)
        await asyncio.sleep(0.01)
        assert bytes(await client.read_gatt_char(bchar)) == b"v2"
        label = bchar.get_descriptor("00002901-0000-1000-8000-00805f9b34fb")
        assert bytes(await client.read_gatt_descriptor(label.handle)) == b"label"
        await client.write_gatt_descriptor(label.handle, b"knee")
        assert bytes(await client.read_gatt_descriptor(label.handle)) == b"knee"
        assert bytes(await client.read_gatt_char(bchar, use_cached=True)) == b"v2"


async def test_connect_timeout_to_absent_peer_then_connect_works() -> None:
    fleet = await _fleet("thigh")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(BleakDeviceNotFoundError):
        await BleakClient(random_static_address("nobody"), backend=BumbleClient, timeout=0.3).connect()
    assert loop.time() - t0 < 1.0  # the backend enforced the timeout
    # The pending connection was cleared: the next connect succeeds at once.
    async with BleakClient(fleet["thigh"].address, backend=BumbleClient, timeout=2.0) as client:
        assert client.is_connected
    await fleet.close()


async def test_peripheral_initiated_disconnect_fires_callback() -> None:
    fleet = await _fleet("thigh")
    fired: asyncio.Future[BleakClient] = asyncio.get_running_loop().create_future()
    client = BleakClient(fleet["thigh"].address, lambda c: fired.set_result(c), backend=BumbleClient)
    await client.connect()
    await fleet["thigh"].disconnect()
    assert await asyncio.wait_for(fired, 2.0) is client
    assert not client.is_connected
    await fleet.close()


async def test_vanished_peripheral_disconnects_central_and_can_return() -> None:
    fleet = await _fleet("thigh")
    sensor = fleet["thigh"]
    fired = asyncio.Event()
    client = BleakClient(sensor.address, lambda c: fired.set(), backend=BumbleClient, timeout=0.3)
    await client.connect()
    await sensor.vanish()
    await asyncio.wait_for(fired.wait(), 2.0)
    with pytest.raises(BleakDeviceNotFoundError):  # out of range: nothing answers
        await client.connect()
    await sensor.reappear()
    await client.connect()
    assert client.is_connected
    await client.disconnect()
    await fleet.close()


async def test_requested_disconnect_does_not_fire_callback() -> None:
    fleet = await _fleet("thigh")
    fired = asyncio.Event()
    client = BleakClient(fleet["thigh"].address, lambda c: fired.set(), backend=BumbleClient)
    await client.connect()
    await client.disconnect()
    await asyncio.sleep(0.05)
    assert not fired.is_set() and not client.is_connected
    await fleet.close()


async def test_pair_and_unpair() -> None:
    fleet = await _fleet("thigh")
    client = BleakClient(fleet["thigh"].address, backend=BumbleClient)
    await client.connect()
    await asyncio.wait_for(client.pair(), 5.0)
    await client.unpair()
    assert not client.is_connected
    await fleet.close()


class _Control:
    """Commands over the control characteristic, responses from its notifications."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.responses: asyncio.Queue[bytes] = asyncio.Queue()

    async def open(self) -> None:
        await self.client.start_notify(protocol.CONTROL_UUID, lambda _c, d: self.responses.put_nowait(bytes(d)))

    async def raw_bytes(self, payload: bytes) -> bytes:
        await self.client.write_gatt_char(protocol.CONTROL_UUID, payload, response=True)
        return await asyncio.wait_for(self.responses.get(), 2.0)

    async def raw(self, payload: bytes) -> protocol.Response:
        return protocol.decode_response(await self.raw_bytes(payload))

    async def __call__(self, command: protocol.Command) -> protocol.Response:
        return await self.raw(bytes(command))


async def test_firmware_answers_every_command_as_specified() -> None:
    fleet = await _fleet("thigh", speed=10.0)
    sensor = fleet["thigh"]
    async with BleakClient(sensor.address, backend=BumbleClient) as client:
        control = _Control(client)
        await control.open()
        # SET_SAMPLE_RATE picks the closest supported rate (ties: higher)
        r = await control(cmd.set_sample_rate(150.0, token=3))
        assert (r.opcode, r.token, r.result, r["sample_rate_mhz"]) == (Opcode.SET_SAMPLE_RATE, 3, ResultCode.OK, 200_000)
        assert (await control(cmd.set_sample_rate(0.0))).result == ResultCode.INVALID_PARAMETER
        assert protocol.decode_config(await client.read_gatt_char(protocol.CONFIG_UUID)).sample_rate_hz == 200.0
        # SET_RANGES: smallest supported >= request, 0 = unchanged; scale factors follow
        r = await control(cmd.set_ranges(acc_range_g=3, gyr_range_dps=0))
        assert (r["acc_range_g"], r["gyr_range_dps"]) == (4, 2000)
        config = protocol.decode_config(await client.read_gatt_char(protocol.CONFIG_UUID))
        assert config.acc_scale == pytest.approx(4 * 9.80665 / 32768, rel=1e-6)
        assert (await control(cmd.set_ranges(acc_range_g=64))).result == ResultCode.INVALID_PARAMETER
        # GET_CONFIG mirrors CONFIG
        r = await control(cmd.get_config())
        assert (r["sample_rate_mhz"], r["acc_range_g"]) == (200_000, 4)
        # IDENTIFY
        assert (await control(cmd.identify(2))).ok and sensor.identify_count == 1
        # TIME_SYNC with apply (idle only) steps the device clock; DATA then says CLOCK_SYNCED
        r = await control(cmd.time_sync(123_456_789, apply=True))
        assert r.ok and r["host_time_us"] == 123_456_789
        # START twice: INVALID_STATE; settings refused while streaming
        packets: list[bytes] = []
        await client.start_notify(protocol.DATA_UUID, lambda _c, d: packets.append(bytes(d)))
        r = await control(cmd.start())
        assert r.ok and r["payload_size"] == 244
        assert (await control(cmd.start())).result == ResultCode.INVALID_STATE
        assert (await control(cmd.set_sample_rate(100.0))).result == ResultCode.INVALID_STATE
        assert (await control(cmd.time_sync(0, apply=True))).result == ResultCode.INVALID_STATE
        assert (await control(cmd.start(mag=True))).result in (ResultCode.INVALID_STATE, ResultCode.UNSUPPORTED)
        await asyncio.sleep(0.05)
        assert (await control(cmd.stop())).ok
        assert (await control(cmd.stop())).ok  # STOP when idle is OK
        first = protocol.decode_data_packet(packets[0])
        assert first.sequence == 0 and first.flags & protocol.DataFlags.CLOCK_SYNCED
        # ~123.46 s on the host epoch (a few ms of simulated time after the sync)
        assert 123_456_789 <= first.timestamp_us < 123_456_789 + 200_000
        # GET_STATUS carries the status packet; START with MAG is UNSUPPORTED without one
        status = (await control(cmd.get_status())).status()
        assert status.battery_percent == 87 and status.state == protocol.StreamState.IDLE
        assert (await control(cmd.start(mag=True))).result == ResultCode.UNSUPPORTED
        # Malformed commands still get exactly one answer
        # unknown opcode: echoed with UNKNOWN_OPCODE (hosts cannot decode the opcode itself)
        assert await control.raw_bytes(bytes([0x13, 0x7F, 9])) == bytes([0x16, 0x7F, 9, ResultCode.UNKNOWN_OPCODE])
        assert (await control.raw(bytes([0x13, 0x03, 4, 0x01]))).result == ResultCode.INVALID_LENGTH
        # fewer than 3 bytes: INVALID_LENGTH with opcode and token 0 (SPEC §7.2)
        assert await control.raw_bytes(bytes([0x13])) == bytes([0x16, 0, 0, ResultCode.INVALID_LENGTH])
    await fleet.close()


async def test_nine_axis_and_separate_mag_packets() -> None:
    fleet = await _fleet("thigh", speed=20.0, with_mag=True)
    async with BleakClient(fleet["thigh"].address, backend=BumbleClient) as client:
        control = _Control(client)
        await control.open()
        packets: list[bytes] = []
        await client.start_notify(protocol.DATA_UUID, lambda _c, d: packets.append(bytes(d)))
        assert (await control(cmd.start(mag=True))).ok
        await asyncio.sleep(0.1)
        await control(cmd.stop())
        decoded = [protocol.decode_data_packet(p) for p in packets]
        assert decoded and all(p.counts.shape[1] == 9 for p in decoded)  # 9-axis DATA at MTU 247
        packets.clear()
        assert (await control(cmd.start(mag=True, mag_separate=True))).ok
        await asyncio.sleep(0.2)
        await control(cmd.stop())
        kinds = [protocol.decode_data_packet(p).packet_type for p in packets]
        assert protocol.PacketType.MAG in kinds and protocol.PacketType.DATA in kinds
        seqs = [protocol.decode_data_packet(p).sequence for p in packets]
        assert seqs == list(range(len(seqs)))  # one counter for DATA and MAG (SPEC §4)
    await fleet.close()


async def test_status_notifications_battery_and_saturation_faults() -> None:
    fleet = await _fleet("thigh", speed=20.0)
    sensor = fleet["thigh"]
    async with BleakClient(sensor.address, backend=BumbleClient) as client:
        statuses: list[protocol.Status] = []
        levels: list[int] = []
        await client.start_notify(protocol.STATUS_UUID, lambda _c, d: statuses.append(protocol.decode_status(d)))
        await client.start_notify(protocol.gatt.BATTERY_LEVEL_UUID, lambda _c, d: levels.append(d[0]))
        sensor.set_battery(7)
        await asyncio.sleep(0.02)
        assert statuses[-1].battery_percent == 7 and statuses[-1].error_flags & protocol.ErrorFlags.LOW_BATTERY
        assert levels[-1] == 7
        packets: list[bytes] = []
        control = _Control(client)
        await control.open()
        await client.start_notify(protocol.DATA_UUID, lambda _c, d: packets.append(bytes(d)))
        await control(cmd.start())
        sensor.saturate(0.5)
        await fleet.clock.sleep(1.0)
        await control(cmd.stop())
        flags = [protocol.decode_data_packet(p).flags for p in packets]
        saturated = [bool(f & protocol.DataFlags.ACC_SATURATED) for f in flags]
        assert any(saturated) and not all(saturated)
        # a saturated count sits at full scale
        block = protocol.decode_data_packet(packets[saturated.index(True)]).to_si(sensor.config)
        assert np.max(np.abs(block.acc)) >= 16 * 9.80665 * 32767 / 32768 - 1e-9
    await fleet.close()


async def test_simulation_clock_runs_fast_and_caps_stalls() -> None:
    import time

    clock = SimulationClock(40.0)
    t0 = clock.now()
    await clock.sleep(2.0)  # 2 s of simulated time, ~50 ms of wall time
    assert clock.now() - t0 >= 2.0
    before = clock.now()
    time.sleep(0.05)  # a stalled process: 2 s of simulated time would pass at once...
    assert clock.now() - before == pytest.approx(0.25)  # ...but the step is capped
    assert clock.dilated_s > 1.5
    real_time = SimulationClock(1.0)
    assert real_time.max_step_s is None


async def test_clock_drift_fault_keeps_device_time_continuous() -> None:
    fleet = await _fleet("thigh", speed=20.0)
    sensor = fleet["thigh"]
    clock = fleet.clock
    t = clock.now()
    before = sensor.device_clock.device_us(t)
    sensor.set_clock_drift(250.0)
    assert sensor.device_clock.device_us(t) == pytest.approx(before, abs=1.0)
    # 250 ppm: 10 s of true time read 10.0025 s on the device
    d0, d1 = sensor.device_clock.device_us(t), sensor.device_clock.device_us(t + 10.0)
    assert (d1 - d0) * 1e-6 == pytest.approx(10.0025, abs=1e-9)
    await fleet.close()


async def test_knee_sensors_with_magnetometers_stream_it_when_the_source_asks() -> None:
    """Issue 14: the knee's virtual sensors with a magnetometer stream it through bleak, the
    real packets and the transport's decode path only when the source asks for it (START
    with MAG, as a session with ``magnetometer=True`` does); a sensor without one then still
    streams 6-axis samples (the session warns and stays 6D), not an error."""
    from motiontrack.transport import SampleBatch
    from motiontrack.transport.sources import open_source
    from motiontrack.virtual.fleet import start_sensors

    fleet = await start_sensors(["thigh", "shank"], speed=20.0, exercise="standing_knee_bend",
                                seed=0, with_mag=True)
    await fleet.add(VirtualSensorSettings(name="spare", seed=5), StillMotion(seed=5))  # no mag
    knee = fleet.knee("standing_knee_bend", seed=0)
    try:
        for asked in (True, False):
            source = open_source({n: f"sim:{n}" for n in ("thigh", "shank", "spare")}, mag=asked)
            await source.open()
            mags: dict[str, list[np.ndarray | None]] = {"thigh": [], "shank": [], "spare": []}

            async def collect() -> None:
                async for e in source.events():
                    if isinstance(e, SampleBatch):
                        mags[e.sensor].append(e.mag)
                        if min(len(v) for v in mags.values()) >= 10:
                            return

            await asyncio.wait_for(collect(), 20.0)
            await source.close()
            assert all(m is None for m in mags["spare"])  # no magnetometer fitted: 6-axis
            for name in ("thigh", "shank"):
                if not asked:  # 6D: the magnetometer stays off (the colleague's "no samples")
                    assert all(m is None for m in mags[name])
                    continue
                got = np.concatenate(mags[name])
                # the simulator's field (Earth's, µT), 16-bit counts at the sensor's range
                true = np.linalg.norm(knee.segment(name).mag, axis=1)
                norm = np.linalg.norm(got, axis=1)
                assert got.shape[1] == 3 and np.all(np.isfinite(got))
                assert 25.0 < np.median(norm) < 65.0
                assert abs(np.median(norm) - np.median(true)) < 2.0
    finally:
        await fleet.close()
