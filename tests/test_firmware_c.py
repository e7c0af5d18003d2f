"""The C99 reference codec (firmware_protocol/c) agrees with Python byte for byte.

The C sources are compiled with the system compiler into a small line-oriented driver
(``mtproto_cli``); the test skips cleanly when no compiler is available. Checked:
every vector (decode, re-encode, fields, SI values), random valid packets in both
directions (Python -> C encode, C -> Python decode), and random/mutated bytes on which
both decoders must give the same error code or the same fields.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from motiontrack.errors import ProtocolError
from motiontrack.protocol import commands as c
from motiontrack.protocol.config import SensorConfig, Status
from motiontrack.protocol.gatt import PacketType
from motiontrack.protocol.packets import DataPacket

ROOT = Path(__file__).resolve().parents[1]
CDIR = ROOT / "firmware_protocol" / "c"
VECTORS = ROOT / "firmware_protocol" / "vectors"
SEED = 1234


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("mtproto") / "mtproto_cli"
    flags = [
        "-std=c99",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wpedantic",
        "-Wconversion",
        "-Wshadow",
        "-Werror",
    ]
    cmd = [cc, *flags, str(CDIR / "mtproto.c"), str(CDIR / "mtproto_cli.c"), "-lm", "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr  # warnings are errors: the code must stay clean
    return out


@pytest.fixture(scope="module")
def cli_sanitized(tmp_path_factory) -> Path:
    """The driver built with AddressSanitizer + UBSan (skipped where unsupported)."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("mtproto_asan") / "mtproto_cli"
    cmd = [
        cc,
        "-std=c99",
        "-O1",
        "-g",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        str(CDIR / "mtproto.c"),
        str(CDIR / "mtproto_cli.c"),
        "-lm",
        "-o",
        str(out),
    ]
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        pytest.skip("compiler without AddressSanitizer/UBSan")
    return out


