"""The key figures a run prints at its end (``sc flow run``), from the typed results of the
stages it touched: a few lines a designer reads before opening the report."""

from __future__ import annotations

from pathlib import Path

from econflow.provenance import Verdict
from econflow.reports.build import latest_power, latest_timing
from econflow.reports.results import BuildResults, shown
from econflow.reports.section import area, drc, power


def figures(build: Path, stages: set[str], verdict: Verdict) -> list[tuple[str, str]]:
    """(label, value) lines for the figures of ``stages`` (folder names) that hold for the
    design file, and a line for each step whose figures do not."""
    found = shown(build, verdict)
    r = found.results
    lines = [(f"not shown: {s.step}", f"{s.problem}; rerun step '{s.rerun}'") for s in found.hidden]
    if "models" in stages:
        lines += _models(r)
    if "hls" in stages and r.hls.csim:
        c = r.hls.csim
        lines.append(("HLS C-sim mismatches / samples", f"{c.mismatches} / {c.samples}"))
    if "rtl" in stages and r.rtl.rtl:
        rtl = r.rtl.rtl
        lines.append(("RTL latency (cycles)", str(rtl.latency_cycles)))
        bits = rtl.registers
        lines.append(
            ("RTL TMR-protected / register bits", f"{bits.protected_bits} / {bits.total_bits}")
        )
    if "verify" in stages:
        lines += _verify(r)
    if "flow" in stages or "layout" in stages:
        lines += _implementation(r)
    return lines


def _models(r: BuildResults) -> list[tuple[str, str]]:
    m = r.models
    lines = []
    if m.data:
        lines.append(("modules (train/holdout)", f"{m.data.train} / {m.data.holdout}"))
        lines.append(("mean occupancy (TCs)", f"{m.data.occupancy_mean:.4g}"))
    if m.emd_cnn:
        e = m.emd_cnn
        lines.append(
            ("EMD-CNN relative error mean/std", f"{e.rel_error_mean:.4g} / {e.rel_error_std:.4g}")
        )
    refined = m.emd_cnn_refined and (m.emd_cnn_refined.after or m.emd_cnn_refined.before)
    if refined and "reconstructions" in refined:
        r = refined["reconstructions"]
        lines.append(("EMD-CNN on reconstructions mean/std", f"{r.mean:.4g} / {r.std:.4g}"))
    if m.autoencoder:
        ae = m.autoencoder
        lines.append(("autoencoder EMD mean/median", f"{ae.emd_mean:.4g} / {ae.emd_median:.4g}"))
    for name, values in sorted((m.baselines or {}).items()):
        lines.append((f"baseline {name} EMD mean", f"{values.emd_mean:.4g}"))
    if m.bit_exact:
        b = m.bit_exact
        lines.append(("bit-exact mismatches / samples", f"{b.mismatches} / {b.samples}"))
    return lines


def _verify(r: BuildResults) -> list[tuple[str, str]]:
    v = r.verify.verify
    if v is None:
        return []
    lines = [
        (f"{sim} mismatches / vectors", f"{run.mismatches} / {run.vectors}")
        for sim, run in v.bulk.items()
    ]
    lines += [
        (f"SEU corrupted / injections, TMR {scope}", f"{seu.corrupted} / {seu.injections}")
        for scope, seu in v.seu.items()
    ]
    return lines


def _implementation(r: BuildResults) -> list[tuple[str, str]]:
    lines = []
    synth = r.flow.synth
    if synth:
        lines.append(("cells / flip-flops (post-synthesis)", f"{synth.cells} / {synth.flip_flops}"))
        lines.append(("cell area (post-synthesis)", area(synth.area_um2)))
    found = latest_timing(r)
    if found:
        timing, step = found
        wns = " / ".join(f"{c.wns_ns:.4g}" for c in timing.corners.values())
        lines.append((f"WNS {' / '.join(timing.corners)} (ns, {step})", wns))
        corner = timing.corners.get(timing.timing_corner)
        if corner is not None:
            lines.append((f"worst stage ({timing.timing_corner})", corner.worst_path.stage))
        lines.append(("latency (cycles)", str(timing.latency_cycles)))
    proof = r.flow.equivalence
    if proof:
        verdict = "equivalent" if proof.equivalent else "NOT equivalent"
        lines.append(("netlist vs RTL (formal)", f"{verdict}, {len(proof.modules)} modules"))
    gate = r.flow.gate_level
    if gate:
        lines.append(("gate-level mismatches / vectors", f"{gate.mismatches} / {gate.vectors}"))
    found_power = latest_power(r)
    if found_power:
        p, step = found_power
        lines.append(
            (
                f"power / energy ({step})",
                f"{power(p.total_mw)} / {p.energy_per_inference_nj:.4g} nJ",
            )
        )
    place, gds = r.layout.place, r.layout.gds
    if place and place.placement:
        lines.append(("die area (post-placement)", area(place.placement.die_area_um2)))
    if gds and gds.drc:
        lines.append(("routing-layer DRC violations", drc(gds.drc.by_rule, gds.drc.violations)))
    return lines
