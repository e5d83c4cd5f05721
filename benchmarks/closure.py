"""Timing and energy closure: pipeline depth x scrub interval on sky130hd, each variant
through rtl, verify, synth, sta, gatesim and power in its own build directory.

Per variant: the depth the RTL stage resolved, its registered points and latency, the RTL's
mismatches against the fixed-point model per simulator (bulk regression and cocotb streams,
including writes while data streams) and the SEU campaigns' corrupted and unflagged upsets,
the slack
and achievable clock at each corner with the worst path's stage, cell area and flip-flops,
power (total and by block) and energy per inference at the typical corner, with the gate-
level activity of the design's held-out modules (``gate_level.vectors`` of the design file).
Needs the models steps of the design to have run in its build directory.

Run: ./bootstrap.sh python benchmarks/closure.py [design.yaml] [--depths 0,2,auto]
     [--scrubs 1,64] [--build-dir DIR] [--gate-vectors N]
(``--gate-vectors`` replaces the design's ``gate_level.vectors``: a quick table on tiny.)
"""

from __future__ import annotations

import json
from typing import Any

from _common import design_and_build, design_parser, run_variant, write

from econflow.reports.results import BuildResults
from econflow.verification.results import VerifyResult

STEPS = "rtl,verify,synth,sta,gatesim,power"


def _rtl_mismatches(verify: VerifyResult, simulator: str) -> int:
    """Outputs of one simulator that differ from the fixed-point model, in every check."""
    run = verify.cocotb[simulator]
    tests = [run.stream, run.reset, run.writes]
    reload = run.reload.mismatches_a + run.reload.mismatches_b if run.reload else 0
    return verify.bulk[simulator].mismatches + reload + sum(t.mismatches for t in tests if t)


def _figures(r: BuildResults, seconds: float) -> dict[str, Any]:
    rtl, verify, synth, sta, gate, power = (
        r.rtl.rtl,
        r.verify.verify,
        r.flow.synth,
        r.flow.sta,
        r.flow.gate_level,
        r.flow.power,
    )
    if None in (rtl, verify, synth, sta, gate, power):
        raise SystemExit("the flow left no figures")
    return {
        "pipeline_depth": rtl.pipeline_depth,
        "latency_cycles": rtl.latency_cycles,
        "latency_ns": round(rtl.latency_cycles * sta.clock_period_ns, 1),
        "registered": rtl.registered,
        "rtl_mismatches": {sim: _rtl_mismatches(verify, sim) for sim in verify.bulk},
        "seu": {
            scope: {"injections": c.injections, "corrupted": c.corrupted, "flagged": c.flagged}
            for scope, c in verify.seu.items()
        },
        "corners": {
            name: {
                "wns_ns": c.wns_ns,
                "fmax_mhz": c.fmax_mhz,
                "meets": c.meets,
                "worst_stage": c.worst_path.stage,
            }
            for name, c in sta.corners.items()
        },
        "area_um2": synth.area_um2,
        "cells": synth.cells,
        "flip_flops": synth.flip_flops,
        "power_mw": power.total_mw,
        "blocks_mw": {b: v.total for b, v in power.blocks_mw.items()},
        "energy_per_inference_nj": power.energy_per_inference_nj,
        "gate_level": f"{gate.mismatches} / {gate.vectors}",
        "mean_clock_edges_per_cycle": gate.activity.mean_clock_edges_per_cycle,
        "seconds": seconds,
    }


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--depths", default="0,auto")
    parser.add_argument("--scrubs", default="1,64")
    parser.add_argument("--gate-vectors", type=int, default=None)
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    results = {}
    for depth in args.depths.split(","):
        for scrub in (int(s) for s in args.scrubs.split(",")):
            name = f"depth_{depth}_scrub_{scrub}"
            hardware = {"pipeline_depth": depth if depth == "auto" else int(depth)}
            hardware["scrub_interval"] = scrub
            gate = {"gate_level": {"vectors": args.gate_vectors}} if args.gate_vectors else {}
            r, seconds = run_variant(cfg, build, name, hardware, STEPS, gate)
            results[name] = {"scrub_interval": scrub, **_figures(r, seconds)}
            print(json.dumps(results[name], indent=1), flush=True)
    write(f"closure_{cfg.design.design.name}", {"design": args.design, "variants": results})


if __name__ == "__main__":
    main()
