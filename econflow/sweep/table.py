"""Each variant's figures in one row, and the Pareto-optimal variants.

A variant's figures are read as its report reads them (``econflow.reports.results.shown``):
only those that hold for its design file, so a row never mixes a stale figure into the table.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from econflow.errors import ArtefactError
from econflow.reports.build import latest_power, latest_timing
from econflow.reports.results import shown
from econflow.reports.sweep import FRONTS, QUALITY, pareto_flag
from econflow.runner import Runner
from econflow.sweep.plan import Sweep
from econflow.sweep.run import Outcome, SweepPaths


def rows(sweep: Sweep, root: Path, outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """One row per variant: its axis values, how its run ended, its figures."""
    ended = {o.variant: o for o in outcomes}
    paths = SweepPaths(root)
    table = []
    for variant in sweep.variants:
        outcome = ended[variant.name]
        row: dict[str, Any] = {"variant": variant.name, "models": variant.models}
        row.update({key: variant.values.get(key) for key in sweep.axes})
        row["status"] = "ok" if outcome.error is None else "failed"
        row["error"] = outcome.error
        row["seconds"] = outcome.seconds
        build = paths.variant(variant.name)
        try:
            row.update(_figures(Runner(variant.cfg, build), build))
        except ArtefactError as exc:
            row["error"] = row["error"] or str(exc)
        table.append(row)
    for cost, _, name in FRONTS:
        for row, optimal in zip(table, pareto(table, cost, QUALITY), strict=True):
            row[pareto_flag(name)] = optimal
    return table


def _figures(runner: Runner, build: Path) -> dict[str, Any]:
    r = shown(build, runner.provenance.verdict()).results
    found: dict[str, Any] = {}
    ae = r.models.autoencoder
    if ae is not None:
        found["emd_mean"] = ae.emd_mean
        found["output_bits"] = ae.output_bits
    if r.models.quality is not None:
        profile = r.models.quality.emd_vs_occupancy
        means = profile.mean.get("autoencoder", [])
        found["emd_by_occupancy"] = {
            f"{c:g}": m for c, m in zip(profile.centres, means, strict=False)
        }
    synth = r.flow.synth
    if synth is not None:
        found |= {"cells": synth.cells, "area_um2": synth.area_um2, "flip_flops": synth.flip_flops}
        found["protected_bits"] = synth.protected_bits
    timing = latest_timing(r)
    if timing is not None:
        t, step = timing
        corner = t.corners[t.timing_corner]
        found |= {"timing_from": step, "latency_cycles": t.latency_cycles}
        found |= {"clock_mhz": round(1000 / t.clock_period_ns, 6), "wns_ns": corner.wns_ns}
        found["fmax_mhz"] = corner.fmax_mhz
        found["timing_met"] = all(c.meets for c in t.corners.values())
    power = latest_power(r)
    if power is not None:
        p, step = power
        found |= {"power_from": step, "power_mw": p.total_mw}
        found["energy_nj"] = p.energy_per_inference_nj
    verify = r.verify.verify
    for scope, seu in (verify.seu if verify else {}).items():
        found[f"seu_{scope}_corrupted"] = f"{seu.corrupted}/{seu.injections}"
    gate = r.flow.gate_level
    if gate is not None:
        found["gate_level_mismatches"] = gate.mismatches
        upsets = gate.seu.upsets if gate.seu else None
        if upsets is not None:
            found["netlist_seu_corrupted"] = f"{upsets.corrupted}/{upsets.injections}"
    report = r.report.report
    if report is not None:
        found["report"] = str(build / "report" / Path(report.report_html).name)
    return found


def pareto(table: list[dict[str, Any]], cost: str, quality: str) -> list[bool]:
    """Whether each row is Pareto-optimal in (cost, quality), lower better on both; rows
    lacking either figure are not."""
    points = [(r.get(cost), r.get(quality)) for r in table]
    whole = [(a, b) for a, b in points if a is not None and b is not None]
    return [
        a is not None
        and b is not None
        and not any(x <= a and y <= b and (x < a or y < b) for x, y in whole)
        for a, b in points
    ]


def write(table: list[dict[str, Any]], root: Path) -> tuple[Path, Path]:
    """``results.json`` (everything) and ``results.csv`` (one column per figure; the EMD per
    occupancy bin as ``emd_occupancy_<bin centre>``)."""
    as_json = root / "results.json"
    as_json.write_text(json.dumps(table, indent=2) + "\n")
    flat = []
    for row in table:
        bins = row.get("emd_by_occupancy") or {}
        flat.append(
            {k: v for k, v in row.items() if k != "emd_by_occupancy"}
            | {f"emd_occupancy_{c}": v for c, v in bins.items()}
        )
    columns = list(dict.fromkeys(k for row in flat for k in row))
    as_csv = root / "results.csv"
    with as_csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(flat)
    return as_json, as_csv
