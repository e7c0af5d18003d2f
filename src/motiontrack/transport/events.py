"""What a transport delivers: sample batches, gaps and link events (frozen dataclasses)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigurationError

__all__ = [
    "BleOptions",
    "BufferOverflow",
    "Gap",
    "GapCause",
    "LinkEvent",
    "LinkState",
    "MagBatch",
    "SampleBatch",
    "ScanResult",
    "StatusUpdate",
    "TransportEvent",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class BleOptions:
    """Transport settings (portable across bleak's platform backends and the virtual one)."""

    connect_timeout: float = 10.0  # s; one connection attempt incl. MTU exchange and discovery
    scan_timeout: float = 5.0  # s; finding a sensor by name (``sim:NAME``) or scanning
    command_timeout: float = 2.0  # s; waiting for a control-characteristic response
    buffer_packets: int = 4096  # bounded sample buffer, packets for all sensors together
    reconnect: bool = True  # reconnect after an unsolicited disconnection
    reconnect_initial_delay: float = 0.05  # s; first back-off delay, doubled per failed attempt
    reconnect_max_delay: float = 5.0  # s; back-off ceiling
    reconnect_max_attempts: int = 0  # attempts per outage before giving up; 0 = forever

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "scan_timeout", "command_timeout", "reconnect_max_delay"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"BleOptions: {name} must be > 0")
        if self.reconnect_initial_delay < 0:
            raise ConfigurationError("BleOptions: reconnect_initial_delay must be >= 0")
        if self.buffer_packets < 1:
            raise ConfigurationError("BleOptions: buffer_packets must be >= 1")
        if self.reconnect_max_attempts < 0:
            raise ConfigurationError("BleOptions: reconnect_max_attempts must be >= 0")


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanResult:
    """A sensor heard while scanning."""

    source: str  # source string that opens it, e.g. "ble:AA:BB:CC:DD:EE:FF" or "sim:thigh"
    address: str  # Bluetooth address (a UUID on macOS)
    name: str | None  # advertised local name
    rssi: int  # dBm
    battery_percent: int | None  # from Battery Service data in the advertisement, if present


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class SampleBatch:
    """Samples of one DATA notification, in SI units, on the sensor's continuous time base.

    Attributes
    ----------
    sensor : str                  sensor name (as given to the transport)
    sequence : int                packet sequence number (u16 as sent)
    t : ndarray (n,)              device time of each sample, s, continuous (unwrapped,
                                  zero at the first sample received from this sensor,
                                  continued across reconnections)
    acc : ndarray (n, 3)          specific force, m/s², sensor frame
    gyr : ndarray (n, 3)          angular rate, rad/s, sensor frame
    mag : ndarray (n, 3) or None  magnetic field, µT
    flags : int                   DATA flags (saturation, clock synced; SPEC §4)
    received_at : float           host arrival time, s, on the source's host clock:
                                  ``time.perf_counter()`` for live links (radio or virtual);
                                  the recording's host time (s since the recording started)
                                  for replays of recordings made live; ``float('nan')`` when
                                  the source has no host clock (CSV files, recordings
                                  without host times)

    The transport does not map device time to host time: a consumer that needs one
    time base for several sensors fits it from ``(t, received_at)`` pairs, e.g. with
    :class:`motiontrack.protocol.clock.ClockSync` (SPEC §10.3).

    .. versionchanged:: 0.1
       ``t_host`` (the transport's own clock fit) was removed.
    """

    sensor: str
    sequence: int
    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    mag: np.ndarray | None
    flags: int
    received_at: float

    @property
    def n_samples(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class MagBatch:
    """Magnetometer samples of one MAG notification (SPEC §5), µT, on the sensor's time base."""

    sensor: str
    t: np.ndarray  # (n,) s
    mag: np.ndarray  # (n, 3) µT
    received_at: float  # host arrival time, s (as SampleBatch.received_at)


class GapCause(enum.Enum):
    PACKET_LOSS = "packet_loss"  # packets missing while the link stayed up
    LINK_LOST = "link_lost"  # the link dropped; samples made meanwhile never arrived
    DEVICE = "device"  # the sensor lost samples before sending (timestamps jump, no sequence gap)


@dataclass(frozen=True, kw_only=True, slots=True)
class Gap:
    """Samples that are missing from a sensor's stream, exactly.

    ``missing_samples`` (IMU samples) comes from the device timestamps (the first
    sample after the gap versus the sample expected next), ``missing_packets`` from
    the sequence numbers (-1 when the sensor restarted its stream, so the count is
    unknown); ``start_s``/``end_s`` delimit the hole on the sensor's time base
    (``start_s`` = time of the first missing sample, ``end_s`` = time of the first
    sample after the gap).
    """

    sensor: str
    cause: GapCause
    missing_samples: int
    missing_packets: int
    start_s: float
    end_s: float


class LinkState(enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # unsolicited: link loss or peripheral-initiated
    RECONNECTED = "reconnected"
    GAVE_UP = "gave_up"  # reconnection attempts exhausted
    CLOSED = "closed"  # closed by the application


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkEvent:
    sensor: str
    state: LinkState
    at: float  # host monotonic time, s
    attempts: int = 0  # connection attempts it took (RECONNECTED, GAVE_UP)
    detail: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusUpdate:
    """A status notification (battery, temperature, error flags; SPEC §8)."""

    sensor: str
    battery_percent: int | None
    temperature_c: float | None
    error_flags: int
    device_dropped: int
    at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class BufferOverflow:
    """The consumer fell behind: this many oldest batches were discarded to make room."""

    dropped_packets: int
    dropped_samples: int


TransportEvent = SampleBatch | MagBatch | Gap | LinkEvent | StatusUpdate | BufferOverflow
