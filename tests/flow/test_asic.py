"""Synthesis, timing, gate-level simulation, power and the report on sky130hd (micro design),
and their one-line errors."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from econflow import pdk
from econflow.cli import main
from econflow.config import load_config
from econflow.errors import (
    ConfigError,
    EconflowError,
    FormatError,
    PdkDataError,
    ToolMissingError,
)
from econflow.flow import (
    analysis,
    equivalence,
    fanout,
    gate_bench,
    gate_graph,
    job,
    netlist_seu,
    pipeline,
    power_model,
    project,
    tmr,
)
from econflow.flow.formats import activity, liberty, netlist
from econflow.models import artefacts as model_artefacts
from econflow.pdk import Buffer
from econflow.rtl import artefacts as rtl_artefacts
from econflow.verification import bulk
from econflow.verification.pipeline import second_model

MICRO = Path(__file__).parents[1] / "configs" / "micro.yaml"
NANO = Path(__file__).parents[1] / "configs" / "nano.yaml"
SECTIONS = (
    "Headline",
    "Design",
    "Compression quality",
    "HLS and RTL",
    "Bit-exactness and single-event upsets",
    "Area",
    "Timing",
    "Power and energy",
    "Runtime of each step",
    "Tool versions",
)


def flow_metrics(build: Path) -> dict:
    return json.loads((build / "flow" / "metrics.json").read_text())


def test_synthesis_keeps_every_tmr_copy(micro_build):
    synth = flow_metrics(micro_build)["synth"]
    rtl = json.loads((micro_build / "rtl" / "metrics.json").read_text())["rtl"]
    regs = rtl["registers"]
    assert rtl["pipeline_depth"] == 2  # micro.yaml: registers inside the arithmetic
    # Every copy kept (checked by name); synthesis drops pipeline bits that are constant.
    assert 3 * regs["protected_bits"] < synth["flip_flops"] <= regs["flip_flops"]
    assert synth["protected_bits"] == regs["protected_bits"] > 0
    assert synth["cells"] > synth["flip_flops"] and synth["area_um2"] > 0
    assert 0 < synth["tmr_copy_area_um2"] < synth["flip_flop_area_um2"] < synth["area_um2"]
    assert "sky130_fd_sc_hd__dfxtp_1" not in synth["flip_flop_cells"]  # dont-use from the PDK


def test_tmr_copies_are_checked_by_name(micro_build):
    """Every protected bit must keep three flip-flops; unprotected ones may go (constants)."""
    design = rtl_artefacts.load(micro_build)
    gates = netlist.read(micro_build / "flow" / "micro_encoder.vg", design.top)
    flops = [i.name for i in gates.instances if "df" in i.cell]
    protected = design.registers
    assert tmr.check_kept(flops, protected, "x.vg") == design.protected_bits == 135
    unprotected = [f for f in flops if "copy_" not in f]
    assert unprotected and tmr.check_kept(
        [f for f in flops if f != unprotected[0]], protected, "x.vg"
    )
    merged = next(f for f in flops if "/copy_b[" in f)
    reg, bit = merged.split("/")[0].removeprefix("r_"), merged.split("[")[1].split("]")[0]
    with pytest.raises(
        tmr.TmrLostError,
        match=rf"x.vg: protected bit {reg}\[{bit}\] has no flip-flop for copy_b .*"
        r"\(1 of 135 protected bits short",
    ):
        tmr.check_kept([f for f in flops if f != merged], protected, "x.vg")


def test_timing_per_corner(micro_build):
    sta = flow_metrics(micro_build)["sta"]
    assert sta["clock_period_ns"] == 25.0 and "post-synthesis" in sta["origin"]
    for corner in ("slow", "typical"):
        c = sta["corners"][corner]
        assert c["endpoints"] > 0 and math.isfinite(c["wns_ns"])
        assert c["meets"] == (c["wns_ns"] >= 0) == (c["violating_endpoints"] == 0)
        assert c["achievable_period_ns"] == pytest.approx(25.0 - c["wns_ns"], abs=1e-3)
        worst = c["worst_path"]
        assert worst["slack_ns"] == pytest.approx(c["wns_ns"], abs=1e-3)
        assert worst["start"] and worst["end"] and " -> " in worst["stage"]
    assert sta["latency_cycles"] == 3  # micro: two pipeline stages and the outputs
    assert sta["corners"]["slow"]["wns_ns"] < sta["corners"]["typical"]["wns_ns"]  # 1.40 V, -40 C


def test_a_clock_the_design_cannot_meet_is_reported(
    micro_build, micro_config, tmp_path, capsys, monkeypatch
):
    shutil.copytree(micro_build, tmp_path / "build", symlinks=True)
    monkeypatch.chdir(tmp_path)
    build = Path("build")  # relative, as `sc flow run` defaults to build/<design>
    fast = micro_config.design.model_copy(
        update={"hardware": micro_config.design.hardware.model_copy(update={"clock_mhz": 2000.0})}
    )
    cfg = micro_config.model_copy(update={"design": fast})
    result = pipeline._sta(cfg, build)
    assert result.clock_period_ns == 0.5
    typical = result.corners["typical"]
    assert not typical.meets and typical.violating_endpoints > 0
    assert "2000 MHz NOT met" in capsys.readouterr().out


def test_netlist_is_proved_equivalent_to_its_rtl(micro_build):
    """Each kept sum module once, then the top with the sums cut out; all sequential."""
    proof = flow_metrics(micro_build)["equivalence"]
    design = rtl_artefacts.load(micro_build)
    modules = {m["module"]: m for m in proof["modules"]}
    text = (micro_build / "flow" / "micro_encoder.vg").read_text()
    assert set(modules) == set(netlist.modules(text)) and len(modules) > 1
    assert all(m["equivalent"] and m["and_nodes"] > 0 for m in modules.values())
    top = modules.pop(design.top)
    assert top["instances"] == 1 and top["latches"] > 3 * design.protected_bits
    assert sum(m["instances"] for m in modules.values()) == len(netlist.read(
        micro_build / "flow" / "micro_encoder.vg", design.top).scopes)  # fmt: skip


@pytest.mark.parametrize(
    ("tail", "equivalent"),
    [
        ("Networks are equivalent.  Time =    13.69 sec", True),
        ("UNSATISFIABLE  Time =     0.83 sec", True),
        ("Networks are NOT EQUIVALENT after simulation.   Time =    20.99 sec", False),
        (
            'Output 0 of miter "miter" was asserted in frame 1. Time = 0.02 sec\nNetworks are not equivalent.',
            False,
        ),
        ("SATISFIABLE    Time =     0.95 sec", False),
    ],
)
def test_abc_verdicts_are_read_in_every_form_it_prints(tail, equivalent, tmp_path):
    output = "Reached local conflict limit (2000).\n" + tail
    assert equivalence._verdict(output, tmp_path / "abc.log")[0] is equivalent
    with pytest.raises(EconflowError, match="ABC decided nothing on the miter; see .*abc.log"):
        equivalence._verdict("Reached local conflict limit (2000).", tmp_path / "abc.log")


@pytest.mark.parametrize("where", ["sum", "top"])
def test_a_netlist_with_one_cell_swapped_is_refused(micro_build, micro_config, tmp_path, where):
    """One NAND made a NOR, in a kept sum or in the top: the proof names the module."""
    build = tmp_path / "build"
    shutil.copytree(micro_build / "rtl", build / "rtl")
    shutil.copytree(micro_build / "flow" / "liberty", build / "flow" / "liberty")
    design = rtl_artefacts.load(micro_build)
    source = micro_build / "flow" / "micro_encoder.vg"
    text = source.read_text()
    kept = sorted(set(netlist.modules(text)) - {design.top})
    module = design.top if where == "top" else kept[0]
    start, end = netlist.module_body(text, module)
    at = text.index("sky130_fd_sc_hd__nand2_1 ", start, end)
    swapped = text[:at] + "sky130_fd_sc_hd__nor2_1 " + text[at + len("sky130_fd_sc_hd__nand2_1 ") :]
    (build / "flow" / source.name).write_text(swapped)
    with pytest.raises(EconflowError, match=rf"differs from the RTL in \['{module}'\]"):
        next(s for s in pipeline.STEPS if s.name == "equiv").run(micro_config, build)


def test_gate_level_netlist_is_bit_exact(micro_build):
    gate = flow_metrics(micro_build)["gate_level"]
    assert gate["mismatches"] == 0 and gate["readback_errors"] == 0
    assert gate["distinct_vectors"] > 2000 and gate["vectors"] >= gate["distinct_vectors"]
    # every lane streams whole scrub intervals (micro: 16) in the activity window
    assert gate["lanes"] == 64 and gate["vectors"] % (64 * 16) == 0
    assert gate["icarus"]["vectors"] == 20 and gate["icarus"]["received"] == 20
    assert gate["icarus"]["mismatches"] == 0 and gate["icarus"]["readback_errors"] == 0
    assert gate["activity"]["cells"] > 1000 and 0 < gate["activity"]["mean_toggles_per_cycle"] < 2
    # micro gates its weight clocks (scrub every 16 cycles): those copies tick once in 16
    cells = activity.read(Path(gate["activity"]["file"]))
    weights = [e for cell, e in cells.clocks.items() if "/copy_" in cell and "_w_" in cell]
    others = [e for cell, e in cells.clocks.items() if "/copy_" not in cell]
    assert len(weights) > 300 and all(e == pytest.approx(1 / 16, abs=0.01) for e in weights)
    assert others and all(e == pytest.approx(1.0, abs=0.01) for e in others)
    halves = [activity.read(micro_build / "flow" / f"activity.half{k}.tsv") for k in (1, 2)]
    assert set(halves[0].toggles) == set(cells.toggles)
    assert halves[0].toggles != halves[1].toggles  # two vector sets, two activities


@pytest.fixture(scope="module")
def micro_graph(micro_build, sky130):
    source = micro_build / "flow" / "micro_encoder.vg"
    return gate_graph.build(netlist.read(source, "micro_encoder"), sky130[0], source)


def test_gate_level_check_sees_a_wrong_model(micro_build, micro_graph):
    """The same netlist and image against another model's expectations must mismatch."""
    model = model_artefacts.load(micro_build).load_quantized()
    _, holdout = model_artefacts.load(micro_build).load_dataset()
    design = rtl_artefacts.load(micro_build)
    run = gate_bench.run(micro_graph, design, second_model(model, 3), holdout[:64],
                         design.load_image())  # fmt: skip
    assert run.counts.received == 64 and run.counts.mismatches > 0
    right = gate_bench.run(micro_graph, design, model, holdout[:64], design.load_image())
    assert right.counts.exact and right.counts.mismatches == 0


