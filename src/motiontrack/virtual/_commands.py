"""Command handling of the virtual sensor firmware (SPEC §7), one function per opcode.

Every command gets exactly one response. Commands that cannot be parsed get an
error response built from whatever header bytes arrived (unknown opcode,
too-short parameters), so a host always learns why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import protocol
from ..errors import ConfigurationError, ProtocolError
from ..protocol import commands as cmd
from ..protocol.commands import Opcode, Response, ResultCode

if TYPE_CHECKING:
    from .sensor import VirtualSensor

#: Output data rates the virtual IMU supports, Hz.
SAMPLE_RATES_HZ = (12.5, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0)
ACC_RANGES_G = (2, 4, 8, 16)
GYR_RANGES_DPS = (125, 250, 500, 1000, 2000)
MAG_RANGES_UT = (4900,)


def _error(opcode: int, token: int, result: ResultCode) -> bytes:
    return cmd.RESPONSE_HEADER_LAYOUT.pack(
        header=protocol.gatt.header_byte(protocol.PacketType.RESPONSE),
        opcode=opcode & 0xFF,
        token=token & 0xFF,
        result=int(result),
    )


def handle(sensor: VirtualSensor, payload: bytes) -> bytes:
    """Execute ``payload`` on ``sensor``; return the response notification bytes."""
    try:
        command = protocol.decode_command(payload)
    except ProtocolError as exc:
        # "opcode and token 0 if absent" (SPEC §7.2)
        opcode = payload[1] if len(payload) > 1 else 0
        token = payload[2] if len(payload) > 2 else 0
        result = cmd.ERROR_RESULT.get(exc.code, ResultCode.INVALID_PARAMETER)
        return _error(opcode, token, result)
    handler = _HANDLERS.get(command.opcode)
    if handler is None:
        return _error(int(command.opcode), command.token, ResultCode.UNKNOWN_OPCODE)
    try:
        response = handler(sensor, command)
    except ConfigurationError:
        response = Response(
            opcode=command.opcode, token=command.token, result=ResultCode.INVALID_PARAMETER
        )
    return bytes(response)


def _ok(command: protocol.Command, **values: int) -> Response:
    return Response(opcode=command.opcode, token=command.token, values=tuple(values.items()))


def _fail(command: protocol.Command, result: ResultCode) -> Response:
    return Response(opcode=command.opcode, token=command.token, result=result)


def _start(sensor: VirtualSensor, command: protocol.Command) -> Response:
    options = cmd.StartOptions(command["options"] & 0x03)  # other bits reserved
    if options & cmd.StartOptions.MAG and not sensor.settings.with_mag:
        return _fail(command, ResultCode.UNSUPPORTED)
    if not sensor.start_stream(
        mag=bool(options & cmd.StartOptions.MAG),
        mag_separate=bool(options & cmd.StartOptions.MAG_SEPARATE),
    ):
        return _fail(command, ResultCode.INVALID_STATE)  # already streaming (SPEC §7.2)
    return _ok(command, payload_size=sensor._payload_size)


def _stop(sensor: VirtualSensor, command: protocol.Command) -> Response:
    sensor._stop_stream()  # STOP when idle is OK
    return _ok(command)


def _closest(options: tuple[float, ...], wanted: float) -> float:
    # closest supported value; ties go to the higher one (SPEC §7.2)
    return min(options, key=lambda v: (abs(v - wanted), -v))


def _set_sample_rate(sensor: VirtualSensor, command: protocol.Command) -> Response:
    if sensor.is_streaming:
        return _fail(command, ResultCode.INVALID_STATE)
    rate = command["sample_rate_mhz"] / 1000.0
    if rate <= 0 or rate > 2 * max(SAMPLE_RATES_HZ):
        return _fail(command, ResultCode.INVALID_PARAMETER)
    sensor.config = _replace_config(sensor.config, sample_rate_hz=_closest(SAMPLE_RATES_HZ, rate))
    return _ok(command, sample_rate_mhz=round(sensor.config.sample_rate_hz * 1000))


def _at_least(options: tuple[int, ...], wanted: int) -> int | None:
    # smallest supported range >= the request (SPEC §7.2)
    return next((v for v in options if v >= wanted), None)


def _set_ranges(sensor: VirtualSensor, command: protocol.Command) -> Response:
    if sensor.is_streaming:
        return _fail(command, ResultCode.INVALID_STATE)
    c = sensor.config
    acc, gyr, mag = c.acc_range_g, c.gyr_range_dps, c.mag_range_ut
    if command["acc_range_g"]:
        acc = _at_least(ACC_RANGES_G, command["acc_range_g"])
    if command["gyr_range_dps"]:
        gyr = _at_least(GYR_RANGES_DPS, command["gyr_range_dps"])
    if command["mag_range_ut"]:
        mag = _at_least(MAG_RANGES_UT, command["mag_range_ut"])
    if acc is None or gyr is None or mag is None:
        return _fail(command, ResultCode.INVALID_PARAMETER)
    sensor.config = _replace_config(c, acc_range_g=acc, gyr_range_dps=gyr, mag_range_ut=mag)
    c = sensor.config
    return _ok(
        command,
        acc_range_g=c.acc_range_g,
        gyr_range_dps=c.gyr_range_dps,
        mag_range_ut=c.mag_range_ut,
    )


def _time_sync(sensor: VirtualSensor, command: protocol.Command) -> Response:
    device_before = int(round(sensor.device_clock.device_us(sensor.clock.now()))) & 0xFFFFFFFF
    host_us = command["host_time_us"]
    if command["apply"]:
        if sensor.is_streaming:
            return _fail(command, ResultCode.INVALID_STATE)
        # Step the device clock so that "now" reads host_us (mod 2**32).
        delta = ((host_us - device_before + 2**31) % 2**32) - 2**31
        sensor.device_clock.offset_us += delta
        sensor._clock_synced = True
    return _ok(command, host_time_us=host_us, device_time_us=device_before)


def _identify(sensor: VirtualSensor, command: protocol.Command) -> Response:
    sensor.identify_count += 1
    return _ok(command)


def _get_config(sensor: VirtualSensor, command: protocol.Command) -> Response:
    c = sensor.config
    return _ok(
        command,
        sample_rate_mhz=round(c.sample_rate_hz * 1000),
        mag_rate_mhz=round(c.mag_rate_hz * 1000),
        acc_range_g=c.acc_range_g,
        gyr_range_dps=c.gyr_range_dps,
        mag_range_ut=c.mag_range_ut,
    )


def _get_status(sensor: VirtualSensor, command: protocol.Command) -> Response:
    status = sensor._status()
    sensor.error_flags = protocol.ErrorFlags(0)  # sticky flags clear when read (SPEC §8)
    return cmd.status_response(status, token=command.token)


def _replace_config(config: protocol.SensorConfig, **changes: float | int) -> protocol.SensorConfig:
    # Scale factors follow the ranges (None = range / 32768 in SI).
    fields = dict(
        sample_rate_hz=config.sample_rate_hz,
        acc_range_g=config.acc_range_g,
        gyr_range_dps=config.gyr_range_dps,
        mag_range_ut=config.mag_range_ut,
        mag_rate_hz=config.mag_rate_hz,
        serial=config.serial,
        capabilities=config.capabilities,
        protocol_minor=config.protocol_minor,
    )
    fields.update(changes)
    return protocol.SensorConfig(**fields)  # type: ignore[arg-type]


_HANDLERS: dict[Opcode, Callable[[VirtualSensor, protocol.Command], Response]] = {
    Opcode.START: _start,
    Opcode.STOP: _stop,
    Opcode.SET_SAMPLE_RATE: _set_sample_rate,
    Opcode.SET_RANGES: _set_ranges,
    Opcode.TIME_SYNC: _time_sync,
    Opcode.IDENTIFY: _identify,
    Opcode.GET_CONFIG: _get_config,
    Opcode.GET_STATUS: _get_status,
}
