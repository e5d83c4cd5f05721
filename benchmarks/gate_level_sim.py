"""Gate-level simulation candidates side by side on one synthesized netlist, building included.

The cycle simulator (the gatesim step: the netlist as and-inverter logic of the liberty,
64 lanes), Icarus with the PDK's own cell models (the step's cross-check), Icarus with the
cell models generated from the liberty, and Verilator with the generated models: each runs
the same bulk regression (held-out modules + corner cases, weights loaded first) and must
count 0 mismatches. For the compiled candidates, build time is the total less a second run
of the compiled simulation; for the cycle simulator, reading the netlist into its graph.
Needs the design's synth step.

Run: ./bootstrap.sh python benchmarks/gate_level_sim.py [design.yaml] [--vectors N]
     [--candidates cycle,icarus-pdk,icarus-generated,verilator-generated]
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
from _common import design_and_build, design_parser, write

from econflow import tools
from econflow.config import Config
from econflow.flow import cell_models, gate_bench, gate_graph
from econflow.flow.formats import netlist
from econflow.flow.formats.liberty import library
from econflow.flow.job import flow_paths, power_liberty
from econflow.flow.pipeline import GATE_LEVEL_DEFINES
from econflow.pdk import open_pdk
from econflow.verification import bulk
from econflow.verification.pipeline import load_subject, regression_vectors


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--vectors", type=int, default=1000)
    parser.add_argument(
        "--candidates", default="cycle,icarus-pdk,icarus-generated,verilator-generated"
    )
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    subject = load_subject(build)
    design, model = subject.design, subject.model
    paths = flow_paths(cfg, build)
    pdk = open_pdk(cfg, paths.out)
    gates = netlist.read(paths.netlist, design.top)
    work = build / "benchmarks" / "gate_level_sim"
    liberty = power_liberty(pdk, paths)
    candidates = args.candidates.split(",")
    charges = regression_vectors(subject.holdout, args.vectors, model.charge_bits)
    sources = {"pdk": [paths.netlist, *pdk.sim_models()]}
    models_s = 0.0
    if any(c.endswith("-generated") for c in candidates):
        start = time.perf_counter()
        sources["generated"] = [paths.netlist, cell_models.for_netlist(
            liberty, {i.cell for i in gates.instances}, pdk.sim_models(), work, GATE_LEVEL_DEFINES
        )]  # fmt: skip
        models_s = time.perf_counter() - start
        print(f"cell models generated and proved in {models_s:.1f} s", flush=True)
    runs = {}
    for candidate in candidates:
        if candidate == "cycle":
            runs[candidate] = _cycle(cfg, build, charges, liberty)
            continue
        simulator, models = candidate.split("-")
        folder = work / candidate
        start = time.perf_counter()
        counts = bulk.run(
            design,
            model,
            charges,
            design.load_image(),
            folder,
            simulator,  # type: ignore[arg-type]
            sources=sources[models],
            defines=GATE_LEVEL_DEFINES if models == "pdk" else (),
            label=candidate,
        )
        total = time.perf_counter() - start
        start = time.perf_counter()
        rerun = ["obj_dir/Vbulk_tb"]
        if simulator == "icarus":
            rerun = [tools.find("vvp", "Icarus Verilog"), "-n", "sim.vvp"]
        subprocess.run(rerun, cwd=folder, capture_output=True, check=True)
        run = time.perf_counter() - start
        runs[candidate] = {
            **counts.model_dump(),
            "seconds": round(total, 2),
            "build_s": round(max(0.0, total - run), 2),
            "run_s": round(run, 3),
            "vectors_per_s_run": round(len(charges) / run, 1),
        }
        print(f"{candidate}: {counts.mismatches} mismatches, {runs[candidate]}", flush=True)
        if not counts.exact:
            raise SystemExit(f"{candidate}: the netlist is not bit-exact; see {folder}")
    write(
        f"gate_level_sim_{cfg.design.design.name}_{args.vectors}_{'_'.join(candidates)}",
        {
            "design": args.design,
            "netlist_cells": len(gates.instances),
            "vectors": len(charges),
            "models_s": round(models_s, 1),
            "candidates": runs,
        },
    )


def _cycle(cfg: Config, build: Path, charges: np.ndarray, liberty: Path) -> dict:
    subject = load_subject(build)
    design = subject.design
    start = time.perf_counter()
    graph = gate_graph.build(
        netlist.read(flow_paths(cfg, build).netlist, design.top),
        library(liberty),
        flow_paths(cfg, build).netlist,
    )
    built = time.perf_counter() - start
    run = gate_bench.run(
        graph, design, subject.model, charges, design.load_image(),
        window=design.description.scrub_interval, label="cycle",
    )  # fmt: skip
    if not run.counts.exact:
        raise SystemExit(f"cycle: the netlist is not bit-exact: {run.counts}")
    found = {
        **run.counts.model_dump(),
        "and_nodes": len(graph.fanins),
        "lanes": run.lanes,
        "cycles": run.cycles,
        "seconds": round(built + run.seconds, 2),
        "build_s": round(built, 2),
        "run_s": round(run.seconds, 3),
        "vectors_per_s_run": round(run.counts.vectors / run.seconds, 1),
    }
    print(f"cycle: {run.counts.mismatches} mismatches, {found}", flush=True)
    return found


if __name__ == "__main__":
    main()