def test_cycle_simulator_toggles_agree_with_icarus(micro_build, micro_graph, sky130, tmp_path):
    """Every lane streams the same 48 vectors, which Icarus streams with the PDK's models
    and dumps: a flip-flop's toggles agree to the one edge Icarus sees after the last
    vector; any other cell toggles no more than in Icarus (give or take a window's end),
    which also counts the changes half a cycle after each edge, before the testbench's
    inputs follow (zero-delay glitches of its timing)."""
    models = model_artefacts.load(micro_build)
    model, (_, holdout) = models.load_quantized(), models.load_dataset()
    design = rtl_artefacts.load(micro_build)
    charges = holdout[:48]
    source = micro_build / "flow" / "micro_encoder.vg"
    gates = netlist.read(source, design.top)
    run = gate_bench.run(micro_graph, design, model, charges, design.load_image(), window=48)
    counts = bulk.run(design, model, charges, design.load_image(), tmp_path, "icarus",
                      sources=[source, *sky130[1]], defines=pipeline.GATE_LEVEL_DEFINES,
                      vcd="activity.vcd", dump_scopes=gates.scopes)  # fmt: skip
    assert counts.exact and run.counts.exact and run.counts.vectors == 64 * 48
    measured = activity.read_vcd(tmp_path / "activity.vcd", 48)
    cells = liberty.cells(next((micro_build / "flow" / "liberty").glob("*.lib")))
    icarus = activity.per_cell(measured, gates.outputs({n: c.outputs for n, c in cells.items()}))
    ours = run.activity.toggles
    common = set(icarus) & set(ours)
    assert len(common) > 0.95 * len(ours)
    one = 1 / 48 + 1e-9
    flops = set(micro_graph.flops.names)
    assert all(0 <= icarus[c] - ours[c] <= one for c in common & flops)
    assert all(ours[c] <= icarus[c] + one for c in common)  # a clock's last edge: one more
    assert sum(ours[c] for c in common) > 0.7 * sum(icarus[c] for c in common)
    edges = activity.clock_edges(measured, _clock_pins(gates, cells))
    assert all(abs(edges[f] - run.activity.clocks[f]) <= one for f in flops)


