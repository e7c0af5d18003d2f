"""Fuzz every motiontrack.protocol decoder with random and mutated packets.

Acceptance (issue 3): >= 1,000,000 random and mutated packets through every decoder; each
decodes or raises ProtocolError, never another exception, never a hang.

Each generated input goes through every decoder: DATA/MAG packets, config, status,
command, response (+ its status view), the native, WitMotion and every Movella DOT payload
mode profile; inputs are also pushed one by one into a long-lived StreamReassembler and
ProfileStreams (WitMotion, Movella DOT) and, in chunks, through decode_batch. A decode using more than --hang-ms of CPU time (process
time, so that preemption on a shared machine does not count) is reported as a hang;
faulthandler aborts the run with a traceback if a single decode blocks for 60 s.

    /tmp/venv/bin/python benchmarks/protocol_fuzz.py [--count 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import faulthandler
import time
import traceback
from collections import Counter

import numpy as np

from motiontrack.errors import ProtocolError
from motiontrack.protocol import commands as c
from motiontrack.protocol.batch import decode_batch
from motiontrack.protocol.config import SensorConfig, Status, StreamState
from motiontrack.protocol.packets import DataPacket, encode_data_packet, encode_mag_packet
from motiontrack.protocol.profiles import movella_dot as dot
from motiontrack.protocol.profiles import ProfileStream, native, witmotion
from motiontrack.protocol.reassembly import StreamReassembler

CFG = SensorConfig(sample_rate_hz=100.0, mag_rate_hz=25.0)


def seeds(rng: np.random.Generator) -> list[bytes]:
    """Valid packets of every kind, to be mutated."""
    out: list[bytes] = []
    for k in range(20):
        n = int(rng.integers(1, 20))
        out.append(
            encode_data_packet(
                sequence=k,
                timestamp_us=k * 1000,
                acc=rng.normal(0, 5, (n, 3)),
                gyr=rng.normal(0, 2, (n, 3)),
                config=CFG,
            )
        )
        m = int(rng.integers(1, 13))
        out.append(
            encode_data_packet(
                sequence=k,
                timestamp_us=k,
                acc=rng.normal(0, 5, (m, 3)),
                gyr=rng.normal(0, 2, (m, 3)),
                mag=rng.normal(0, 40, (m, 3)),
                config=CFG,
            )
        )
        out.append(
            encode_mag_packet(sequence=k, timestamp_us=k, mag=rng.normal(0, 40, (2, 3)), config=CFG)
        )
    out.append(bytes(CFG))
    out.append(bytes(Status(state=StreamState.STREAMING, battery_percent=50, temperature_c=20.0)))
    for op in c.Opcode:
        out.append(bytes(c.Command(opcode=op, token=1)))
        out.append(bytes(c.Response(opcode=op, token=1)))
        out.append(bytes(c.Response(opcode=op, token=1, result=c.ResultCode.BUSY)))
    out.append(witmotion.encode_imu_frame([0, 0, 9.8], [0.1, 0.2, 0.3], [1, 2, 3]))
    out.append(bytes([0x55, 0x71, 0x40, 0x00]) + bytes(16))
    for mode, lay in dot.MODES.items():
        fields = {
            f: np.ones(
                4 if f in ("quat", "dq") else (1 if f in ("status", "clip_acc", "clip_gyr") else 3)
            )
            for f in lay.fields
        }
        out.append(dot.encode_payload(mode, 1234, **fields))
    return out


def generate(rng: np.random.Generator, n: int, pool: list[bytes]) -> list[bytes]:
    """n inputs: 35 % random bytes (plausible header byte 70 % of the time), 65 % mutations."""
    out: list[bytes] = []
    kinds = rng.random(n)
    lens = rng.integers(0, 64, n)
    big = rng.random(n) < 0.03
    lens[big] = rng.integers(0, 600, int(big.sum()))
    pool_idx = rng.integers(0, len(pool), n)
    n_mut = rng.integers(1, 5, n)
    for i in range(n):
        if kinds[i] < 0.35:
            b = bytearray(rng.bytes(int(lens[i])))
            if b and rng.random() < 0.7:
                b[0] = int(rng.choice([0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x55, 0x10, 0x1F, 0x21]))
            if len(b) > 1 and b[0] == 0x55 and rng.random() < 0.5:
                b[1] = int(rng.choice([0x61, 0x71]))
            out.append(bytes(b))
            continue
        b = bytearray(pool[int(pool_idx[i])])
        for _ in range(int(n_mut[i])):
            m = rng.random()
            if m < 0.35 and b:
                b[int(rng.integers(len(b)))] = int(rng.integers(256))
            elif m < 0.5 and b:
                j = int(rng.integers(len(b)))
                b[j] ^= 1 << int(rng.integers(8))
            elif m < 0.65 and b:
                del b[int(rng.integers(len(b) + 1)) :]
            elif m < 0.8:
                b += rng.bytes(int(rng.integers(1, 40)))
            elif m < 0.9 and len(b) > 2:
                j = int(rng.integers(len(b)))
                del b[j : j + int(rng.integers(1, 6))]
            elif b:  # extreme values in a 16-bit field
                j = int(rng.integers(max(1, len(b) - 1)))
                b[j : j + 2] = bytes(
                    rng.choice([b"\xff\x7f", b"\x00\x80", b"\xff\xff", b"\x00\x00"])
                )
        out.append(bytes(b))
    return out


def decoders():
    native_profile = native.MotionTrackProfile(CFG)
    dot_profiles = [dot.MovellaDotProfile(m) for m in dot.MODES]

    def response_full(b: bytes):
        r = c.Response.from_bytes(b)
        if r.ok and r.opcode == c.Opcode.GET_STATUS:
            r.status()
        return r

    def data_si(b: bytes):
        return DataPacket.from_bytes(b).to_si(CFG)

    def all_dot(b: bytes):
        errors = 0
        for p in dot_profiles:
            try:
                p.decode(b)
            except ProtocolError:
                errors += 1
        if errors == len(dot_profiles):
            raise ProtocolError("no mode accepted it", code="dot_all")

    return {
        "data": data_si,
        "config": SensorConfig.from_bytes,
        "status": Status.from_bytes,
        "command": c.Command.from_bytes,
        "response": response_full,
        "native_profile": native_profile.decode,
        "witmotion": witmotion.PROFILE.decode,
        "movella_dot_all_modes": all_dot,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--hang-ms", type=float, default=100.0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    pool = seeds(rng)
    decs = decoders()
    streams = {
        "witmotion_stream": ProfileStream(witmotion.PROFILE, 100.0),
        "movella_stream": ProfileStream(dot.MovellaDotProfile(), 60.0),
    }
    outcome = {name: Counter() for name in [*decs, *streams, "reassembler", "decode_batch"]}
    failures: list[str] = []
    slowest = {name: 0.0 for name in outcome}
    reasm = StreamReassembler(CFG)
    faulthandler.dump_traceback_later(3600, exit=True)
    t0 = time.perf_counter()
    done = 0
    while done < args.count:
        batch = generate(rng, min(args.chunk, args.count - done), pool)
        for b in batch:
            for name, fn in decs.items():
                faulthandler.dump_traceback_later(60, exit=True)
                t = time.process_time()
                try:
                    fn(b)
                    outcome[name]["ok"] += 1
                except ProtocolError as e:
                    outcome[name][e.code] += 1
                except Exception:  # noqa: BLE001 - this is what we hunt for
                    failures.append(f"{name} {b.hex()}\n{traceback.format_exc()}")
                slowest[name] = max(slowest[name], time.process_time() - t)
            t = time.process_time()
            try:
                chunk = reasm.push(b, host_time_s=done * 0.01)
                outcome["reassembler"]["samples" if chunk.n_samples else "no_samples"] += 1
            except Exception:  # noqa: BLE001
                failures.append(f"reassembler {b.hex()}\n{traceback.format_exc()}")
            slowest["reassembler"] = max(slowest["reassembler"], time.process_time() - t)
            for name, stream in streams.items():
                t = time.process_time()
                try:
                    got, _ = stream.push(b, host_time_s=done * 0.01)
                    outcome[name]["samples" if got is not None and got.n else "none"] += 1
                except Exception:  # noqa: BLE001
                    failures.append(f"{name} {b.hex()}\n{traceback.format_exc()}")
                slowest[name] = max(slowest[name], time.process_time() - t)
            done += 1
        t = time.process_time()
        try:
            res = decode_batch(batch, CFG)
            outcome["decode_batch"]["ok"] += len(res.packet_index)
            outcome["decode_batch"]["errors"] += len(res.errors)
        except Exception:  # noqa: BLE001
            failures.append(f"decode_batch chunk\n{traceback.format_exc()}")
        slowest["decode_batch"] = max(slowest["decode_batch"], time.process_time() - t)
        print(
            f"  {done:,} inputs, {time.perf_counter() - t0:.0f} s, failures {len(failures)}",
            flush=True,
        )
    faulthandler.cancel_dump_traceback_later()
    elapsed = time.perf_counter() - t0
    print(
        f"\nfuzzed {done:,} random/mutated inputs through {len(outcome)} decoders "
        f"({done * len(decs):,} single decodes + reassembler + decode_batch) in {elapsed:.0f} s"
    )
    for name, cnt in outcome.items():
        top = ", ".join(f"{k}={v:,}" for k, v in cnt.most_common(6))
        print(f"  {name:22s} slowest {slowest[name] * 1e3:7.2f} ms CPU   {top}")
    r = reasm.stats
    print(
        f"  reassembler stats: received={r.received:,} emitted={r.emitted_packets:,} lost={r.lost:,} "
        f"dup={r.duplicates:,} late={r.late:,} restarts={r.restarts:,} malformed={sum(r.malformed.values()):,}"
    )
    hangs = [n for n, s in slowest.items() if n != "decode_batch" and s * 1e3 > args.hang_ms]
    print(
        f"non-ProtocolError exceptions: {len(failures)}; decodes over {args.hang_ms} ms of CPU: {hangs or 'none'}"
    )
    for f in failures[:5]:
        print(f)
    return 1 if failures or hangs else 0


if __name__ == "__main__":
    raise SystemExit(main())
