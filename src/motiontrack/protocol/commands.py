"""Commands written to the control characteristic and their responses (SPEC §7).

A command is ``header(0x13) opcode token params...``; the device answers every command
with one notification on the same characteristic: ``header(0x16) opcode token result
payload...``. ``token`` is chosen by the host and echoed, so responses can be matched to
requests. Parameter and reply layouts are declared as data (:data:`COMMAND_PARAMS`,
:data:`REPLY_PAYLOADS`) and checked against the spec tables by a test.

Every command and every reply fits the default 20-byte payload.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError, ProtocolError
from .config import STATUS_LAYOUT, Status, check_header
from .gatt import PacketType, header_byte
from .layout import Layout


class Opcode(enum.IntEnum):
    START = 0x01
    STOP = 0x02
    SET_SAMPLE_RATE = 0x03
    SET_RANGES = 0x04
    TIME_SYNC = 0x05
    IDENTIFY = 0x06
    GET_CONFIG = 0x07
    GET_STATUS = 0x08


class ResultCode(enum.IntEnum):
    """Byte 3 of a response (SPEC §7.3)."""

    OK = 0x00
    UNKNOWN_OPCODE = 0x01  # the device does not implement this opcode
    INVALID_LENGTH = 0x02  # parameters shorter than the opcode requires
    INVALID_PARAMETER = 0x03  # a value is outside what the device supports
    INVALID_STATE = 0x04  # not allowed now (e.g. SET_SAMPLE_RATE while streaming)
    UNSUPPORTED = 0x05  # valid command, but this hardware cannot (e.g. no magnetometer)
    HARDWARE_FAULT = 0x06  # a sensor did not respond
    BUSY = 0x07  # a previous command is still being executed; retry


class StartOptions(enum.IntFlag):
    MAG = 0x01  # stream the magnetometer
    MAG_SEPARATE = 0x02  # use MAG packets even when 9-axis DATA samples would fit


COMMAND_HEADER_LAYOUT = Layout(
    "COMMAND_HEADER",
    [("header", "u8", "-", "-"), ("opcode", "u8", "-", "-"), ("token", "u8", "-", "-")],
)
RESPONSE_HEADER_LAYOUT = Layout(
    "RESPONSE_HEADER",
    [
        ("header", "u8", "-", "-"),
        ("opcode", "u8", "-", "-"),
        ("token", "u8", "-", "-"),
        ("result", "u8", "-", "-"),
    ],
)

#: Parameter layout of each opcode (after the 3-byte command header).
COMMAND_PARAMS: dict[Opcode, Layout] = {
    Opcode.START: Layout("START_PARAMS", [("options", "u8", "-", "-")]),
    Opcode.STOP: Layout("STOP_PARAMS", []),
    Opcode.SET_SAMPLE_RATE: Layout(
        "SET_SAMPLE_RATE_PARAMS", [("sample_rate_mhz", "u32", "1/1000", "Hz")]
    ),
    Opcode.SET_RANGES: Layout(
        "SET_RANGES_PARAMS",
        [
            ("acc_range_g", "u16", "1", "g"),
            ("gyr_range_dps", "u16", "1", "deg/s"),
            ("mag_range_ut", "u16", "1", "uT"),
        ],
    ),
    Opcode.TIME_SYNC: Layout(
        "TIME_SYNC_PARAMS", [("host_time_us", "u32", "1", "us"), ("apply", "u8", "-", "-")]
    ),
    Opcode.IDENTIFY: Layout("IDENTIFY_PARAMS", [("duration_s", "u8", "1", "s")]),
    Opcode.GET_CONFIG: Layout("GET_CONFIG_PARAMS", []),
    Opcode.GET_STATUS: Layout("GET_STATUS_PARAMS", []),
}

#: Payload layout of an OK response to each opcode (after the 4-byte response header).
REPLY_PAYLOADS: dict[Opcode, Layout] = {
    Opcode.START: Layout("START_REPLY", [("payload_size", "u16", "1", "bytes")]),
    Opcode.STOP: Layout("STOP_REPLY", []),
    Opcode.SET_SAMPLE_RATE: Layout(
        "SET_SAMPLE_RATE_REPLY", [("sample_rate_mhz", "u32", "1/1000", "Hz")]
    ),
    Opcode.SET_RANGES: Layout(
        "SET_RANGES_REPLY",
        [
            ("acc_range_g", "u16", "1", "g"),
            ("gyr_range_dps", "u16", "1", "deg/s"),
            ("mag_range_ut", "u16", "1", "uT"),
        ],
    ),
    Opcode.TIME_SYNC: Layout(
        "TIME_SYNC_REPLY",
        [("host_time_us", "u32", "1", "us"), ("device_time_us", "u32", "1", "us")],
    ),
    Opcode.IDENTIFY: Layout("IDENTIFY_REPLY", []),
    Opcode.GET_CONFIG: Layout(
        "GET_CONFIG_REPLY",
        [
            ("sample_rate_mhz", "u32", "1/1000", "Hz"),
            ("mag_rate_mhz", "u32", "1/1000", "Hz"),
            ("acc_range_g", "u16", "1", "g"),
            ("gyr_range_dps", "u16", "1", "deg/s"),
            ("mag_range_ut", "u16", "1", "uT"),
        ],
    ),
    # The status packet without its header byte.
    Opcode.GET_STATUS: Layout(
        "GET_STATUS_REPLY", [(f.name, f.type, f.scale, f.unit) for f in STATUS_LAYOUT.fields[1:]]
    ),
}


def _u(value: Any, bits: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ConfigurationError(
            f"{name} must be an integer in 0..{(1 << bits) - 1}, got {value!r}"
        )
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    """A decoded or to-be-encoded command (SPEC §7.2).

    Attributes
    ----------
    opcode : Opcode
    token : int      0..255, echoed in the response
    params : dict    wire values named as in :data:`COMMAND_PARAMS` (e.g.
                     ``{"sample_rate_mhz": 200000}``); missing names default to 0
    """

    opcode: Opcode
    token: int = 0
    params: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "opcode", Opcode(self.opcode))
        except ValueError:
            raise ConfigurationError(f"unknown opcode {self.opcode!r}") from None
        _u(self.token, 8, "token")
        layout = COMMAND_PARAMS[self.opcode]
        given = dict(self.params.items() if isinstance(self.params, dict) else self.params)
        unknown = set(given) - set(layout.names)
        if unknown:
            raise ConfigurationError(f"{self.opcode.name}: unknown parameters {sorted(unknown)}")
        for f in layout.fields:
            _u(given.setdefault(f.name, 0), 8 * f.size, f.name)
        object.__setattr__(self, "params", tuple((n, given[n]) for n in layout.names))

    def __getitem__(self, name: str) -> int:
        return dict(self.params)[name]

    def __bytes__(self) -> bytes:
        head = COMMAND_HEADER_LAYOUT.pack(
            header=header_byte(PacketType.COMMAND), opcode=int(self.opcode), token=self.token
        )
        return head + COMMAND_PARAMS[self.opcode].pack(**dict(self.params))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Command:
        """Parse a command. Errors: ``truncated``, ``version``, ``packet_type``, ``opcode``,
        ``length`` (parameters too short). Longer parameters are accepted (SPEC §9)."""
        data = bytes(data)
        check_header(data, (PacketType.COMMAND,), "command")
        h = COMMAND_HEADER_LAYOUT.unpack(data, what="command")
        try:
            op = Opcode(h["opcode"])
        except ValueError:
            raise ProtocolError(
                f"command: unknown opcode 0x{h['opcode']:02x}", code="opcode"
            ) from None
        layout = COMMAND_PARAMS[op]
        body = data[COMMAND_HEADER_LAYOUT.size :]
        if len(body) < layout.size:
            raise ProtocolError(
                f"command {op.name}: {len(body)} parameter bytes, need {layout.size}", code="length"
            )
        return cls(opcode=op, token=h["token"], params=tuple(layout.unpack(body).items()))


# Convenience constructors in user units ----------------------------------------------


def start(*, token: int = 0, mag: bool = False, mag_separate: bool = False) -> Command:
    opts = (StartOptions.MAG if mag else 0) | (StartOptions.MAG_SEPARATE if mag_separate else 0)
    return Command(opcode=Opcode.START, token=token, params=(("options", int(opts)),))


def stop(*, token: int = 0) -> Command:
    return Command(opcode=Opcode.STOP, token=token)


def set_sample_rate(sample_rate_hz: float, *, token: int = 0) -> Command:
    return Command(
        opcode=Opcode.SET_SAMPLE_RATE,
        token=token,
        params=(("sample_rate_mhz", round(sample_rate_hz * 1000)),),
    )


def set_ranges(
    *, acc_range_g: int = 0, gyr_range_dps: int = 0, mag_range_ut: int = 0, token: int = 0
) -> Command:
    """0 leaves a range unchanged."""
    return Command(
        opcode=Opcode.SET_RANGES,
        token=token,
        params=(
            ("acc_range_g", acc_range_g),
            ("gyr_range_dps", gyr_range_dps),
            ("mag_range_ut", mag_range_ut),
        ),
    )


def time_sync(host_time_us: int, *, apply: bool = False, token: int = 0) -> Command:
    return Command(
        opcode=Opcode.TIME_SYNC,
        token=token,
        params=(("host_time_us", int(host_time_us) & 0xFFFFFFFF), ("apply", int(bool(apply)))),
    )


def identify(duration_s: int = 5, *, token: int = 0) -> Command:
    return Command(opcode=Opcode.IDENTIFY, token=token, params=(("duration_s", duration_s),))


def get_config(*, token: int = 0) -> Command:
    return Command(opcode=Opcode.GET_CONFIG, token=token)


def get_status(*, token: int = 0) -> Command:
    return Command(opcode=Opcode.GET_STATUS, token=token)


@dataclass(frozen=True, kw_only=True, slots=True)
class Response:
    """A response notification (SPEC §7.3).

    Attributes
    ----------
    opcode : Opcode
    token : int
    result : ResultCode or int        an unknown (newer) non-zero code is kept as an int
    values : tuple of (name, value)   reply payload named as in :data:`REPLY_PAYLOADS`;
                                      empty unless ``result`` is OK
    """

    opcode: Opcode
    token: int = 0
    result: ResultCode | int = ResultCode.OK
    values: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "opcode", Opcode(self.opcode))
        except ValueError as e:
            raise ConfigurationError(str(e)) from None
        _u(self.result, 8, "result")
        if self.result in ResultCode._value2member_map_:
            object.__setattr__(self, "result", ResultCode(self.result))
        _u(self.token, 8, "token")
        given = dict(self.values.items() if isinstance(self.values, dict) else self.values)
        if self.result != ResultCode.OK:
            if given:
                raise ConfigurationError("an error response carries no payload")
            object.__setattr__(self, "values", ())
            return
        layout = REPLY_PAYLOADS[self.opcode]
        unknown = set(given) - set(layout.names)
        if unknown:
            raise ConfigurationError(f"{self.opcode.name} reply: unknown values {sorted(unknown)}")
        for f in layout.fields:
            if f.name.startswith("reserved"):
                given[f.name] = 0  # sent as 0, ignored on receipt (SPEC §1)
            v = given.setdefault(f.name, 0)
            if f.type.startswith("i"):
                lim = 1 << (8 * f.size - 1)
                if isinstance(v, bool) or not isinstance(v, int) or not -lim <= v < lim:
                    raise ConfigurationError(f"{f.name} out of range: {v!r}")
            else:
                _u(v, 8 * f.size, f.name)
        object.__setattr__(self, "values", tuple((n, given[n]) for n in layout.names))

    @property
    def ok(self) -> bool:
        return self.result == ResultCode.OK

    def __getitem__(self, name: str) -> int:
        return dict(self.values)[name]

    def status(self) -> Status:
        """The :class:`Status` carried by an OK GET_STATUS response."""
        if self.opcode != Opcode.GET_STATUS or not self.ok:
            raise ProtocolError("not an OK GET_STATUS response", code="value")
        return Status._from_fields(dict(self.values))

    def __bytes__(self) -> bytes:
        head = RESPONSE_HEADER_LAYOUT.pack(
            header=header_byte(PacketType.RESPONSE),
            opcode=int(self.opcode),
            token=self.token,
            result=int(self.result),
        )
        if not self.ok:
            return head
        return head + REPLY_PAYLOADS[self.opcode].pack(**dict(self.values))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Response:
        """Parse a response. Errors: ``truncated``, ``version``, ``packet_type``, ``opcode``,
        ``length`` (OK payload too short). Trailing payload bytes are ignored (SPEC §9)."""
        data = bytes(data)
        check_header(data, (PacketType.RESPONSE,), "response")
        h = RESPONSE_HEADER_LAYOUT.unpack(data, what="response")
        try:
            op = Opcode(h["opcode"])
        except ValueError:
            raise ProtocolError(
                f"response: unknown opcode 0x{h['opcode']:02x}", code="opcode"
            ) from None
        # Result codes added by later minor versions stay plain ints: a failure (SPEC §9).
        result = h["result"]
        if result != ResultCode.OK:
            return cls(opcode=op, token=h["token"], result=result)
        layout = REPLY_PAYLOADS[op]
        body = data[RESPONSE_HEADER_LAYOUT.size :]
        if len(body) < layout.size:
            raise ProtocolError(
                f"response {op.name}: {len(body)} payload bytes, need {layout.size}", code="length"
            )
        return cls(
            opcode=op, token=h["token"], result=result, values=tuple(layout.unpack(body).items())
        )


def status_response(status: Status, *, token: int = 0) -> Response:
    """The OK response to GET_STATUS carrying ``status``."""
    raw = bytes(status)
    values = REPLY_PAYLOADS[Opcode.GET_STATUS].unpack(raw[1:])
    return Response(opcode=Opcode.GET_STATUS, token=token, values=tuple(values.items()))


#: ProtocolError code of a command the device cannot parse -> result code it answers with.
ERROR_RESULT: dict[str, ResultCode] = {
    "opcode": ResultCode.UNKNOWN_OPCODE,
    "length": ResultCode.INVALID_LENGTH,
    "truncated": ResultCode.INVALID_LENGTH,
}


def encode_command(command: Command) -> bytes:
    return bytes(command)


def decode_command(data: bytes | bytearray | memoryview) -> Command:
    return Command.from_bytes(data)


def encode_response(response: Response) -> bytes:
    return bytes(response)


def decode_response(data: bytes | bytearray | memoryview) -> Response:
    return Response.from_bytes(data)


__all__ = [
    "COMMAND_HEADER_LAYOUT",
    "COMMAND_PARAMS",
    "ERROR_RESULT",
    "REPLY_PAYLOADS",
    "RESPONSE_HEADER_LAYOUT",
    "Command",
    "Opcode",
    "Response",
    "ResultCode",
    "StartOptions",
    "decode_command",
    "decode_response",
    "encode_command",
    "encode_response",
    "get_config",
    "get_status",
    "identify",
    "set_ranges",
    "set_sample_rate",
    "start",
    "status_response",
    "stop",
    "time_sync",
]