def _clock_pins(gates: netlist.Netlist, cells: dict) -> dict:
    found = {}
    for inst in gates.instances:
        pin = cells[inst.cell].clock
        bit = netlist.net_bit(inst.pins.get(pin, "")) if pin else None
        if bit is not None:
            found[inst.name] = bit
    return found


def test_tmr_masks_every_upset_of_a_copy_in_the_netlist(micro_build):
    """micro (TMR config, scrub 16): 1,000 upsets of weight copies in the netlist: none
    reaches an output, each raises tmr_error, is counted once and is scrubbed within 16
    cycles. The shared nets are the single points of failure one-voter TMR leaves."""
    seu = flow_metrics(micro_build)["gate_level"]["seu"]
    up = seu["upsets"]
    assert seu["tmr"] == "config" and up["injections"] == 1000
    assert up["corrupted"] == 0 and up["flagged"] == 1000 and seu["upsets_persisting"] == 0
    assert up["protected_injections"] == up["corrected"] == up["counted_once"] == 1000
    assert 0 < up["correction_cycles_max"] <= 16
    sets = seu["transients"]
    assert set(sets) == {"voter output", "voter input", "write enable", "write data", "reset",
                         "clock gate"}  # fmt: skip
    assert all(t["injections"] == 63 for t in sets.values())
    assert sets["voter input"]["corrupted"] == 0 and sets["voter input"]["flagged"] == 63
    assert sets["write enable"]["corrupted"] > 0 and sets["write enable"]["persisting"] == 0
    assert sets["reset"]["persisting"] == 63  # a reset transient clears every copy


def test_an_upset_target_that_is_no_flip_flop_is_named(micro_build, micro_graph):
    design = rtl_artefacts.load(micro_build)
    run = gate_bench.run(micro_graph, design, model_artefacts.load(micro_build).load_quantized(),
                         model_artefacts.load(micro_build).load_dataset()[1][:64],
                         design.load_image())  # fmt: skip
    gates = netlist.read(micro_build / "flow" / "micro_encoder.vg", design.top)
    stream = gate_bench.charge_words(
        model_artefacts.load(micro_build).load_dataset()[1][:64],
        np.zeros((64, 64), np.int64) + np.arange(64), design.ports.charge_bits, 1,
    )  # fmt: skip
    campaign = netlist_seu.Campaign(run.sim, gates, design, design.load_image(), stream, 1)
    nand = next(i.name for i in gates.instances if "nand2" in i.cell)
    with pytest.raises(netlist_seu.SeuTargetError, match="a cell that is not a flip-flop"):
        campaign.upset_targets([nand])
    with pytest.raises(netlist_seu.SeuTargetError, match=r"'r_nothing\*' names no flip-flop"):
        campaign.upset_targets(["r_nothing*"])
    assert len(campaign.upset_targets(["r_conv_b_0/copy_a*"])) > 0


@pytest.mark.parametrize("scope", ["none", "full"])
def test_netlist_upsets_without_tmr_corrupt_and_with_full_tmr_do_not(nano_build, tmp_path, scope):
    """nano's netlist synthesized again without TMR (the control: upsets reach the outputs)
    and with every register triplicated (pipeline copies masked too)."""
    text = NANO.read_text().replace("hardware:\n", f"hardware:\n  tmr: {scope}\n")
    text = text.replace("  icarus_vectors: 20", "  icarus_vectors: 0\n  seu_upsets: 300")
    design_file = tmp_path / "nano.yaml"
    design_file.write_text(text)
    build = tmp_path / "build"
    shutil.copytree(nano_build / "models", build / "models")
    assert main(["flow", "run", str(design_file), "--build-dir", str(build),
                 "--steps", "rtl,synth,gatesim"]) == 0  # fmt: skip
    seu = flow_metrics(build)["gate_level"]["seu"]
    assert seu["tmr"] == scope and seu["upsets"]["injections"] == 300
    if scope == "none":
        assert seu["upsets"]["corrupted"] > 0 and seu["upsets"]["flagged"] == 0
        assert seu["upsets"]["protected_injections"] == 0
    else:
        assert seu["upsets"]["corrupted"] == 0 and seu["upsets_persisting"] == 0
        assert {"config", "pipeline"} <= set(seu["upsets"]["by_kind"])


