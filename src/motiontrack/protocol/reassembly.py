"""Per-sensor stream reassembly: order, loss, duplicates, wrap (SPEC §10.1, §10.2).

:class:`StreamReassembler` takes DATA/MAG notifications in *arrival* order and emits the
samples in *device* order with unwrapped device timestamps:

- sequence numbers (u16) and timestamps (u32 µs) are unwrapped into unbounded counters;
- duplicates (same sequence seen before) are dropped and counted;
- packets arriving out of order are held in a window of ``window`` packets and released
  in sequence order; a packet arriving after its slot was released is *late* (dropped,
  counted);
- a missing sequence number is declared *lost* once ``window`` newer packets arrived
  (or on :meth:`flush`), and reported as a :class:`Gap` with the device time it spans;
- a device-side hole (timestamps jump although no sequence number is missing, e.g. a
  sensor FIFO overflow) is also reported as a gap with ``lost_packets == 0``;
- malformed packets are counted by error code, never raised.

Nothing is interpolated here; gaps are reported for the layers above to handle.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigurationError, InputError, ProtocolError
from .batch import decode_batch
from .clock import TickUnwrapper
from .config import SensorConfig
from .gatt import PacketType
from .packets import decode_samples

_SEQ_MOD = 1 << 16


@dataclass(frozen=True, kw_only=True, slots=True)
class ReassemblySettings:
    """Settings of :class:`StreamReassembler`.

    window : int
        Reorder window, packets (>= 1). A missing packet is declared lost when a packet
        ``window`` sequence numbers newer has arrived. 1 disables reordering.
    max_jump : int
        A forward sequence jump larger than this (packets) is treated as a stream restart
        (e.g. after STOP/START) instead of a loss; <= 32767 (SPEC §10.2).
    gap_tolerance : float
        Fraction of a sample period by which consecutive packets may deviate from
        contiguity before a device-side gap is reported (0.5 = half a period).
    """

    window: int = 8
    max_jump: int = 16384
    gap_tolerance: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.window, int) or self.window < 1:
            raise ConfigurationError("window must be an integer >= 1")
        if not isinstance(self.max_jump, int) or not self.window <= self.max_jump <= 32767:
            raise ConfigurationError("max_jump must be an integer in window..32767")
        if not 0 < self.gap_tolerance < 1:
            raise ConfigurationError("gap_tolerance must be in (0, 1)")


@dataclass(frozen=True, slots=True)
class Gap:
    """Data missing from a stream.

    stream : str              "imu" (DATA samples) or "mag" (MAG-packet samples)
    after_sequence : int      unwrapped sequence of the last packet before the gap
    lost_packets : int        sequence numbers never received (0 = device-side hole)
    start_us : float          device time where samples stop (expected next sample), µs
    end_us : float            device time of the first sample after the gap, µs
    missing_samples : int     samples of this stream missing, from the device times (0 when
                              the lost packets belonged to the other stream)
    """

    stream: str
    after_sequence: int
    lost_packets: int
    start_us: float
    end_us: float
    missing_samples: int


@dataclass(slots=True)
class ReassemblyStats:
    """Counters since construction or :meth:`StreamReassembler.reset` (cumulative)."""

    received: int = 0  # notifications pushed, valid or not
    emitted_packets: int = 0
    emitted_samples: int = 0
    lost: int = 0  # sequence numbers declared lost
    duplicates: int = 0
    late: int = 0  # arrived after their slot was released (dropped)
    reordered: int = 0  # arrived out of order but within the window (fixed)
    restarts: int = 0  # sequence jumps beyond max_jump
    timestamp_anomalies: int = 0  # a packet's device time earlier than the previous one's end
    malformed: Counter = field(default_factory=Counter)  # ProtocolError code -> count


@dataclass(frozen=True, slots=True, eq=False)
class StreamChunk:
    """Samples released by one call, in device order (SI units, unwrapped device time).

    IMU (DATA) samples, N:
        ``device_time_us`` (N,) float64; ``acc`` (N, 3) m/s²; ``gyr`` (N, 3) rad/s;
        ``mag`` (N, 3) µT or NaN; ``flags`` (N,) uint8 of the packet;
        ``sequence`` (N,) int64 unwrapped packet sequence; ``host_time_s`` (N,) arrival
        time of the packet (NaN if not given).
    Magnetometer-only (MAG packet) samples, M: ``mag_time_us`` (M,), ``mag_only`` (M, 3).
    ``gaps``: the :class:`Gap` objects found while releasing these samples.
    ``packet_times``: (P, 2) float64 rows (device time of the packet's last sample µs,
    host arrival s) for every released packet with a host time: input for
    :class:`~motiontrack.protocol.clock.ClockSync`.
    """

    device_time_us: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    mag: np.ndarray
    flags: np.ndarray
    sequence: np.ndarray
    host_time_s: np.ndarray
    mag_time_us: np.ndarray
    mag_only: np.ndarray
    gaps: tuple[Gap, ...]
    packet_times: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.device_time_us.shape[0])


# A pending packet: (unwrapped seq, type, flags, ts32, host_t, acc, gyr, mag)
_Rec = tuple


class StreamReassembler:
    """Reorders, de-duplicates and unwraps the DATA/MAG notifications of one sensor.

    Parameters
    ----------
    config : SensorConfig
        Scale factors and sample rates of the sensor.
    settings : ReassemblySettings, optional

    Examples
    --------
    >>> r = StreamReassembler(cfg)                          # doctest: +SKIP
    >>> chunk = r.push(notification, host_time_s=t_arrival)  # doctest: +SKIP
    >>> chunk.acc, chunk.device_time_us, chunk.gaps, r.stats.lost  # doctest: +SKIP
    """

    def __init__(self, config: SensorConfig, settings: ReassemblySettings | None = None) -> None:
        if not isinstance(config, SensorConfig):
            raise ConfigurationError("config must be a SensorConfig")
        self.config = config
        self.settings = settings or ReassemblySettings()
        self._period = config.sample_period_us
        self._mag_period = config.mag_period_us if config.mag_rate_hz > 0 else 0.0
        self.reset()

    def reset(self) -> None:
        """Forget the stream state and the counters (e.g. after STOP/START)."""
        self.stats = ReassemblyStats()
        self._pending: dict[int, _Rec] = {}
        self._next: int | None = None  # unwrapped sequence expected next
        self._highest: int | None = None
        self._primed = False  # True once the first packets have been released
        self._recent: deque[int] = deque(maxlen=4 * self.settings.window + 64)
        self._recent_set: set[int] = set()
        self._ticks = TickUnwrapper()  # device µs of the released packets (any type)
        self._expect_data: float | None = None  # expected device time of the next DATA sample
        self._expect_mag: float | None = None
        self._last_emitted: int = -1
        self._unreported = 0  # lost packets not yet attributed to a Gap

    # ------------------------------------------------------------------ input
    def push(
        self, packet: bytes | bytearray | memoryview, host_time_s: float | None = None
    ) -> StreamChunk:
        """Add one notification (arrival order); return the samples it releases.

        Same result as ``push_batch([packet], [host_time_s])``, with less overhead.
        """
        self.stats.received += 1
        try:
            blk = decode_samples(packet, self.config)
        except ProtocolError as e:
            self.stats.malformed[e.code] += 1
            return self._build([], [])
        host = math.nan if host_time_s is None else float(host_time_s)
        if blk.packet_type == PacketType.MAG:
            rec = (0, 2, int(blk.flags), blk.timestamp_us, host, None, None, blk.mag)
        else:
            mag = blk.mag if blk.mag is not None else np.full((blk.n_samples, 3), np.nan)
            rec = (0, 1, int(blk.flags), blk.timestamp_us, host, blk.acc, blk.gyr, mag)
        out: list[_Rec] = []
        gaps: list[Gap] = []
        self._accept(blk.sequence, rec, out, gaps)
        return self._build(out, gaps)

    def push_batch(
        self,
        packets: Sequence[bytes | bytearray | memoryview],
        host_times_s: Sequence[float] | np.ndarray | None = None,
    ) -> StreamChunk:
        """Add many notifications in arrival order; return the samples they release."""
        n_in = len(packets)
        if host_times_s is not None and len(host_times_s) != n_in:
            raise InputError("host_times_s must have one entry per packet")
        batch = decode_batch(packets, self.config)
        self.stats.received += n_in
        for _, code in batch.errors:
            self.stats.malformed[code] += 1
        hosts = (
            np.full(n_in, np.nan)
            if host_times_s is None
            else np.asarray(host_times_s, dtype=np.float64)
        )
        out: list[_Rec] = []
        gaps: list[Gap] = []
        # Per-packet sample slices (views into the batch arrays).
        d_start = np.concatenate(
            ([0], np.cumsum(np.where(batch.packet_type == PacketType.MAG, 0, batch.n_samples)))
        )
        m_start = np.concatenate(
            ([0], np.cumsum(np.where(batch.packet_type == PacketType.MAG, batch.n_samples, 0)))
        )
        types = batch.packet_type.tolist()
        seqs = batch.sequence.tolist()
        tss = batch.timestamp_us.tolist()
        flags = batch.flags.tolist()
        pidx = batch.packet_index.tolist()
        ds, ms = d_start.tolist(), m_start.tolist()
        ns = batch.n_samples.tolist()
        for r in range(len(types)):
            if types[r] == PacketType.MAG:
                a, b = ms[r], ms[r] + ns[r]
                rec = (
                    0,
                    2,
                    flags[r],
                    tss[r],
                    float(hosts[pidx[r]]),
                    None,
                    None,
                    batch.mag_only[a:b],
                )
            else:
                a, b = ds[r], ds[r] + ns[r]
                rec = (
                    0,
                    1,
                    flags[r],
                    tss[r],
                    float(hosts[pidx[r]]),
                    batch.acc[a:b],
                    batch.gyr[a:b],
                    batch.mag[a:b],
                )
            self._accept(seqs[r], rec, out, gaps)
        return self._build(out, gaps)

    def flush(self) -> StreamChunk:
        """Release everything held in the window (end of stream); missing ones are lost."""
        out: list[_Rec] = []
        gaps: list[Gap] = []
        while self._pending:
            self._release_next_available(out, gaps)
        return self._build(out, gaps)

    # ------------------------------------------------------------------ core
    def _accept(self, seq16: int, rec: _Rec, out: list, gaps: list) -> None:
        st = self.stats
        if self._next is None:
            self._next = self._highest = seq16
            u = seq16
        else:
            ref = self._highest
            delta = ((seq16 - ref) + (_SEQ_MOD >> 1)) % _SEQ_MOD - (_SEQ_MOD >> 1)
            u = ref + delta
            if u < self._next:
                if not self._primed and self._next - u <= self.settings.window:
                    self._next = u  # the first packets may arrive reordered, too
                elif u in self._recent_set:
                    st.duplicates += 1
                    return
                elif self._next - u > self.settings.max_jump:
                    self._restart(u, out, gaps)  # then accept u as the new start
                else:
                    st.late += 1
                    return
            if u in self._pending:
                st.duplicates += 1
                return
            if u - self._next > self.settings.max_jump:
                self._restart(u, out, gaps)
            elif u < self._highest:
                st.reordered += 1
        self._pending[u] = (u,) + rec[1:]
        self._highest = max(self._highest, u)
        # Release in order; declare losses once the window has moved past them. At the start
        # of a stream nothing is released until the window is full (or flush), so that
        # packets overtaken by the first arrival are not taken for late ones.
        if not self._primed:
            if self._highest - self._next < self.settings.window:
                return
            self._primed = True
        while self._next in self._pending:
            self._emit(self._pending.pop(self._next), out, gaps, lost=0)
        while self._pending and self._highest - self._next >= self.settings.window:
            self._release_next_available(out, gaps)

    def _restart(self, u: int, out: list, gaps: list) -> None:
        while self._pending:
            self._release_next_available(out, gaps)
        self.stats.restarts += 1
        self._next = self._highest = u
        # A restarted stream may have restarted its clock too: do not unwrap across it.
        self._expect_data = self._expect_mag = None
        self._ticks.reset()
        self._unreported = 0

    def _release_next_available(self, out: list, gaps: list) -> None:
        self._primed = True
        m = min(self._pending)
        lost = m - self._next
        self.stats.lost += lost
        self._next = m
        self._emit(self._pending.pop(m), out, gaps, lost=lost)
        while self._next in self._pending:
            self._emit(self._pending.pop(self._next), out, gaps, lost=0)

    def _emit(self, rec: _Rec, out: list, gaps: list, lost: int) -> None:
        u, ptype, flags, ts32, host, acc, gyr, mag = rec
        tsu = self._ticks.unwrap(ts32, host)
        n = (acc if acc is not None else mag).shape[0]
        is_data = ptype == 1
        period = self._period if is_data else self._mag_period
        expect = self._expect_data if is_data else self._expect_mag
        self._unreported += lost
        if expect is not None:
            step = tsu - expect
            if self._unreported > 0 or step > self.settings.gap_tolerance * period:
                missing = max(0, round(step / period)) if period > 0 else 0
                gaps.append(
                    Gap(
                        "imu" if is_data else "mag",
                        self._last_emitted,
                        self._unreported,
                        expect,
                        float(tsu),
                        missing,
                    )
                )
                self._unreported = 0
            elif step < -self.settings.gap_tolerance * period:
                self.stats.timestamp_anomalies += 1
        if is_data:
            self._expect_data = tsu + n * period
            self.stats.emitted_samples += n
        else:
            self._expect_mag = tsu + n * period
        self.stats.emitted_packets += 1
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(u)
        self._recent_set.add(u)
        out.append((u, ptype, flags, tsu, host, acc, gyr, mag))
        self._last_emitted = u
        self._next = u + 1

    def _build(self, out: list, gaps: list) -> StreamChunk:
        if not out and not gaps:
            return _EMPTY
        data = [r for r in out if r[1] == 1]
        mags = [r for r in out if r[1] == 2]
        if data:
            n = np.array([r[5].shape[0] for r in data])
            start = np.repeat(np.array([float(r[3]) for r in data]), n)
            first = np.repeat(np.cumsum(n) - n, n)
            t = start + (np.arange(int(n.sum())) - first) * self._period
            acc = np.concatenate([r[5] for r in data])
            gyr = np.concatenate([r[6] for r in data])
            mag = np.concatenate([r[7] for r in data])
            flags = np.repeat(np.array([r[2] for r in data], dtype=np.uint8), n)
            seq = np.repeat(np.array([r[0] for r in data], dtype=np.int64), n)
            host = np.repeat(np.array([r[4] for r in data]), n)
        else:
            t = np.empty(0)
            acc = gyr = mag = np.empty((0, 3))
            flags = np.empty(0, np.uint8)
            seq = np.empty(0, np.int64)
            host = np.empty(0)
        if mags:
            mn = np.array([r[7].shape[0] for r in mags])
            mfirst = np.repeat(np.cumsum(mn) - mn, mn)
            mt = (
                np.repeat(np.array([float(r[3]) for r in mags]), mn)
                + (np.arange(int(mn.sum())) - mfirst) * self._mag_period
            )
            mo = np.concatenate([r[7] for r in mags])
        else:
            mt = np.empty(0)
            mo = np.empty((0, 3))
        pt = [
            (
                r[3]
                + ((r[5] if r[5] is not None else r[7]).shape[0] - 1)
                * (self._period if r[1] == 1 else self._mag_period),
                r[4],
            )
            for r in out
            if not math.isnan(r[4])
        ]
        return StreamChunk(
            device_time_us=t,
            acc=acc,
            gyr=gyr,
            mag=mag,
            flags=flags,
            sequence=seq,
            host_time_s=host,
            mag_time_us=mt,
            mag_only=mo,
            gaps=tuple(gaps),
            packet_times=np.array(pt, dtype=np.float64).reshape(-1, 2),
        )


_E3 = np.empty((0, 3))
_E3.flags.writeable = False
_EMPTY = StreamChunk(
    device_time_us=np.empty(0),
    acc=_E3,
    gyr=_E3,
    mag=_E3,
    flags=np.empty(0, np.uint8),
    sequence=np.empty(0, np.int64),
    host_time_s=np.empty(0),
    mag_time_us=np.empty(0),
    mag_only=_E3,
    gaps=(),
    packet_times=np.empty((0, 2)),
)
for _a in (
    _EMPTY.device_time_us,
    _EMPTY.flags,
    _EMPTY.sequence,
    _EMPTY.host_time_s,
    _EMPTY.mag_time_us,
    _EMPTY.packet_times,
):
    _a.flags.writeable = False

__all__ = ["Gap", "ReassemblySettings", "ReassemblyStats", "StreamChunk", "StreamReassembler"]
