"""Buffer trees on a placement: every net ends within the fanout limit, every sink of a net is
the same number of buffers from its driver, the netlist and the DEF say the same, clock nets
take the clock buffer, and the buffers' activity follows what they repeat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from econflow import pdk
from econflow.errors import ConfigError
from econflow.flow import buffering
from econflow.flow.formats import defdata, netlist
from econflow.flow.formats.activity import CellActivity
from econflow.flow.legalizer import Rows
from econflow.pdk import Buffer, BufferTrees

SITE, ROW = 92, 544
SIZES = {"fill": (0.46, 2.72), "ff": (4.6, 2.72), "clkbuf": (1.38, 2.72), "buf": (1.38, 2.72)}
LEF = """MACRO ff
  PIN CLK
    DIRECTION INPUT ;
    USE CLOCK ;
  END CLK
  PIN RST
    DIRECTION INPUT ;
  END RST
  PIN Q
    DIRECTION OUTPUT ;
  END Q
END ff
"""
TREES = BufferTrees(
    clock_buffer=Buffer(cell="clkbuf", input="A", output="X"),
    buffer=Buffer(cell="buf", input="A", output="X"),
    max_fanout=4,
)


def design(flops: int = 30, rows: int = 6, sites: int = 80) -> tuple[str, str]:
    """A placed DEF and its netlist: ``flops`` flip-flops spread over the rows, each clocked
    by ``clk`` and reset by ``rst``, their outputs on ports."""
    lines, nets, instances = [], [], []
    used: dict[int, set[int]] = {r: set() for r in range(rows)}
    for k in range(flops):
        r, first = k % rows, (k // rows) * 12
        used[r] |= set(range(first, first + 10))
        orient = "S" if r % 2 else "N"
        lines.append(f"- ff{k} ff + PLACED ( {first * SITE} {r * ROW} ) {orient} ;")
        instances.append(f"  ff ff{k} (.CLK(clk), .RST(rst), .Q(q[{k}]));")
        nets.append(f"- q[{k}]\n  ( ff{k} Q )\n  ( PIN q[{k}] ) ;")
    for r in range(rows):
        orient = "S" if r % 2 else "N"
        lines += [
            f"- fill_{r}_{s} fill + PLACED ( {s * SITE} {r * ROW} ) {orient} ;"
            for s in range(sites)
            if s not in used[r]
        ]
    for net in ("clk", "rst"):
        pins = "\n".join(f"  ( ff{k} {'CLK' if net == 'clk' else 'RST'} )" for k in range(flops))
        nets.append(f"- {net}\n  ( PIN {net} )\n{pins} ;")
    text = (
        "VERSION 5.6 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 200 ;\n\n"
        f"DIEAREA ( 0 0 ) ( {sites * SITE} {rows * ROW} ) ;\n\n"
        f"COMPONENTS {len(lines)} ;\n" + "\n".join(lines) + "\nEND COMPONENTS\n\n"
        f"NETS {len(nets)} ;\n" + "\n".join(nets) + "\nEND NETS\n\nEND DESIGN\n"
    )
    verilog = (
        "module t(clk, rst, q);\n  input clk;\n  input rst;\n"
        f"  output [{flops - 1}:0] q;\n" + "\n".join(instances) + "\nendmodule\n"
    )
    return text, verilog


def ports(verilog: str, tmp_path: Path) -> netlist.Netlist:
    path = tmp_path / "t.vg"
    path.write_text(verilog)
    return netlist.read(path, "t")


def test_every_net_ends_within_the_fanout_and_every_sink_equally_deep(tmp_path):
    text, verilog = design()
    rows = Rows(text, SIZES, "fill")
    cells = buffering.directions(LEF, ports(verilog, tmp_path))
    assert cells.inputs == {"clk", "rst"} and cells.clocks == {"ff": {"CLK"}}
    new_def, new_verilog, inserted = buffering.build(rows, text, verilog, cells, TREES)
    nets = defdata.net_pins(new_def)
    assert all(len(pins) - 1 <= TREES.max_fanout for pins in nets.values())
    # 30 sinks, at most 4 per buffer: 8 groups, then 2 above them, then the port drives 2
    for net, cell in (("clk", "clkbuf"), ("rst", "buf")):
        mine = [b for b in inserted if b.net == net]
        assert len(mine) == 10 and {rows.cells[b.name].macro for b in mine} == {cell}
        assert all(b.clock == (net == "clk") and b.driver is None for b in mine)
        net_of = {pin: n for n, pins in nets.items() for pin in pins[1:]}
        depths = set()
        for k in range(30):
            at, depth = (f"ff{k}", "CLK" if net == "clk" else "RST"), 0
            while net_of[at] != net:
                buffer = nets[net_of[at]][0][0]  # a buffer's net lists its output first
                at, depth = (buffer, "A"), depth + 1
            depths.add(depth)
        assert depths == {2}
    # the netlist says what the DEF says
    connections = {
        (m.group(2), pin): net
        for m in re.finditer(r"^  (\S+) (\S+) \((.*)\);$", new_verilog, re.M)
        for pin, net in re.findall(r"\.(\w+)\(([^()]*)\)", m.group(3))
    }
    for net, pins in nets.items():
        for instance, pin in pins:
            if instance != "PIN":
                assert connections[(instance, pin)] == net
    assert all(f"  wire {n};" in new_verilog for n in nets if "_b" in n)
    # the buffers sit on free sites near their sinks
    amended = rows.amend(new_def)
    placed = defdata.components(amended)
    assert len(placed) == len(defdata.components(text)) + 20 - 3 * 20  # a buffer takes 3 fills
    Rows(amended, SIZES, "fill")  # raises on an overlap


def test_a_net_within_the_fanout_is_left_alone(tmp_path):
    text, verilog = design(flops=4)
    rows = Rows(text, SIZES, "fill")
    cells = buffering.directions(LEF, ports(verilog, tmp_path))
    new_def, new_verilog, inserted = buffering.build(rows, text, verilog, cells, TREES)
    assert inserted == [] and new_verilog == verilog
    assert defdata.net_pins(new_def) == defdata.net_pins(text)


def test_buffers_toggle_as_what_they_repeat():
    inserted = [
        buffering.Inserted("clk_buf0_0", "clk", True, None, ("ff0", "ff1")),
        buffering.Inserted("clk_buf0_1", "clk", True, None, ("gate0",)),
        buffering.Inserted("n5_buf0_0", "n5", False, "and3", ("ff2",)),
        buffering.Inserted("rst_buf0_0", "rst", False, None, ("ff0",)),
    ]
    cells = CellActivity({"and3": 0.3, "ff0": 0.1}, {"ff0": 0.25, "ff1": 0.5})
    found = buffering.with_buffers(cells, inserted)
    assert found.toggles["clk_buf0_0"] == 1.0  # twice the edges of its busiest flip-flop
    assert found.toggles["clk_buf0_1"] == 2.0  # no flip-flop known: the free-running clock
    assert found.toggles["n5_buf0_0"] == 0.3 and found.toggles["rst_buf0_0"] == 0.0
    assert found.clocks == cells.clocks


def test_a_pdk_config_without_buffer_trees_is_one_line(nano_config, tmp_path, monkeypatch):
    shipped = pdk.load_config(nano_config)[1]
    raw = yaml.safe_load(shipped.read_text())
    del raw["layout"]["buffer_trees"]
    (tmp_path / shipped.name).write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(pdk.resources, "files", lambda _package: Path(tmp_path))
    with pytest.raises(ConfigError, match=r"sky130hd.yaml: layout.buffer_trees: Field required"):
        pdk.load_config(nano_config)