def test_a_netlist_with_one_cell_swapped_fails_the_gate_level_step(
    micro_build, micro_config, tmp_path
):
    """One NAND of a kept sum made a NOR: the cycle simulator sees the outputs differ. The
    NAND is one cell from the sum's output, where the error is seen whenever its inputs
    differ (the sum's first NAND in the netlist can be one the vectors never tell from a
    NOR: 0 mismatches in 3,072 vectors on one micro netlist)."""
    build = tmp_path / "build"
    for folder in ("models", "rtl", "flow/liberty"):
        shutil.copytree(micro_build / folder, build / folder)
    design = rtl_artefacts.load(micro_build)
    text = (micro_build / "flow" / "micro_encoder.vg").read_text()
    modules = netlist.modules(text)
    kept = sorted(set(modules) - {design.top})
    last = modules[kept[-1]]
    output = next(p.name for p in last.ports if p.direction == "output")
    at_output = [
        i
        for i in last.instances
        if output in {(netlist.net_bit(v) or ("", None))[0] for v in i.pins.values()}
    ]
    feeding = {v for i in at_output for v in i.pins.values()}
    nand = next(
        i for i in last.instances if i.cell == "sky130_fd_sc_hd__nand2_1" and i.pins["Y"] in feeding
    )
    start, end = netlist.module_body(text, kept[-1])
    at = text.index(f"sky130_fd_sc_hd__nand2_1 {nand.name} ", start, end)
    swapped = text[:at] + "sky130_fd_sc_hd__nor2_1 " + text[at + len("sky130_fd_sc_hd__nand2_1 ") :]
    (build / "flow" / "micro_encoder.vg").write_text(swapped)
    shutil.copy(micro_build / "flow" / "micro_encoder.sdc", build / "flow")
    step = next(s for s in pipeline.STEPS if s.name == "gatesim")
    with pytest.raises(EconflowError, match=r"not bit-exact: [1-9]\d* mismatches"):
        step.run(micro_config, build)


def test_power_split_and_energy(micro_build):
    power = flow_metrics(micro_build)["power"]
    for key in ("internal_mw", "switching_mw", "leakage_mw"):
        assert power[key] > 0, key
    total = power["internal_mw"] + power["switching_mw"] + power["leakage_mw"]
    assert power["total_mw"] == pytest.approx(total, rel=1e-4)
    assert 0.1 < power["total_mw"] < 100  # a few thousand cells at 40 MHz
    assert power["energy_per_inference_nj"] == pytest.approx(power["total_mw"] * 25e-3, rel=1e-4)
    groups = power["groups_mw"]
    assert groups["sequential"]["total"] + groups["combinational"]["total"] == pytest.approx(
        power["total_mw"], rel=1e-4
    )


def test_power_is_measured_on_each_half_of_the_vectors(micro_build):
    power = flow_metrics(micro_build)["power"]
    first, second = power["halves_mw"]
    assert first != second, "both halves gave the same activity"
    # power is linear in the toggles: the whole window's is the mean of its halves'
    assert (first + second) / 2 == pytest.approx(power["total_mw"], rel=2e-3)
    assert power["spread_mw"] == pytest.approx(abs(first - second) / 2, rel=1e-3)
    assert "dependence on the vectors" in (micro_build / "report" / "report.md").read_text()


def test_report_has_every_section(micro_build):
    report = micro_build / "report"
    md = (report / "report.md").read_text()
    html = (report / "report.html").read_text()
    for title in SECTIONS:
        assert f"## {title}" in md and f"<h2>{title}</h2>" in html, title
    for figure in ("emd_histogram", "emd_vs_occupancy", "area", "timing", "power", "runtime"):
        assert (report / "figures" / f"{figure}.png").stat().st_size > 1000, figure
        assert f"figures/{figure}.png" in md
    assert "post-synthesis" in md and "flow/gatesim" in md and "nJ" in md


def test_power_model_weights_cells_by_their_toggles():
    active = {"a": (2.0, 4.0, 0.1), "q": (3.0, 1.0, 0.2)}
    idle = {"a": (0.0, 0.0, 0.1), "q": (1.0, 0.0, 0.2)}
    kinds = {"a": "combinational", "q": "sequential"}
    cells = power_model.CellPower.of(active, idle)
    groups = power_model.combine(cells, {"a": 0.5, "q": 0.25}, kinds)
    assert groups["combinational"] == pytest.approx(
        {"internal": 1.0, "switching": 2.0, "leakage": 0.1, "total": 3.1}
    )
    assert groups["sequential"]["internal"] == pytest.approx(1.5)
    assert groups["total"]["total"] == pytest.approx(3.1 + 1.5 + 0.25 + 0.2)
    # a flip-flop behind a clock gate open one cycle in 16: its clock pin's power counts 1/16
    gated = power_model.combine(cells, {"a": 0.5, "q": 0.0}, kinds, {"q": 1 / 16})
    assert gated["sequential"]["internal"] == pytest.approx(1.0 / 16)
    assert gated["combinational"] == groups["combinational"]
    # the clock gate driving it: its output net, a clock to OpenSTA, switches 1 cycle in 16
    active["g"], idle["g"] = (0.5, 2.0, 0.0), (0.5, 2.0, 0.0)
    cells = power_model.CellPower.of(active, idle)
    gate = power_model.combine(cells, {"g": 2 / 16}, {"g": "gate"}, {}, {"g": 1 / 16})
    assert gate["gate"]["switching"] == pytest.approx(2.0 / 16)
    assert gate["gate"]["internal"] == pytest.approx(0.5)  # its clock pin sees every edge


