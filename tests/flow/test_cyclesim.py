"""The cycle simulator: each cell's and-inverter logic against its liberty function, small
netlists through the graph and the kernels, and the netlists it refuses."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from econflow.errors import FormatError
from econflow.flow import cell_logic, gate_graph
from econflow.flow.cell_logic import Kind, Operand, Template
from econflow.flow.cyclesim import CycleSim, pack
from econflow.flow.formats import liberty_function, netlist
from econflow.flow.formats.liberty import attribute, group_name

HD = "sky130_fd_sc_hd__"


def _value(t: Template, operand: Operand, pins: dict[str, bool], state: bool) -> bool:
    kind, index, inverted = operand
    if kind == Kind.CONST:
        found = False
    elif kind == Kind.PIN:
        found = pins[t.pins[index]]
    elif kind == Kind.STATE:
        found = state
    else:
        a, b = t.ands[index]
        found = _value(t, a, pins, state) and _value(t, b, pins, state)
    return found != inverted


def test_every_cell_logic_equals_its_liberty_function(sky130):
    """The whole truth table of every output (and of a flip-flop's next state, for both
    states): the simulator's logic is the liberty's, which the cell-model proof ties to the
    PDK's own models."""
    cells, _ = sky130
    checked, refused = 0, []
    for name, cell in cells.items():
        try:
            t = cell_logic.template(cell)
        except FormatError as exc:
            assert name in str(exc)
            refused.append(name)
            continue
        pins = {group_name(p): p for p in cell.get_groups("pin")}
        functions = {
            pin: liberty_function.parse(attribute(pins[pin], "function"))
            for pin in t.outputs
            if t.role != "clock_gate"
        }
        if t.role == "flop":
            ff = cell.get_groups("ff")[0]
            functions["next"] = liberty_function.parse(attribute(ff, "next_state"))
            states = [str(a).strip('"') for a in ff.args]
        for levels in itertools.product((False, True), repeat=len(t.pins)):
            for state in (False, True) if t.role == "flop" else (False,):
                values = dict(zip(t.pins, levels, strict=True))
                if t.role == "flop":
                    values |= {states[0]: state, states[1]: not state}
                for pin, expr in functions.items():
                    operand = t.next_state if pin == "next" else t.outputs[pin]
                    assert _value(t, operand, values, state) == expr.evaluate(values), (
                        name,
                        pin,
                        values,
                    )
        checked += 1
    assert checked > 380, "most of the library went unchecked"
    # latches, negative-edge flip-flops, both clear and preset, tri-state outputs: 39 cells
    kinds = ("__dl", "latch", "__dfbb", "__sdfbb", "rtn_", "__ebuf", "__einv", "isolatch")
    assert refused and all(any(k in name for k in kinds) for name in refused), refused
    assert len(refused) < 45


GATED = f"""
module top(clk, rst_n, en, d, q, qn);
  input clk;
  input rst_n;
  input en;
  input d;
  output q;
  output qn;
  {HD}dlclkp_1 icg (.CLK(clk), .GATE(en), .GCLK(gclk));
  {HD}clkbuf_1 cb (.A(gclk), .X(gbuf));
  {HD}inv_1 i0 (.A(d), .Y(dn));
  {HD}dfrtp_1 r (.CLK(gbuf), .D(dn), .RESET_B(rst_n), .Q(q));
  {HD}inv_1 i1 (.A(q), .Y(qn));
endmodule
"""


def _graph(tmp_path: Path, text: str, sky130) -> gate_graph.GateGraph:
    source = tmp_path / "top.vg"
    source.write_text(text)
    return gate_graph.build(netlist.read(source, "top"), sky130[0], source)


