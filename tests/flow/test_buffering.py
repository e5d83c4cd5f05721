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
from econflow.pdk import Buffer, BufferTrees, ClockGate

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


GATE = ClockGate(cell="icg", clock="CLK", enable="GATE", gated="GCLK")
GATE_LEF = (
    LEF
    + """MACRO icg
  PIN CLK
    DIRECTION INPUT ;
    USE CLOCK ;
  END CLK
  PIN GATE
    DIRECTION INPUT ;
  END GATE
  PIN GCLK
    DIRECTION OUTPUT ;
  END GCLK
END icg
"""
)


def gated_design() -> tuple[str, str]:
    """24 flip-flops on ``clk``, and two clock gates on it each clocking 12 more."""
    text, verilog = design(flops=48, rows=8, sites=90)
    gates = "\n".join(f"- g{k} icg + PLACED ( {(72 + k * 6) * SITE} 0 ) N ;" for k in range(2))
    text = re.sub(r"- fill_0_(7[2-9]|8[0-3]) .*\n", "", text)
    text = text.replace("\nEND COMPONENTS", f"\n{gates}\nEND COMPONENTS")
    clk = (
        "- clk\n  ( PIN clk )\n"
        + "\n".join(f"  ( ff{k} CLK )" for k in range(24))
        + "\n  ( g0 CLK )\n  ( g1 CLK ) ;"
    )
    gated = [
        f"- gclk{g}\n  ( g{g} GCLK )\n"
        + "\n".join(f"  ( ff{k} CLK )" for k in range(24 + 12 * g, 36 + 12 * g))
        + " ;"
        for g in range(2)
    ]
    text = re.sub(r"- clk\n.*? ;", "\n".join([clk, *gated]), text, flags=re.S)
    text = re.sub(r"^NETS \d+ ;", f"NETS {len(defdata.net_pins(text))} ;", text, flags=re.M)
    for k in range(24, 48):
        verilog = verilog.replace(f"ff ff{k} (.CLK(clk),", f"ff ff{k} (.CLK(gclk{(k - 24) // 12}),")
    cells = "".join(f"  icg g{k} (.CLK(clk), .GATE(rst), .GCLK(gclk{k}));\n" for k in range(2))
    verilog = verilog.replace("endmodule", f"  wire gclk0;\n  wire gclk1;\n{cells}endmodule")
    return text, verilog


def clock_arrivals(def_text: str, delays: dict[str, float]) -> dict[str, float]:
    """Flip-flop -> the delay from the clock port to its clock pin, ``delays`` per macro."""
    nets = defdata.net_pins(def_text)
    net_of = {pin: n for n, pins in nets.items() for pin in pins[1:]}
    macro = {c.name: c.macro for c in defdata.components(def_text)}
    found = {}
    for ff in (name for name, m in macro.items() if m == "ff"):
        at, total = (ff, "CLK"), 0.0
        while (driver := nets[net_of[at]][0])[0] != "PIN":
            total += delays[macro[driver[0]]]
            at = (driver[0], "A" if macro[driver[0]] == "clkbuf" else "CLK")
        found[ff] = total
    return found


def test_flip_flops_behind_clock_gates_see_the_edge_with_the_others(tmp_path):
    text, verilog = gated_design()
    sizes = {**SIZES, "icg": (2.76, 2.72)}
    cells = buffering.directions(GATE_LEF, ports(verilog, tmp_path))
    delays = buffering.ClockDelays(buffer_ns=0.3, gate_ns=0.9, gate=GATE)
    per_macro = {"clkbuf": 0.3, "icg": 0.9}
    # without the gates' delays: a tree per net, the gated flip-flops later by the gate and
    # the level of its own tree
    rows = Rows(text, sizes, "fill")
    plain = buffering.build(rows, text, verilog, cells, TREES)[0]
    arrivals = clock_arrivals(rows.amend(plain), per_macro)
    assert max(arrivals.values()) - min(arrivals.values()) == pytest.approx(0.9 + 0.3)
    # balanced: behind a gate, 0.9 + one level of its own tree, 1.2 ns; the 24 direct ones
    # two levels of the tree and a chain of two clock buffers above it
    rows = Rows(text, sizes, "fill")
    balanced, rewired, inserted = buffering.build(rows, text, verilog, cells, TREES, delays)
    arrivals = clock_arrivals(rows.amend(balanced), per_macro)
    assert min(arrivals.values()) == pytest.approx(max(arrivals.values())) == pytest.approx(1.2)
    assert all(len(pins) - 1 <= TREES.max_fanout for pins in defdata.net_pins(balanced).values())
    assert sum(b.net == "clk" for b in inserted) == 8 + 2 + 2  # groups of 3, of 4, a chain
    assert all(f" {b.name} (" in rewired for b in inserted)


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