def test_vcd_toggles_per_cell(tmp_path):
    vcd = tmp_path / "a.vcd"
    vcd.write_text(
        '$scope module dut $end\n$var wire 1 ! _1_ $end\n$var wire 3 " bus [2:0] $end\n'
        "$var wire 1 # \\odd[1] $end\n$upscope $end\n$enddefinitions $end\n"
        '#0\n$dumpvars\n0!\nb000 "\n1#\n$end\n#10\n1!\nb101 "\n#20\n0!\nb1 "\n0#\n'
        "#30\n$dumpoff\nx!\n$end\n"
    )
    measured = activity.read_vcd(vcd, cycles=2)
    assert measured.toggles == {
        ("_1_", None): 2,
        ("bus", 0): 1,
        ("bus", 1): 0,
        ("bus", 2): 2,
        ("odd[1]", None): 1,
    }
    text = (
        "module top(a, y);\n  input a;\n  output [1:0] y;\n"
        '  (* src = "x" *)\n  sky130_fd_sc_hd__inv_1 _1_ (\n    .A(a),\n    .Y(_1_)\n  );\n'
        "  sky130_fd_sc_hd__dfrtp_1 \\odd[1]$_DFF_  (\n    .D(_1_),\n    .Q(bus[2])\n  );\n"
        "endmodule\n"
    )
    path = tmp_path / "top.vg"
    path.write_text(text)
    parsed = netlist.read(path, "top")
    outputs = parsed.outputs(
        {"sky130_fd_sc_hd__inv_1": frozenset({"Y"}), "sky130_fd_sc_hd__dfrtp_1": frozenset({"Q"})}
    )
    assert outputs == {"_1_": [("_1_", None)], "odd[1]$_DFF_": [("bus", 2)]}
    assert activity.per_cell(measured, outputs) == {"_1_": 1.0, "odd[1]$_DFF_": 1.0}


def test_kept_modules_are_flattened_with_their_instance_path(tmp_path):
    """A module synthesis kept (a sum) is read as its cells under the instance's path, its
    ports joined to the nets the instance connects, constants included; the activity of its
    nets, dumped in its own scope, lands on the same names."""
    text = (
        "module top(a, y);\n  input [1:0] a;\n  output [2:0] y;\n"
        "  sum u_s_0 (\n    .x({ \\a[1] , a[0] }),\n    .q({ 1'h0, \\y[1] , y[0] })\n  );\n"
        "endmodule\n"
        "module sum(x, q);\n  input [1:0] x;\n  output [2:0] q;\n  wire _1_;\n"
        "  sky130_fd_sc_hd__nand2_1 _2_ (\n    .A(x[0]),\n    .B(x[1]),\n    .Y(_1_)\n  );\n"
        "  sky130_fd_sc_hd__inv_1 _3_ (\n    .A(_1_),\n    .Y(q[1])\n  );\n"
        "  sky130_fd_sc_hd__inv_1 _4_ (\n    .A(q[2]),\n    .Y(q[0])\n  );\n"
        "endmodule\n"
    )
    path = tmp_path / "top.vg"
    path.write_text(text)
    parsed = netlist.read(path, "top")
    assert parsed.scopes == ("u_s_0",)
    by_name = {i.name: i for i in parsed.instances}
    assert set(by_name) == {"u_s_0/_2_", "u_s_0/_3_", "u_s_0/_4_"}
    pins = {p: netlist.net_bit(e) for p, e in by_name["u_s_0/_2_"].pins.items()}
    assert pins == {"A": ("a", 0), "B": ("a[1]", None), "Y": ("u_s_0/_1_", None)}
    assert netlist.net_bit(by_name["u_s_0/_3_"].pins["Y"]) == ("y[1]", None)
    assert netlist.net_bit(by_name["u_s_0/_4_"].pins["A"]) is None  # the constant
    vcd = tmp_path / "a.vcd"
    vcd.write_text(
        "$timescale 1ps $end\n$scope module tb $end\n$scope module dut $end\n"
        "$var wire 2 ! a [1:0] $end\n$scope module u_s_0 $end\n$var wire 2 ! x [1:0] $end\n"
        '$var wire 1 " _1_ $end\n$upscope $end\n$upscope $end\n$upscope $end\n'
        '$enddefinitions $end\n#0\n$dumpvars\nb00 !\n1"\n$end\n#10\nb11 !\n0"\n'
    )
    measured = activity.read_vcd(vcd, cycles=1)
    assert measured.toggles == {
        ("a", 0): 1, ("a", 1): 1, ("u_s_0/x", 0): 1, ("u_s_0/x", 1): 1, ("u_s_0/_1_", None): 1
    }  # fmt: skip
    outputs = parsed.outputs({"sky130_fd_sc_hd__nand2_1": frozenset({"Y"})})
    assert activity.per_cell(measured, outputs) == {"u_s_0/_2_": 1.0}
    assert netlist.bits_of("{ c[3:2] , 2'h1 }") == ["1'b1", "1'b0", "c[2]", "c[3]"]
    assert netlist.bits_of("c", {"c": (1, 0)}) == ["c[0]", "c[1]"]  # a whole vector
    path.write_text(text.replace("{ 1'h0, ", "{ "))
    with pytest.raises(FormatError, match="connects 2 bits to port q of sum"):
        netlist.read(path, "top")