def run(cli: Path, lines: list[str]) -> list[str]:
    res = subprocess.run(
        [str(cli)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert len(out) == len(lines)
    return out


def hx(b: bytes) -> str:
    return b.hex() if b else "-"


# ---------------------------------------------------------------- Python side, C format
_CMD_KEYS = {
    "options": "options",
    "sample_rate_mhz": "rate",
    "acc_range_g": "acc",
    "gyr_range_dps": "gyr",
    "mag_range_ut": "mag",
    "host_time_us": "host",
    "apply": "apply",
    "duration_s": "duration",
}
_RSP_KEYS = {
    "payload_size": "payload_size",
    "sample_rate_mhz": "rate",
    "mag_rate_mhz": "mag_rate",
    "acc_range_g": "acc",
    "gyr_range_dps": "gyr",
    "mag_range_ut": "mag",
    "host_time_us": "host",
    "device_time_us": "device",
    "state": "state",
    "battery_percent": "battery",
    "temperature": "temp",
    "battery_mv": "mv",
    "error_flags": "errors",
    "device_dropped": "dropped",
}


def _f32_bits(x: float) -> int:
    return int(np.array([x], dtype="<f4").view("<u4")[0])


def _status_fields(s: Status) -> dict[str, int]:
    return {
        "state": int(s.state),
        "battery": 255 if s.battery_percent is None else s.battery_percent,
        "temp": -32768 if s.temperature_c is None else round(s.temperature_c * 100),
        "mv": 0 if s.battery_mv is None else s.battery_mv,
        "errors": int(s.error_flags),
        "dropped": s.device_dropped,
    }


def py_fields(kind: str, obj) -> dict[str, object]:
    if kind == "data":
        return {
            "type": int(obj.packet_type),
            "flags": int(obj.flags),
            "seq": obj.sequence,
            "ts": obj.timestamp_us,
            "n": obj.n_samples,
            "axes": obj.counts.shape[1],
            "counts": ",".join(str(v) for v in obj.counts.ravel().tolist()),
        }
    if kind == "config":
        return {
            "minor": obj.protocol_minor,
            "caps": int(obj.capabilities),
            "rate": round(obj.sample_rate_hz * 1000),
            "mag_rate": round(obj.mag_rate_hz * 1000),
            "acc": obj.acc_range_g,
            "gyr": obj.gyr_range_dps,
            "mag": obj.mag_range_ut,
            "acc_scale": _f32_bits(obj.acc_scale),
            "gyr_scale": _f32_bits(obj.gyr_scale),
            "mag_scale": _f32_bits(obj.mag_scale),
            "serial": obj.serial,
        }
    if kind == "status":
        return _status_fields(obj)
    if kind == "command":
        f = {k: 0 for k in _CMD_KEYS.values()}
        f.update({"op": int(obj.opcode), "token": obj.token})
        f.update({_CMD_KEYS[k]: v for k, v in obj.params})
        return f
    if kind == "response":
        f = {k: 0 for k in _RSP_KEYS.values()}
        f.update({"op": int(obj.opcode), "token": obj.token, "result": int(obj.result)})
        f.update({_RSP_KEYS[k]: v for k, v in obj.values if k in _RSP_KEYS})
        return f
    raise AssertionError(kind)


DECODERS = {
    "data": DataPacket.from_bytes,
    "config": SensorConfig.from_bytes,
    "status": Status.from_bytes,
    "command": c.Command.from_bytes,
    "response": c.Response.from_bytes,
}


def py_decode(kind: str, raw: bytes):
    try:
        return DECODERS[kind](raw), None
    except ProtocolError as e:
        return None, e.code


def parse_c(line: str) -> tuple[str, str | None, dict[str, object]]:
    parts = line.split()
    if parts[0] == "ERR":
        return "ERR", parts[1], {}
    fields: dict[str, object] = {}
    for p in parts[2:]:
        k, v = p.split("=", 1)
        fields[k] = v if k == "counts" else (v if k == "serial" else int(v))
    if "serial" in fields:  # SPEC §6: stop at NUL, non-ASCII -> '?'
        raw = bytes.fromhex(str(fields["serial"])).split(b"\0", 1)[0]
        fields["serial"] = raw.decode("ascii", errors="replace").replace("\ufffd", "?")
    if fields.get("counts") is not None and "axes" not in fields:
        pass
    return "OK", parts[1], fields


def c_line_fields(kind: str, obj) -> str:
    f = py_fields(kind, obj)
    if kind == "config":
        f["serial"] = obj.serial.encode("ascii").ljust(8, b"\0").hex()
    return " ".join(f"{k}={v}" for k, v in f.items())


def check_same(kind: str, raw: bytes, c_out: str) -> None:
    obj, code = py_decode(kind, raw)
    status, second, fields = parse_c(c_out)
    if code is not None:
        assert (status, second) == ("ERR", code), (kind, raw.hex(), c_out)
        return
    assert status == "OK", (kind, raw.hex(), c_out)
    assert fields == py_fields(kind, obj), (kind, raw.hex())
    if kind != "config" or second == bytes(obj).hex():  # C keeps raw serial bytes after a NUL
        assert second == bytes(obj).hex(), (kind, raw.hex())


# ---------------------------------------------------------------------------- vectors
def all_vectors() -> list[tuple[str, dict]]:
    out = []
    for fname, kind in (
        ("data.json", "data"),
        ("config.json", "config"),
        ("status.json", "status"),
        ("commands.json", None),
    ):
        doc = json.loads((VECTORS / fname).read_text(encoding="utf-8"))
        for v in doc["valid"] + doc["malformed"]:
            out.append((v.get("kind", kind), v))
    return out


def test_every_vector_decodes_identically_in_c(cli):
    vecs = all_vectors()
    outs = run(cli, [f"D {kind} {hx(bytes.fromhex(v['hex']))}" for kind, v in vecs])
    n_valid = 0
    for (kind, v), line in zip(vecs, outs):
        if "error" in v:
            assert line == f"ERR {v['error']}", (v["name"], line)
        else:
            n_valid += 1
            status, reenc, _ = parse_c(line)
            assert status == "OK", (v["name"], line)
            assert reenc == v.get("canonical_hex", v["hex"]), v["name"]
            check_same(kind, bytes.fromhex(v["hex"]), line)
    assert n_valid >= 30


def test_vector_si_values_identical_in_c(cli):
    doc = json.loads((VECTORS / "data.json").read_text(encoding="utf-8"))
    outs = run(cli, [f"S {doc['config_hex']} {v['hex']}" for v in doc["valid"]])
    for v, line in zip(doc["valid"], outs):
        assert line.startswith("OK"), line
        acc_s, gyr_s, mag_s = line[2:].split("|")
        d = v["decoded"]
        for got, want in ((acc_s, d["acc"]), (gyr_s, d["gyr"]), (mag_s, d["mag"])):
            vals = [float(x) for x in got.split()]
            assert vals == ([] if want is None else np.ravel(want).tolist()), v["name"]


# ------------------------------------------------------------------ random valid packets
def random_objects(rng: np.random.Generator, n: int) -> list[tuple[str, object]]:
    objs: list[tuple[str, object]] = []
    for _ in range(n):
        ptype = PacketType.DATA if rng.random() < 0.7 else PacketType.MAG
        flags = int(rng.integers(0, 256))
        axes = 3 if ptype == PacketType.MAG else (9 if flags & 1 else 6)
        nmax = (514 - 8) // (2 * axes)
        ns = (
            int(rng.integers(1, nmax + 1))
            if rng.random() < 0.3
            else int(rng.integers(1, 20 * 6 // axes + 1))
        )
        counts = rng.integers(-32768, 32768, size=(ns, axes))
        objs.append(
            (
                "data",
                DataPacket(
                    packet_type=ptype,
                    flags=flags,
                    sequence=int(rng.integers(0, 65536)),
                    timestamp_us=int(rng.integers(0, 2**32)),
                    counts=counts,
                ),
            )
        )
        scales = rng.uniform(1e-6, 1.0, 3)
        objs.append(
            (
                "config",
                SensorConfig(
                    sample_rate_hz=int(rng.integers(1, 2**32)) / 1000,
                    mag_rate_hz=int(rng.integers(0, 2**32)) / 1000,
                    acc_range_g=int(rng.integers(1, 65536)),
                    gyr_range_dps=int(rng.integers(1, 65536)),
                    mag_range_ut=int(rng.integers(1, 65536)),
                    acc_scale=scales[0],
                    gyr_scale=scales[1],
                    mag_scale=scales[2],
                    serial="".join(
                        chr(int(x)) for x in rng.integers(33, 127, int(rng.integers(0, 9)))
                    ),
                    capabilities=int(rng.integers(0, 65536)),
                    protocol_minor=int(rng.integers(0, 256)),
                ),
            )
        )
        st = Status(
            state=int(rng.integers(0, 3)),
            battery_percent=None if rng.random() < 0.2 else int(rng.integers(0, 101)),
            temperature_c=None if rng.random() < 0.2 else int(rng.integers(-32767, 32768)) / 100,
            battery_mv=None if rng.random() < 0.2 else int(rng.integers(1, 65536)),
            error_flags=int(rng.integers(0, 2**32)),
            device_dropped=int(rng.integers(0, 65536)),
        )
        objs.append(("status", st))
        op = c.Opcode(int(rng.integers(1, 9)))
        params = {
            f.name: int(rng.integers(0, 2 ** (8 * f.size))) for f in c.COMMAND_PARAMS[op].fields
        }
        objs.append(
            ("command", c.Command(opcode=op, token=int(rng.integers(0, 256)), params=params))
        )
        result = 0 if rng.random() < 0.7 else int(rng.integers(1, 256))
        values = (
            {}
            if result
            else {
                f.name: int(rng.integers(-(2**15), 2**15))
                if f.type == "i16"
                else int(rng.integers(0, 2 ** (8 * f.size)))
                for f in c.REPLY_PAYLOADS[op].fields
            }
        )
        objs.append(
            (
                "response",
                c.Response(
                    opcode=op, token=int(rng.integers(0, 256)), result=result, values=values
                ),
            )
        )
    return objs


def test_random_packets_round_trip_both_ways(cli):
    rng = np.random.default_rng(SEED)
    objs = random_objects(rng, 400)
    # Python -> bytes -> C decode (fields equal, C re-encode byte-identical)
    outs = run(cli, [f"D {k} {hx(bytes(o))}" for k, o in objs])
    for (k, o), line in zip(objs, outs):
        status, reenc, fields = parse_c(line)
        assert status == "OK", (k, bytes(o).hex(), line)
        assert reenc == bytes(o).hex(), k
        assert fields == py_fields(k, o), k
    # fields -> C encode -> bytes equal to Python's encoding
    outs = run(cli, [f"E {k} {c_line_fields(k, o)}" for k, o in objs])
    for (k, o), line in zip(objs, outs):
        assert line == f"OK {bytes(o).hex()}", (k, line)


def test_random_si_scaling_identical(cli):
    rng = np.random.default_rng(SEED + 1)
    objs = random_objects(rng, 100)
    cfgs = [o for k, o in objs if k == "config"]
    pkts = [o for k, o in objs if k == "data"]
    outs = run(cli, [f"S {bytes(cf).hex()} {bytes(p).hex()}" for cf, p in zip(cfgs, pkts)])
    for cf, p, line in zip(cfgs, pkts, outs):
        blk = p.to_si(cf)
        acc_s, gyr_s, mag_s = line[2:].split("|")
        for got, want in ((acc_s, blk.acc), (gyr_s, blk.gyr), (mag_s, blk.mag)):
            assert [float(x) for x in got.split()] == (
                [] if want is None else want.ravel().tolist()
            )


# --------------------------------------------------------------------- decode parity fuzz
def fuzz_inputs(rng: np.random.Generator, n: int) -> list[tuple[str, bytes]]:
    seeds = [(k, bytes(o)) for k, o in random_objects(rng, 60)]
    seeds += [(kind, bytes.fromhex(v["hex"])) for kind, v in all_vectors()]
    out = []
    kinds = list(DECODERS)
    for _ in range(n):
        r = rng.random()
        if r < 0.3:  # random bytes, header byte often plausible
            ln = int(rng.integers(0, 60)) if rng.random() < 0.9 else int(rng.integers(0, 530))
            b = bytearray(rng.integers(0, 256, ln, dtype=np.uint8).tobytes())
            if b and rng.random() < 0.7:
                b[0] = 0x10 | int(rng.integers(0, 8))
            out.append((kinds[int(rng.integers(len(kinds)))], bytes(b)))
            continue
        kind, b0 = seeds[int(rng.integers(len(seeds)))]
        b = bytearray(b0)
        for _ in range(int(rng.integers(1, 4))):
            m = rng.random()
            if m < 0.4 and b:
                b[int(rng.integers(len(b)))] = int(rng.integers(0, 256))
            elif m < 0.6 and b:
                del b[int(rng.integers(len(b))) :]
            elif m < 0.8:
                b += rng.integers(0, 256, int(rng.integers(1, 20)), dtype=np.uint8).tobytes()
            elif b:
                i = int(rng.integers(len(b)))
                b[i] ^= 1 << int(rng.integers(8))
        out.append((kind if rng.random() < 0.9 else kinds[int(rng.integers(len(kinds)))], bytes(b)))
    return out


def test_random_and_mutated_bytes_same_verdict_in_c_and_python(cli):
    rng = np.random.default_rng(SEED + 2)
    inputs = fuzz_inputs(rng, 4000)
    outs = run(cli, [f"D {k} {hx(b)}" for k, b in inputs])
    verdicts = {"ok": 0, "err": 0}
    for (k, b), line in zip(inputs, outs):
        check_same(k, b, line)
        verdicts["ok" if line.startswith("OK") else "err"] += 1
    assert verdicts["ok"] > 200 and verdicts["err"] > 200, verdicts


def test_c_decoders_are_memory_safe_under_sanitizers(cli_sanitized):
    """Every vector and 4000 random/mutated inputs, each in an exact-size heap buffer."""
    rng = np.random.default_rng(SEED + 3)
    inputs = fuzz_inputs(rng, 4000) + [(k, bytes.fromhex(v["hex"])) for k, v in all_vectors()]
    outs = run(cli_sanitized, [f"D {k} {hx(b)}" for k, b in inputs])  # asserts exit status 0
    for (k, b), line in zip(inputs, outs):
        check_same(k, b, line)
