"""Pipeline placement: the planner's choice is the best balance, or the fewest flip-flops
when the clock can be met, ``auto`` takes the shallowest pipeline that meets the clock, and
the cell delays come from the PDK's liberty."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from econflow import pdk
from econflow.cli import main
from econflow.config import HardwareSection, load_config
from econflow.errors import ConfigError
from econflow.rtl import pipeline as rtl_pipeline
from econflow.rtl import stages, structure, timing
from econflow.rtl.stages import Budget, PipelineError
from econflow.rtl.timing import CellDelays

TINY = Path(__file__).parents[1] / "configs" / "tiny.yaml"
DELAYS = CellDelays(corner="slow", gate_ns=0.2, clock_to_q_ns=1.3, setup_ns=0.5)


def encoder(model, **hardware) -> structure.Encoder:
    return structure.build(model, HardwareSection(**hardware), "t", "test")


def stages_of(enc: structure.Encoder, budget: Budget | None = None) -> list[float]:
    ends = [p.index for p in enc.points if p.registered]
    cost = stages.stage_levels if budget is None else stages.stage_ns
    args = () if budget is None else (budget,)
    return [cost(enc, s, e, *args) for s, e in zip([0, *ends[:-1]], ends, strict=True)]


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_the_planner_finds_the_best_balance(small_model, depth):
    """Against every choice of ``depth`` points: no slower stage, then no more flip-flops."""
    enc = encoder(small_model)
    placed = stages.place(enc, depth, None)
    assert placed.latency_cycles == depth + 1 and placed.points[-1].registered
    found = (max(stages_of(placed)), sum(p.bits for p in placed.points if p.registered))
    candidates = [p.name for p in enc.points if p.kind != "out"]
    best = min(
        (
            max(stages_of(other := stages.register(enc, set(names)))),
            sum(p.bits for p in other.points if p.registered),
        )
        for names in itertools.combinations(candidates, depth)
    )
    assert found == best


def test_deeper_pipelines_have_faster_stages(small_model):
    enc = encoder(small_model)
    slowest = [max(stages_of(stages.place(enc, d, None))) for d in range(len(enc.points))]
    assert all(b <= a for a, b in itertools.pairwise(slowest)) and slowest[-1] < slowest[0] / 4


def test_more_stages_than_points_are_refused(small_model):
    enc = encoder(small_model)
    with pytest.raises(PipelineError, match=rf"this encoder has {len(enc.points) - 1} places"):
        stages.place(enc, len(enc.points), None)
    with pytest.raises(PipelineError, match="no pipeline point 'nowhere'"):
        stages.register(enc, {"nowhere"})


def test_auto_takes_the_shallowest_pipeline_that_meets_the_clock(small_model):
    enc = encoder(small_model)
    unpipelined = max(stages_of(stages.place(enc, 0, None), Budget(1e9, 2.0, DELAYS)))
    budget = Budget(unpipelined / 2.5, 2.0, DELAYS)
    placed = stages.auto_depth(enc, budget)
    depth = placed.pipeline_depth
    assert max(stages_of(placed, budget)) <= budget.period_ns
    shallower = stages.place(enc, depth - 1, budget)
    assert max(stages_of(shallower, budget)) > budget.period_ns
    assert stages.slowest_stage(placed, budget)[0] == max(stages_of(placed, budget))


def test_a_depth_that_can_meet_the_clock_takes_the_fewest_flip_flops(small_model):
    """Against every choice of points: the stages all meet the clock and no choice that
    also meets it has fewer flip-flops; a clock no choice meets gets the best balance."""
    enc = encoder(small_model)
    unpipelined = max(stages_of(stages.place(enc, 0, None), Budget(1e9, 2.0, DELAYS)))
    budget = Budget(unpipelined / 2.5, 2.0, DELAYS)
    depth = stages.auto_depth(enc, budget).pipeline_depth + 1
    placed = stages.place(enc, depth, budget)
    candidates = [p.name for p in enc.points if p.kind != "out"]
    meeting = [
        sum(p.bits for p in other.points if p.registered)
        for names in itertools.combinations(candidates, depth)
        if max(stages_of(other := stages.register(enc, set(names)), budget)) <= budget.period_ns
    ]
    assert max(stages_of(placed, budget)) <= budget.period_ns
    assert sum(p.bits for p in placed.points if p.registered) == min(meeting)
    balanced = stages.place(enc, depth, None)
    assert sum(p.bits for p in placed.points if p.registered) < sum(
        p.bits for p in balanced.points if p.registered
    )
    too_fast = Budget(unpipelined / 100, 2.0, DELAYS)
    assert max(stages_of(stages.place(enc, depth, too_fast), too_fast)) == min(
        max(stages_of(stages.register(enc, set(names)), too_fast))
        for names in itertools.combinations(candidates, depth)
    )


def test_auto_names_the_best_clock_when_none_is_met(small_model):
    enc = encoder(small_model)
    with pytest.raises(
        PipelineError,
        match=r"auto: no depth from 0 to \d+ meets 1.00 ns at the slow corner; the best is "
        r"[\d.]+ MHz \([\d.]+ ns\) at depth \d+",
    ):
        stages.auto_depth(enc, Budget(1.0, 0.5, DELAYS))


def test_cell_delays_come_from_the_liberty_of_each_corner(tmp_path):
    cfg = load_config(TINY)
    found = pdk.open_pdk(cfg, tmp_path)
    cells = found.config.cells
    slow, typical = (
        timing.characterise(
            found.prepared_liberty(corner, tmp_path / "liberty"),
            corner,
            cells.gate,
            cells.flip_flop,
        )
        for corner in ("slow", "typical")
    )
    assert 2 * typical.gate_ns < slow.gate_ns < 1.0  # 1.40 V at -40 C is far slower
    assert slow.clock_to_q_ns > 3 * slow.gate_ns and slow.setup_ns > 0
    assert typical.register_ns == pytest.approx(typical.clock_to_q_ns + typical.setup_ns)


def test_the_rtl_step_resolves_auto_or_names_the_best_clock(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    text = TINY.read_text()
    design = tmp_path / "tiny.yaml"
    design.write_text(text.replace("hardware:\n", "hardware:\n  pipeline_depth: auto\n"))
    assert main(["flow", "run", str(design), "--build-dir", str(build), "--steps", "rtl"]) == 0
    out = capsys.readouterr().out
    assert "pipeline: depth " in out and "slowest stage (model)" in out
    fast = tmp_path / "fast.yaml"
    fast.write_text(
        text.replace("hardware:\n", "hardware:\n  pipeline_depth: auto\n  clock_mhz: 5000\n")
    )
    assert main(["flow", "run", str(fast), "--build-dir", str(build), "--steps", "rtl"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fast.yaml: hardware.pipeline_depth: auto: no depth" in err
    assert "MHz" in err and "at depth" in err


def test_gating_without_a_clock_gate_cell_is_refused(monkeypatch):
    cfg = load_config(TINY)  # scrub_interval 8: gated weight clocks
    real = pdk.load_config

    def without_gate(design):
        config, path = real(design)
        cells = config.cells.model_copy(update={"clock_gate": None})
        return config.model_copy(update={"cells": cells}), path

    monkeypatch.setattr(pdk, "load_config", without_gate)
    with pytest.raises(
        ConfigError,
        match=r"sky130hd.yaml: cells.clock_gate: tiny.yaml asks for clock gating "
        r"\(hardware.scrub_interval 8\) and this PDK config names no clock-gating cell",
    ):
        rtl_pipeline.clock_gate(cfg)
    ungated = cfg.design.hardware.model_copy(update={"scrub_interval": 1})
    plain = cfg.model_copy(update={"design": cfg.design.model_copy(update={"hardware": ungated})})
    assert rtl_pipeline.clock_gate(plain) is None