def test_a_one_bit_vector_read_whole_is_its_bit(tmp_path):
    """Yosys declares a one-bit port ``[0:0]`` and reads it as ``en``: the same net bit as the
    ``en[0]`` the instance connects."""
    path = tmp_path / "top.vg"
    path.write_text(
        "module top(v);\n  input v;\n  s u_s_0 (\n    .en({ \\v  })\n  );\nendmodule\n"
        "module s(en);\n  input [0:0] en;\n  wire [0:0] en;\n"
        "  sky130_fd_sc_hd__inv_1 _1_ (\n    .A(en),\n    .Y(_2_)\n  );\nendmodule\n"
    )
    (inv,) = netlist.read(path, "top").instances
    assert netlist.net_bit(inv.pins["A"]) == ("v", None)


def test_nets_into_kept_modules_are_buffered_above_the_load_limit(tmp_path):
    """A top-level net is split behind buffers, whole module instances per buffer, when the
    input capacitance behind the ports it feeds exceeds the limit; a net under it stays."""
    readers = "".join(
        f"  sky130_fd_sc_hd__inv_1 _{k}_ (\n    .A(x[0]),\n    .Y(q[{k}])\n  );\n"
        for k in range(10)
    )
    sums = "".join(
        f"  sum u_s_{j} (\n    .x({{ \\a[1] , a[0] }}),\n"
        f"    .q({{ {' , '.join(f'y{j}[{k}]' for k in range(10))} }})\n  );\n"
        for j in range(3)
    )
    text = (
        "module top(a);\n  input [1:0] a;\n" + sums + "endmodule\n"
        "module sum(x, q);\n  input [1:0] x;\n  output [9:0] q;\n" + readers + "endmodule\n"
    )
    path = tmp_path / "top.vg"
    path.write_text(text)
    buffer = Buffer(cell="sky130_fd_sc_hd__buf_6", input="A", output="X")
    cells = {
        name: liberty.Cell(1.0, frozenset({out}), False, None, {"A": cap})
        for name, out, cap in (
            ("sky130_fd_sc_hd__inv_1", "Y", 0.002),  # 10 per sum instance: 0.02 pF
            ("sky130_fd_sc_hd__buf_6", "X", 0.0046),
        )
    }
    assert fanout.buffer(path, "top", buffer, 0.045, cells) == 2  # 0.02 + 0.02, then 0.02
    parsed = netlist.read(path, "top")
    buffers = {i.name: i for i in parsed.instances if i.cell == buffer.cell}
    assert sorted(buffers) == ["a[0]$fanout0$buf", "a[0]$fanout1$buf"]
    assert {netlist.net_bit(b.pins["A"]) for b in buffers.values()} == {("a", 0)}
    driven = {
        i.name.split("/")[0]: netlist.net_bit(i.pins["A"])
        for i in parsed.instances
        if i.cell != buffer.cell
    }
    assert driven == {
        "u_s_0": ("a[0]$fanout0", None),
        "u_s_1": ("a[0]$fanout0", None),
        "u_s_2": ("a[0]$fanout1", None),
    }
    assert "\\a[1] " in path.read_text()  # 3 instances, no pins behind x[1]: unbuffered
    assert fanout.buffer(path, "top", buffer, 0.045, cells) == 0  # already split
    path.write_text(text)  # 0.01 pF, two buffer inputs: three buffers, then two above them
    assert fanout.buffer(path, "top", buffer, 0.01, cells) == 5
    drivers = {
        i.name: netlist.net_bit(i.pins["A"])
        for i in netlist.read(path, "top").instances
        if i.cell == buffer.cell
    }
    assert drivers == {
        "a[0]$fanout_l1_0$buf": ("a", 0),
        "a[0]$fanout_l1_1$buf": ("a", 0),
        "a[0]$fanout0$buf": ("a[0]$fanout_l1_0", None),
        "a[0]$fanout1$buf": ("a[0]$fanout_l1_0", None),
        "a[0]$fanout2$buf": ("a[0]$fanout_l1_1", None),
    }
    top_cells = "".join(
        f"  sky130_fd_sc_hd__inv_1 _t{k}_ (\n    .A(a[0]),\n    .Y(z[{k}])\n  );\n"
        for k in range(3)
    )
    path.write_text(text.replace("endmodule", top_cells + "endmodule", 1))
    # the net drives its 3 cells and one buffer: three, two above them, one above those
    assert fanout.buffer(path, "top", buffer, 0.01, cells) == 6


def test_prepared_liberty_names_the_supply_and_knows_the_flops(micro_config, tmp_path):
    data = pdk.open_pdk(micro_config, tmp_path)
    lib = data.prepared_liberty("typical", tmp_path / "liberty")
    text = lib.read_text()
    assert text.count("internal_power () {") == text.count('related_pg_pin : "VPWR";') > 1000
    cells = liberty.cells(lib)
    assert cells["sky130_fd_sc_hd__dfrtp_1"].sequential
    assert cells["sky130_fd_sc_hd__dfrtp_1"].clock == "CLK"
    assert not cells["sky130_fd_sc_hd__nand2_1"].sequential
    assert cells["sky130_fd_sc_hd__nand2_1"].outputs == {"Y"}
    assert set(cells["sky130_fd_sc_hd__nand2_1"].capacitance) == {"A", "B"}
    assert 0.001 < cells["sky130_fd_sc_hd__nand2_1"].capacitance["A"] < 0.01  # pF
    assert cells["sky130_fd_sc_hd__fa_1"].outputs == {"COUT", "SUM"}


def test_unknown_pdk_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MICRO.read_text() + "\npdk:\n  name: gf12\n")
    with pytest.raises(
        ConfigError, match=r"bad.yaml: pdk.name: unknown PDK 'gf12'; pdk_configs/ holds sky130hd"
    ):
        pdk.open_pdk(load_config(bad), tmp_path)


