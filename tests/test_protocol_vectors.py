"""Every test vector in firmware_protocol/vectors decodes as specified in Python."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motiontrack.errors import ProtocolError
from motiontrack.protocol import commands as c
from motiontrack.protocol.config import SensorConfig, Status
from motiontrack.protocol.packets import DataFlags, DataPacket

VECTORS = Path(__file__).resolve().parents[1] / "firmware_protocol" / "vectors"


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


DATA = load("data.json")
CONFIG = load("config.json")
STATUS = load("status.json")
COMMANDS = load("commands.json")
DATA_CFG = SensorConfig.from_bytes(bytes.fromhex(DATA["config_hex"]))


def ids(entries):
    return [e["name"] for e in entries]


@pytest.mark.parametrize("vec", DATA["valid"], ids=ids(DATA["valid"]))
def test_data_valid(vec):
    raw = bytes.fromhex(vec["hex"])
    d = vec["decoded"]
    pkt = DataPacket.from_bytes(raw)
    assert pkt.packet_type.name == d["packet_type"]
    assert int(pkt.flags) == d["flags"]
    assert [f.name for f in DataFlags if f in pkt.flags] == d["flag_names"]
    assert (pkt.sequence, pkt.timestamp_us) == (d["sequence"], d["timestamp_us"])
    np.testing.assert_array_equal(pkt.counts, np.array(d["counts"]))
    blk = pkt.to_si(DATA_CFG)
    counts = np.array(d["counts"], dtype=np.float64)
    acc_s, gyr_s, mag_s = DATA_CFG.scales()
    for name, got in (("acc", blk.acc), ("gyr", blk.gyr), ("mag", blk.mag)):
        if d[name] is None:
            assert got is None
        else:
            np.testing.assert_array_equal(got, np.array(d[name]))  # exact: count * f32 scale
    if d["acc"] is not None:
        np.testing.assert_array_equal(blk.acc, counts[:, :3] * acc_s)
        np.testing.assert_array_equal(blk.gyr, counts[:, 3:6] * gyr_s)
    assert bytes(pkt) == raw


@pytest.mark.parametrize("vec", DATA["malformed"], ids=ids(DATA["malformed"]))
def test_data_malformed(vec):
    with pytest.raises(ProtocolError) as e:
        DataPacket.from_bytes(bytes.fromhex(vec["hex"]))
    assert e.value.code == vec["error"]


@pytest.mark.parametrize("vec", CONFIG["valid"], ids=ids(CONFIG["valid"]))
def test_config_valid(vec):
    cfg = SensorConfig.from_bytes(bytes.fromhex(vec["hex"]))
    d = vec["decoded"]
    for k, v in d.items():
        got = getattr(cfg, k)
        assert (int(got) if k == "capabilities" else got) == v, k
    assert bytes(cfg).hex() == vec.get("canonical_hex", vec["hex"])


@pytest.mark.parametrize("vec", CONFIG["malformed"], ids=ids(CONFIG["malformed"]))
def test_config_malformed(vec):
    with pytest.raises(ProtocolError) as e:
        SensorConfig.from_bytes(bytes.fromhex(vec["hex"]))
    assert e.value.code == vec["error"]


@pytest.mark.parametrize("vec", STATUS["valid"], ids=ids(STATUS["valid"]))
def test_status_valid(vec):
    st = Status.from_bytes(bytes.fromhex(vec["hex"]))
    d = vec["decoded"]
    assert st.state.name == d["state"]
    assert (st.battery_percent, st.temperature_c, st.battery_mv) == (
        d["battery_percent"],
        d["temperature_c"],
        d["battery_mv"],
    )
    assert (int(st.error_flags), st.device_dropped) == (d["error_flags"], d["device_dropped"])
    assert bytes(st).hex() == vec["hex"]


@pytest.mark.parametrize("vec", STATUS["malformed"], ids=ids(STATUS["malformed"]))
def test_status_malformed(vec):
    with pytest.raises(ProtocolError) as e:
        Status.from_bytes(bytes.fromhex(vec["hex"]))
    assert e.value.code == vec["error"]


@pytest.mark.parametrize("vec", COMMANDS["valid"], ids=ids(COMMANDS["valid"]))
def test_commands_valid(vec):
    raw = bytes.fromhex(vec["hex"])
    d = vec["decoded"]
    if vec["kind"] == "command":
        cmd = c.decode_command(raw)
        assert (cmd.opcode.name, cmd.token, dict(cmd.params)) == (
            d["opcode"],
            d["token"],
            d["params"],
        )
        assert bytes(cmd) == raw
    else:
        rsp = c.decode_response(raw)
        assert (rsp.opcode.name, rsp.token, int(rsp.result), dict(rsp.values)) == (
            d["opcode"],
            d["token"],
            d["result"],
            d["values"],
        )
        assert bytes(rsp) == raw


@pytest.mark.parametrize("vec", COMMANDS["malformed"], ids=ids(COMMANDS["malformed"]))
def test_commands_malformed(vec):
    decode = c.decode_command if vec["kind"] == "command" else c.decode_response
    with pytest.raises(ProtocolError) as e:
        decode(bytes.fromhex(vec["hex"]))
    assert e.value.code == vec["error"]


def test_hand_checked_bytes():
    """A few vectors checked by hand against the SPEC byte tables, not by the encoder."""
    by_name = {v["name"]: v for v in DATA["valid"]}
    assert (
        by_name["one_sample_at_rest_default_mtu"]["hex"] == "11"
        "00"
        "0000"
        "00000000" + "0000" * 2 + "0008" + "0000" * 3
    )
    assert by_name["sequence_and_timestamp_little_endian"]["hex"][:16] == "11103412d4c3b2a1"
    assert by_name["mag_packet_two_samples_default_mtu"]["hex"][:4] == "1201"
    cmds = {v["name"]: v["hex"] for v in COMMANDS["valid"]}
    assert cmds["set_sample_rate_208hz"] == "130305" + (208000).to_bytes(4, "little").hex()
    assert cmds["set_rate_invalid_state"] == "16030504"
    cfg = bytes.fromhex(DATA["config_hex"])
    assert cfg[0] == 0x15 and int.from_bytes(cfg[4:8], "little") == 100000
    assert np.frombuffer(cfg[20:24], "<f4")[0] == np.float32(16 * 9.80665 / 32768)