def test_a_gated_flip_flop_takes_its_data_only_after_an_enabled_cycle(tmp_path, sky130):
    graph = _graph(tmp_path, GATED, sky130)
    assert len(graph.flops.state) == 1 and len(graph.gates.node) == 1
    sim = CycleSim(graph)
    rng = np.random.default_rng(1)
    lane_bits = lambda: rng.integers(0, 2, 64)  # noqa: E731
    sim.cycle({"rst_n": pack(np.zeros(64), 1, 1)})
    q = np.zeros(64, np.int64)
    for _ in range(40):
        en, d = lane_bits(), lane_bits()
        sim.set("rst_n", pack(np.ones(64), 1, 1))
        sim.set("en", pack(en, 1, 1))
        sim.set("d", pack(d, 1, 1))
        sim.settle()
        sim.count()
        got = np.unpackbits(sim.read("q").view(np.uint8), bitorder="little")
        inverse = np.unpackbits(sim.read("qn").view(np.uint8), bitorder="little")
        assert (got == q).all() and (inverse == 1 - q).all()
        sim.edge()
        q = np.where(en == 1, 1 - d, q)  # the inverted data, when the clock ticked
    edges = sim.clock_edges.sum() / (sim.counted_cycles * 64)
    assert 0.4 < edges < 0.6  # the enable is high half the time


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{HD}nand2_1 g (.A(a), .B(floating), .Y(y));", r"net floating, read by a .*nand2_1.* no driver"),
        (f"{HD}nand9_1 g (.A(a), .B(a), .Y(y));", r"cell sky130_fd_sc_hd__nand9_1 \(instance g\) is not in the liberty"),
        (f"{HD}nand2_1 g (.A(a), .B(w), .Y(y));\n  {HD}inv_1 h (.A(y), .Y(w));", "a combinational loop through"),
        (f"{HD}and2_1 g (.A(a), .B(a), .X(w));\n  {HD}dfrtp_1 r (.CLK(w), .D(a), .RESET_B(a), .Q(y));",
         r"the clock of r .* is not a clock port or a clock gate's output"),
        (f"{HD}dlxtp_1 l (.GATE(a), .D(a), .Q(y));", r"dlxtp_1: the cycle simulator cannot model it: a latch"),
        (f"{HD}inv_1 g (.A(a), .Y(y));\n  {HD}inv_1 h (.A(a), .Y(y));", r"net y has 2 drivers"),
        (f"{HD}nand2_1 g (.A(a), .Y(y));", r"instance g .*: input pin B is not connected"),
    ],
)  # fmt: skip
def test_a_netlist_the_simulator_cannot_take_is_refused_by_name(tmp_path, sky130, body, message):
    text = f"module top(a, y);\n  input a;\n  output y;\n  {body}\nendmodule\n"
    with pytest.raises(FormatError, match=message):
        _graph(tmp_path, text, sky130)


def test_a_transient_reaches_what_the_edge_captures_and_no_further(tmp_path, sky130):
    """Inverting the data input for one cycle on one lane: the flip-flop captures it (if its
    clock ticks). Inverting the flip-flop's output net: its reader sees it, its state stays."""
    graph = _graph(tmp_path, GATED, sky130)
    sim = CycleSim(graph)
    ones = pack(np.ones(64), 1, 1)
    sim.cycle({"rst_n": ones, "en": ones, "d": ones})  # q = !d = 0 on every lane
    lane3 = np.array([np.uint64(1) << np.uint64(3)], np.uint64)
    d_node = int(graph.inputs["d"][0])
    sim.settle({d_node: lane3})
    sim.edge()
    sim.settle()
    q = np.unpackbits(sim.read("q").view(np.uint8), bitorder="little")
    assert q[3] == 1 and q.sum() == 1
    sim.set("en", pack(np.zeros(64), 1, 1))  # hold: the state only changes by a flip now
    state = int(graph.flops.state[0])
    sim.settle({state: lane3})
    qn = np.unpackbits(sim.read("qn").view(np.uint8), bitorder="little")
    assert qn[3] == 1  # the output net read inverted: q back to 0 for its reader
    sim.edge()
    sim.settle()
    q = np.unpackbits(sim.read("q").view(np.uint8), bitorder="little")
    assert q[3] == 1 and q.sum() == 1  # the flip-flop kept its 1