def test_missing_library_data_is_one_clear_error(micro_config, tmp_path, monkeypatch):
    root = Path(os.environ[pdk.DATA_VARIABLE])
    monkeypatch.delenv(pdk.DATA_VARIABLE)
    with pytest.raises(PdkDataError, match=r"set ECONFLOW_LAMBDAPDK .* or set pdk.download: true"):
        pdk.open_pdk(micro_config, tmp_path)
    partial = tmp_path / "lambdapdk"
    shutil.copytree(root, partial, ignore=shutil.ignore_patterns("*ss_n40C*"))
    monkeypatch.setenv(pdk.DATA_VARIABLE, str(partial))
    with pytest.raises(PdkDataError, match=r"incomplete .* missing .*ss_n40C_1v40.lib.gz"):
        pdk.open_pdk(micro_config, tmp_path / "work")


def test_missing_opensta_is_named(micro_build, micro_config, tmp_path, monkeypatch):
    build = tmp_path / "build"
    shutil.copytree(micro_build, build, symlinks=True)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    with pytest.raises(
        ToolMissingError,
        match=r"sta not found: timing and power analysis run OpenSTA \(Debian package opensta\)",
    ):
        pipeline._sta(micro_config, build)


def test_too_old_opensta_is_refused(micro_build, micro_config, tmp_path, monkeypatch):
    build = tmp_path / "build"
    shutil.copytree(micro_build, build, symlinks=True)
    fake = tmp_path / "bin" / "sta"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 1.9.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{Path(sys.executable).parent}:/usr/bin:/bin")
    with pytest.raises(project.FlowStepError, match=r"step 'timing' failed .*version"):
        pipeline._sta(micro_config, build)


def test_a_failing_siliconcompiler_step_names_the_step_and_its_log(
    micro_build, micro_config, tmp_path
):
    build = tmp_path / "build"
    shutil.copytree(micro_build / "rtl", build / "rtl")
    top = build / "rtl" / "micro_encoder.v"
    top.write_text(top.read_text().replace("endmodule", "endmodule garbage", 1))
    with pytest.raises(
        project.FlowStepError, match=r"SiliconCompiler step 'elaborate' failed .*; log: .*elaborate"
    ):
        pipeline._synth(micro_config, build)


def test_yosys_launcher_runs_tcl_scripts(tmp_path):
    source = Path(__file__).parents[2] / "rtl" / "lib" / "econflow_majority.v"
    script = tmp_path / "s.tcl"
    script.write_text(
        f"yosys read_verilog {source}\n"
        "set listing [yosys tee -q -s result.string ls]\n"
        'puts "MODULES [string trim $listing]"\n'
        "yosys no_such_pass\n"
        'puts "NOT REACHED"\n'
    )
    yosys = shutil.which("yosys") or str(Path(sys.executable).parent / "yosys")
    result = subprocess.run([yosys, "-c", str(script)], capture_output=True, text=True)
    assert "MODULES 1 modules:\n  econflow_majority" in result.stdout
    assert result.returncode == 1 and "NOT REACHED" not in result.stdout
    assert "ERROR: No such command: no_such_pass" in result.stdout + result.stderr


def test_sc_tools_lists_every_tool(capsys):
    assert main(["tools"]) == 0
    out = capsys.readouterr().out
    tools = ("g++", "iverilog", "verilator", "yosys", "sta", "graywolf", "qrouter", "qflow")
    for name in (*tools, "klayout", "openroad"):
        assert f"\n{name} " in out, name
    assert "not found" not in out.split("openroad")[0]  # everything but OpenROAD is installed


def test_abc_scripts_go_to_generic_abc_and_to_cell_mapping(monkeypatch):
    from econflow import tools

    monkeypatch.setenv(tools.ABC_SCRIPT_VARIABLE, "+strash;map")
    monkeypatch.setenv(tools.MAP_SCRIPT_VARIABLE, "+strash;map;buffer")
    assert tools._with_abc_script(["abc"]) == ["abc", "-script", "+strash;map"]
    assert tools._with_abc_script(["abc", "-script", "y"]) == ["abc", "-script", "y"]
    mapped = ["abc", "-liberty", "x.lib", "-script", "+strash;map;buffer"]
    assert tools._with_abc_script(["abc", "-liberty", "x.lib"]) == mapped
    assert tools._with_abc_script(["abc", "-script", "+dch", "-liberty", "x.lib"]) == mapped
    assert tools._with_abc_script(["opt"]) == ["opt"]


def test_editing_the_pdk_config_reruns_the_flow_steps(micro_build, tmp_path, monkeypatch):
    from econflow.runner import Runner

    cfg = load_config(MICRO)
    runner = Runner(cfg, micro_build)
    steps = ("synth", "sta", "gatesim", "power")
    before = {name: runner.provenance.consumed(runner.steps[name]) for name in steps}
    edited = tmp_path / "sky130hd.yaml"
    config, path = pdk.load_config(cfg)
    edited.write_text(path.read_text().replace("uncertainty_ns: 0.25", "uncertainty_ns: 0.5"))
    monkeypatch.setattr(pdk, "load_config", lambda _cfg: (config, edited))
    for name in steps:
        assert runner.provenance.consumed(runner.steps[name]) != before[name], name


def test_adder_cells_are_mapped_when_the_pdk_config_asks(micro_build, micro_config):
    from dataclasses import replace

    from siliconcompiler.tools.yosys.syn_asic import ASICSynthesis

    design, found, _ = job.project_for(micro_config, micro_build)
    sdc = job.flow_paths(micro_config, micro_build).sdc
    for wanted in (False, True):
        synthesis = found.config.synthesis.model_copy(update={"map_adders": wanted})
        config = found.config.model_copy(update={"synthesis": synthesis})
        built = project.Project(design, replace(found, config=config), sdc, micro_build / "flow")
        assert ASICSynthesis.find_task(built.asic).get("var", "map_adders") is wanted


def test_activity_is_counted_apart_in_consecutive_windows(tmp_path):
    vcd = tmp_path / "c.vcd"
    vcd.write_text(  # 1 ns ticks, 10 ns cycles; gclk runs in the first cycle only
        "$timescale\n\t1ns\n$end\n$scope module dut $end\n$var wire 1 ! clk $end\n"
        "$var wire 1 # gclk $end\n$upscope $end\n$enddefinitions $end\n#100\n$dumpvars\n"
        "0!\n0#\n$end\n"
        + "".join(
            f"#{100 + 10 * k + 5}\n1!\n{'1#' if k == 0 else ''}\n#{100 + 10 * k + 10}\n0!\n"
            f"{'0#' if k == 0 else ''}\n"
            for k in range(4)
        )  # fmt: skip
        + "#140\n$dumpoff\n$end\n"
    )
    halves = activity.read_vcd_parts(vcd, 4, 2, period_ns=10.0)
    clocks = {"ff": ("clk", None), "gated": ("gclk", None)}
    edges = [activity.clock_edges(h, clocks) for h in halves]
    assert [h.cycles for h in halves] == [2, 2]
    assert edges == [{"ff": 1.0, "gated": 0.5}, {"ff": 1.0, "gated": 0.0}]
    assert activity.joined(halves).toggles == activity.read_vcd(vcd, cycles=4).toggles


def test_clock_edges_follow_each_flip_flops_clock_pin(tmp_path):
    vcd = tmp_path / "c.vcd"
    vcd.write_text(
        "$scope module dut $end\n$var wire 1 ! clk $end\n$var wire 1 # gclk $end\n"
        "$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n0!\n0#\n$end\n"
        + "".join(
            f"#{10 * k + 5}\n1!\n{'1#' if k == 1 else ''}\n#{10 * k + 10}\n0!\n"
            f"{'0#' if k == 1 else ''}\n"
            for k in range(4)
        )  # fmt: skip
        + "#50\n$dumpoff\n$end\n"
    )
    measured = activity.read_vcd(vcd, cycles=4)
    edges = activity.clock_edges(measured, {"ff": ("clk", None), "gated": ("gclk", None)})
    assert edges == {"ff": 1.0, "gated": 0.25}
    cells = activity.CellActivity({"ff": 0.5, "inv": 0.25}, edges)
    path = tmp_path / "activity.tsv"
    activity.write(cells, path)
    assert activity.read(path) == activity.CellActivity({"ff": 0.5, "inv": 0.25}, {"ff": 1.0})
    assert cells.renamed({"ff_placed": "ff"}).clocks == {"ff_placed": 1.0}


def test_path_ends_are_named_by_their_pipeline_point(micro_build):
    design = rtl_artefacts.load(micro_build)
    points = design.description.points
    stage = next(r for r in design.registers if r.kind == "pipeline" and r.name != "valid")
    index = int(stage.name.rsplit("_s", 1)[1])
    assert analysis.locate(f"{stage.name}[0]$_DFFE_PN0P_", design) == points[index - 1]
    assert analysis.locate(f"r_{stage.name}/q[1]$_DFFE_PN0P_", design) == points[index - 1]
    tree = next(r for r in design.registers if "/" in r.instance)  # a level inside a sum
    local = tree.instance.split("/")[1].removeprefix("r_")
    index = int(local.rsplit("_s", 1)[1])
    assert analysis.locate(f"u_conv_3/{local}[2]$_DFFE_PN0P_", design) == points[index - 1]
    assert analysis.locate(f"{tree.instance}/q[2]$_DFFE_PN0P_", design) == points[index - 1]
    assert analysis.locate("charges[57]", design) == "inputs"
    assert analysis.locate("latent[3]$_DFFE_PN0P_", design) == "out"
    weight = next(r.name for r in design.registers if r.kind == "config")
    assert analysis.locate(f"r_{weight}/copy_b[0]$_DFF_PN0_", design) == "configuration"
    assert analysis.locate("cfg_rdata[5]", design) == "configuration read"
    assert analysis.locate("r_cfg_rdata/q[2]$_DFF_PN0_", design) == "configuration read"
    assert analysis.locate("u_conv_0/acc[3]$_DFFE_PN0P_", design) == "conv_t4"  # micro: registered
    assert analysis.locate("u_dense_1/acc[3]$_DFFE_PN0P_", design) == "?"  # micro: not registered
    assert analysis.locate("_12345_", design) == "?"
    first, second = design.description.pipeline[:2]  # micro: two stages, then the outputs
    assert analysis._stage("inputs", "?", design) == f"inputs -> {first}"
    assert analysis._stage(first, "?", design) == f"{first} -> {second}"
    report = (micro_build / "report" / "report.md").read_text().split("## Timing")[1]
    assert "slow: worst path | stage " in report and "| latency | 3 cycle(s) = 75.0 ns" in report


def test_power_is_broken_down_by_block(micro_build):
    power = flow_metrics(micro_build)["power"]
    by_block = power["blocks_mw"]
    for block in ("normalizer", "conv products and sums", "dense products and sums",
                  "pipeline registers", "configuration registers", "voters", "clock gating"):  # fmt: skip
        assert by_block[block]["total"] > 0, block
    assert sum(b["total"] for b in by_block.values()) == pytest.approx(power["total_mw"], rel=1e-4)
    report = (micro_build / "report" / "report.md").read_text()
    assert "figures/power_blocks.png" in report and "| power of the normalizer |" in report
