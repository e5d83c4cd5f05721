"""The design report (``<build>/report/report.html`` and ``report.md``), built from the
stages' typed results only, with matplotlib figures beside it. Every figure names the stage
and step it comes from. The folder is self-contained: figures are referenced by relative
paths, so it can be moved or mailed as it is."""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

from econflow import __version__
from econflow.config import Config
from econflow.flow.results import FlowMetrics, NetlistSeu, Power, Timing
from econflow.hls.results import HlsMetrics
from econflow.models import artefacts as model_artefacts
from econflow.models import statistics
from econflow.models.results import ModelsMetrics
from econflow.provenance import Verdict
from econflow.reports import layout, plots
from econflow.reports.results import BuildResults, ReportMetrics, Shown, shown
from econflow.reports.section import Section, area, power
from econflow.rtl.results import RtlMetrics
from econflow.templating import environment
from econflow.verification.results import VerifyMetrics

FIGURES = "figures"
PACKAGES = ("siliconcompiler", "lambdapdk", "tensorflow", "qkeras", "hls4ml", "pot", "cocotb")
ECONT_ENERGY_NJ = 2.4  # ECON-T in 65 nm (CMS HGCAL, arXiv 2105.01683)


def build(
    cfg: Config, build_dir: Path, verdict: Verdict, tools_table: list[tuple[str, str, str]]
) -> list[Path]:
    """Write the report and its figures, showing only what ``verdict`` says holds; returns
    the files written."""
    out = build_dir / ReportMetrics.STAGE
    figures = out / FIGURES
    shutil.rmtree(figures, ignore_errors=True)  # no figure of an earlier report stays beside
    figures.mkdir(parents=True)
    found = shown(build_dir, verdict)
    r = found.results
    sections = [
        headline(cfg, r),
        provenance(cfg, found),
        _design(cfg),
        _data(r.models, build_dir, figures),
        _quality(r.models, figures),
        _hardware(r.hls, r.rtl),
        _exactness(r.models, r.hls, r.verify, r.flow),
        _area(r.flow, figures),
        _timing(cfg, r.flow, figures),
        _power(r.flow, figures),
        layout.section(r.flow, r.layout, _copy_picture(r, figures)),
        _runtime(r, figures),
        _versions(tools_table),
    ]
    context = {
        "version": __version__,
        "design": cfg.design.design.name,
        "source": str(cfg.path),
        "sections": sections,
    }
    written = []
    for name in ("report.md", "report.html"):
        path = out / name
        template = environment("econflow.reports").get_template(f"{name}.j2")
        path.write_text(template.render(**context))
        written.append(path)
    return written + sorted(figures.glob("*.png"))


def latest_timing(r: BuildResults) -> tuple[Timing, str] | None:
    """The timing computed last in the flow (post-route, else post-placement, else
    post-synthesis), with the step that computed it."""
    return _latest(r, "timing", (r.flow.sta, "flow/sta"))


def latest_power(r: BuildResults) -> tuple[Power, str] | None:
    """The power computed last in the flow, with the step that computed it."""
    return _latest(r, "power", (r.flow.power, "flow/power"))


def _latest(r: BuildResults, kind: str, synthesized: tuple[Any, str]) -> Any:
    """The first of the routed, placed and synthesized figures of ``kind`` that exists."""
    place, route = r.layout.place, r.layout.route
    for figures, step in (
        (getattr(route, kind, None), "layout/route"),
        (getattr(place, kind, None), "layout/place"),
        synthesized,
    ):
        if figures is not None:
            return figures, step
    return None


def headline(cfg: Config, r: BuildResults) -> Section:
    """Area, timing, power, energy, DRC and quality in one table, each the latest figure."""
    s = Section("Headline")
    hw = cfg.design.hardware
    if r.flow.synth:
        s.add("cell area", area(r.flow.synth.area_um2), "flow/synth: post-synthesis")
    place = r.layout.place
    if place and place.placement:
        p = place.placement
        s.add("die area", area(p.die_area_um2), f"layout/place: {place.origin}")
    elif place and place.floorplan:
        s.add("core area", area(place.floorplan.core_area_um2), f"layout/place: {place.origin}")
    found = latest_timing(r)
    if found:
        timing, step = found
        for name, c in timing.corners.items():
            verdict = "met" if c.meets else "NOT met"
            s.add(
                f"{name}: {hw.clock_mhz:g} MHz",
                f"{verdict}: WNS {c.wns_ns:.3f} ns, achievable {c.fmax_mhz:.1f} MHz; worst "
                f"stage {c.worst_path.stage}",
                f"{step}: {timing.origin}",
            )
        s.add(
            "latency",
            f"{timing.latency_cycles} cycle(s), "
            f"{timing.latency_cycles * timing.clock_period_ns:.0f} ns",
            "rtl/rtl",
        )
    found_power = latest_power(r)
    if found_power:
        p, step = found_power
        s.add(f"power ({p.corner})", power(p.total_mw), f"{step}: {p.origin}")
        s.add(
            "energy per inference",
            f"{p.energy_per_inference_nj:.4g} nJ (ECON-T, 65 nm: {ECONT_ENERGY_NJ} nJ)",
            f"{step}: {p.inferences_per_s / 1e6:g} M inferences/s",
        )
    gds = r.layout.gds
    if gds and gds.drc:
        s.add("routing-layer DRC violations", gds.drc.violations, f"layout/gds: {gds.drc.scope}")
    gate = r.flow.gate_level
    if gate:
        s.add("gate-level mismatches / vectors", f"{gate.mismatches} / {gate.vectors:,}",
              "flow/gatesim")  # fmt: skip
    ae = r.models.autoencoder
    if ae:
        s.add(f"autoencoder mean EMD ({ae.loss_name} loss)", ae.emd_mean, "models/train")
    if not s.rows:
        s.note = "No step has run yet."
    return s


def provenance(cfg: Config, found: Shown) -> Section:
    """What the report leaves out because it does not hold for the design file, and the
    artefacts edited by hand."""
    s = Section("Provenance")
    for status in found.hidden:
        s.add(
            f"not shown: {status.step}",
            f"{status.step} {status.problem}",
            f"rerun step '{status.rerun}': sc flow run {cfg.path.name}",
        )
    for key, edit in found.edits.items():
        s.add(
            f"edited by hand: {key}",
            f"accepted {edit['accepted']}",
            f"written by step '{edit['step']}'; the steps after it read the edited file",
        )
    if not s.rows:
        s.note = (
            "Every figure shown was computed for this design file: each step's record of "
            "its configuration, inputs and outputs matches."
        )
    return s


def _netlist_seu(s: Section, seu: NetlistSeu | None) -> None:
    if seu is None:
        return
    where = f"flow/gatesim: cycle simulator, {seu.window_cycles}-cycle window after each hit"
    up = seu.upsets
    if up:
        s.add(
            f"netlist SEU, TMR {seu.tmr}: corrupted / flagged / upsets",
            f"{up.corrupted} / {up.flagged} / {up.injections:,} "
            f"({seu.upsets_persisting} persisting)",
            f"{where}; corrected within {up.correction_cycles_max} cycles"
            if up.corrected else where,
        )  # fmt: skip
    for kind, t in seu.transients.items():
        s.add(
            f"netlist SET on {kind}: corrupted / flagged / transients",
            f"{t.corrupted} / {t.flagged} / {t.injections} ({t.persisting} persisting)",
            where,
        )


def _design(cfg: Config) -> Section:
    d = cfg.design
    s = Section("Design")
    origin = f"design file {cfg.path.name}"
    s.add("design", d.design.name, origin)
    s.add(
        "encoder",
        f"Conv2D {d.model.conv.filters} x {d.model.conv.kernel}x{d.model.conv.kernel} "
        f"stride {d.model.conv.stride} -> Dense {d.model.dense.latent}",
        origin,
    )
    s.add(
        "input / weight / latent bits",
        f"{d.model.input.bits} / {d.model.conv.weight.bits} / {d.model.latent.bits}",
        origin,
    )
    hw = d.hardware
    s.add("clock", f"{hw.clock_mhz:g} MHz", origin)
    s.add("weights / TMR scope", f"{hw.weights} / {hw.tmr}", origin)
    s.add("pipeline depth / output bits", f"{hw.pipeline_depth} / {hw.output_bits}", origin)
    s.add("PDK", d.pdk.name, origin)
    return s


def _data(models: ModelsMetrics, build_dir: Path, figures: Path) -> Section:
    """The dataset against the real ECON-T inputs, with its distributions."""
    s = Section("Data")
    data = models.data
    if data is None:
        return s.without("data")
    origin = f"models/data: {data.modules:,} modules ({data.source})"
    found = data.statistics
    for name, target in statistics.TARGETS.items():
        value = getattr(found, name)
        verdict = "within" if target.met(value) else "OUTSIDE"
        s.add(name.replace("_", " "), f"{value:.4g} (real ECON-T inputs: {target.value:g}, "
              f"{verdict} tolerance)", origin)  # fmt: skip
    picture = _copy(model_artefacts.at(build_dir).figures / "data_distributions.png", figures)
    if picture:
        s.figures.append(("Occupancy and module sum (models/data)", picture))
    return s


def _quality(models: ModelsMetrics, figures: Path) -> Section:
    s = Section("Compression quality")
    ae = models.autoencoder
    if ae is None:
        return s.without("train")
    origin = f"models/train: EMD on {ae.eval_modules:,} held-out modules"
    s.add(f"autoencoder mean EMD ({ae.loss_name} loss)", ae.emd_mean, origin)
    s.add("autoencoder median EMD", ae.emd_median, origin)
    for name, values in sorted((models.baselines or {}).items()):
        s.add(f"{name} mean EMD (same bit budget)", values.emd_mean, origin)
        if values.empty_output_fraction > 0 and values.emd_mean_sent is not None:
            s.add(
                f"{name} mean EMD without its {values.empty_output_fraction:.1%} empty outputs",
                values.emd_mean_sent,
                f"{origin}; an empty output scores the largest TC distance",
            )
    e = models.emd_cnn
    if e:
        s.add(
            "EMD-CNN relative error mean / std",
            f"{e.rel_error_mean:+.4f} / {e.rel_error_std:.4f}",
            f"models/emd: {e.pairs_eval:,} held-out pairs",
        )
    refined = models.emd_cnn_refined
    for kind, error in sorted(((refined.after or refined.before) if refined else {}).items()):
        s.add(
            f"EMD-CNN on {kind}: relative error mean / std",
            f"{error.mean:+.4f} / {error.std:.4f}",
            f"models/train: {error.pairs:,} held-out pairs, "
            + (f"after {len(refined.rounds)} refinements" if refined.after else "not refined"),
        )
    quality = models.quality
    if quality:
        s.figures.append(
            (
                "EMD of the autoencoder and the baselines (models/train)",
                plots.emd_histogram(quality.emd_histogram, figures / "emd_histogram.png"),
            )
        )
        s.figures.append(
            (
                "EMD against module occupancy: mean and 16-84% band (models/train)",
                plots.emd_vs_occupancy(quality.emd_vs_occupancy, figures / "emd_vs_occupancy.png"),
            )
        )
    return s


def _hardware(hls: HlsMetrics, rtl: RtlMetrics) -> Section:
    s = Section("HLS and RTL")
    if hls.csim:
        s.add("HLS backends (C simulation)", ", ".join(hls.csim.backends), "hls/hls")
    r = rtl.rtl
    if r is None:
        return s.without("rtl")
    s.add("latency", f"{r.latency_cycles} clock cycle(s), one inference per cycle", "rtl/rtl")
    s.add("pipeline registers at", ", ".join(r.registered), "rtl/rtl")
    if r.scrub_interval > 1:
        s.add(
            "configuration clocks",
            f"gated: on writes and every {r.scrub_interval} cycles (scrub)",
            "rtl/rtl",
        )
    s.add("weights / TMR", f"{r.weights} / {r.tmr}", "rtl/rtl")
    s.add("configuration registers", r.parameters, "rtl/rtl")
    s.add(
        "TMR-protected / register bits",
        f"{r.registers.protected_bits:,} / {r.registers.total_bits:,}",
        "rtl/rtl",
    )
    s.add("flip-flops (with TMR copies)", r.registers.flip_flops, "rtl/rtl")
    s.add("Verilator -Wall warnings", r.lint.warnings, "rtl/rtl")
    return s


def _exactness(
    models: ModelsMetrics, hls: HlsMetrics, verify: VerifyMetrics, flow: FlowMetrics
) -> Section:
    s = Section("Bit-exactness and single-event upsets")
    if models.bit_exact:
        b = models.bit_exact
        s.add("QKeras vs fixed-point model", f"{b.mismatches} / {b.samples:,}", "models/quantize")
    if hls.csim:
        c = hls.csim
        s.add("HLS C simulation vs fixed-point", f"{c.mismatches} / {c.samples:,}", "hls/hls")
    v = verify.verify
    for sim, run in (v.bulk if v else {}).items():
        s.add(
            f"RTL vs fixed-point ({sim})",
            f"{run.mismatches} / {run.vectors:,}",
            "verify/verify (bulk)",
        )
    e = flow.equivalence
    if e:
        proved = sum(m.equivalent for m in e.modules)
        s.add(
            "netlist vs RTL, formal equivalence",
            f"{proved} / {len(e.modules)} modules proved "
            f"({'equivalent' if e.equivalent else 'NOT equivalent'})",
            f"flow/equiv: {e.origin}; {', '.join(m.module for m in e.modules)}",
        )
    g = flow.gate_level
    if g:
        s.add(
            "gate-level netlist vs fixed-point (cycle simulator, liberty functions)",
            f"{g.mismatches} / {g.vectors:,}",
            f"flow/gatesim: {g.distinct_vectors:,} distinct vectors on {g.lanes} lanes, "
            f"{g.cycles:,} cycles, {g.seconds:.0f} s",
        )
        if g.icarus:
            s.add(
                "gate-level netlist vs fixed-point (Icarus, the PDK's cell models)",
                f"{g.icarus.mismatches} / {g.icarus.vectors:,}",
                f"flow/gatesim: the first vectors again, {g.icarus.seconds:.0f} s",
            )
        _netlist_seu(s, g.seu)
    for scope, seu in (v.seu if v else {}).items():
        s.add(
            f"SEU TMR {scope}: corrupted / flagged / injections",
            f"{seu.corrupted} / {seu.flagged} / {seu.injections}",
            "verify/verify (cocotb on Icarus)",
        )
        if seu.protected_injections:
            s.add(
                f"SEU TMR {scope}: cycles an upset stays, mean / max",
                f"{seu.correction_cycles_mean:.3g} / {seu.correction_cycles_max} "
                f"({seu.corrected} of {seu.protected_injections} corrected by the copies' "
                "own clock)",
                "verify/verify: the window in which a second upset of the same bit would "
                "defeat the voter",
            )
    if v is None:
        s.note = (
            "RTL regressions and SEU campaigns: no figures for this design file (`sc verify` "
            "it; see Provenance)."
        )
    return s


def _area(flow: FlowMetrics, figures: Path) -> Section:
    s = Section("Area")
    syn = flow.synth
    if syn is None:
        return s.without("synth")
    origin = f"flow/synth ({syn.pdk}, post-synthesis)"
    s.add("cell area", area(syn.area_um2), origin)
    s.add("cells", syn.cells, origin)
    s.add("flip-flops (TMR copies checked)", syn.flip_flops, origin)
    share = syn.flip_flop_area_um2 / syn.area_um2
    s.add("flip-flop area / share", f"{syn.flip_flop_area_um2:,.0f} µm² / {share:.1%}", origin)
    tmr = syn.tmr_copy_area_um2 / syn.area_um2
    s.add(
        "area of the 2 extra TMR copies / share",
        f"{syn.tmr_copy_area_um2:,.0f} µm² / {tmr:.1%}",
        f"{origin}: 2 x protected bits x mean flip-flop area",
    )
    s.note = (
        "Majority voters are merged into the surrounding logic by synthesis; their cost is "
        "the area difference between TMR scopes (benchmarks/flow_ppa.py)."
    )
    s.figures.append(
        ("Area by kind of cell (flow/synth)", plots.area_split(syn, figures / "area.png"))
    )
    return s


def _timing(cfg: Config, flow: FlowMetrics, figures: Path) -> Section:
    s = Section("Timing")
    sta = flow.sta
    if sta is None:
        return s.without("sta")
    for name, c in sta.corners.items():
        origin = f"flow/sta, corner {name}: {sta.origin}"
        verdict = "met" if c.meets else "NOT met"
        s.add(f"{name}: WNS / TNS", f"{c.wns_ns:.3f} ns / {c.tns_ns:.3f} ns", origin)
        s.add(
            f"{name}: {cfg.design.hardware.clock_mhz:g} MHz",
            f"{verdict} ({c.violating_endpoints:,} of {c.endpoints:,} endpoints fail)",
            origin,
        )
        s.add(
            f"{name}: achievable clock",
            f"{c.fmax_mhz:.1f} MHz ({c.achievable_period_ns:.2f} ns)",
            origin,
        )
        w = c.worst_path
        s.add(
            f"{name}: worst path",
            f"stage {w.stage}: {w.start} -> {w.end}, arrival {w.arrival_ns:.2f} ns, "
            f"slack {w.slack_ns:.3f} ns",
            f"{origin}; stages named by the pipeline points their registers hold",
        )
    s.add(
        "latency",
        f"{sta.latency_cycles} cycle(s) = {sta.latency_cycles * sta.clock_period_ns:.1f} ns, "
        "one inference per cycle",
        "rtl/rtl, at the target clock",
    )
    s.figures.append(
        (
            "Achievable clock per corner against the target (flow/sta)",
            plots.clock(sta.corners, cfg.design.hardware.clock_mhz, figures / "timing.png"),
        )
    )
    return s


def _power(flow: FlowMetrics, figures: Path) -> Section:
    s = Section("Power and energy")
    p = flow.power
    if p is None:
        return s.without("power")
    origin = f"flow/power, corner {p.corner}: {p.origin}"
    s.add("total power", power(p.total_mw), origin)
    s.add(
        "internal / switching / leakage",
        f"{power(p.internal_mw)} / {power(p.switching_mw)} / {power(p.leakage_mw)}",
        origin,
    )
    if p.spread_mw is not None:
        s.add(
            "dependence on the vectors",
            f"± {power(p.spread_mw)} (first / second half of the vectors: "
            f"{' / '.join(power(h) for h in p.halves_mw)})",
            f"{origin}; half the difference between the halves' totals",
        )
    if p.opensta_internal_mw is not None:
        s.add(
            "internal power as OpenSTA reported it",
            power(p.opensta_internal_mw),
            f"{origin}; divided per cell by OpenSTA's ratio to the liberty's tables "
            "(flow/internal_power.py)",
        )
    g = p.groups_mw
    s.add(
        "sequential / combinational",
        f"{power(g['sequential'].total)} / {power(g['combinational'].total)}",
        origin,
    )
    s.add(
        "energy per inference",
        f"{p.energy_per_inference_nj:.4g} nJ (ECON-T, 65 nm: {ECONT_ENERGY_NJ} nJ)",
        f"{origin}; {p.inferences_per_s / 1e6:g} M inferences/s",
    )
    gate = flow.gate_level
    if gate:
        s.add(
            "switching activity",
            f"{gate.activity.cells:,} cells, mean "
            f"{gate.activity.mean_toggles_per_cycle:.3f} toggles per cycle",
            f"flow/gatesim: {gate.vectors:,} vectors, zero-delay cycle simulation",
        )
    for block, figures_mw in sorted(p.blocks_mw.items(), key=lambda kv: -kv[1].total):
        share = figures_mw.total / p.total_mw if p.total_mw else 0.0
        s.add(
            f"power of the {block}",
            f"{power(figures_mw.total)} ({share:.0%}; internal {power(figures_mw.internal)}, "
            f"switching {power(figures_mw.switching)})",
            f"{origin}; cells attributed by where their data comes from (flow/blocks.py)",
        )
    s.figures.append(("Power split (flow/power)", plots.power_split(g, figures / "power.png")))
    if p.blocks_mw:
        s.figures.append(
            (
                "Power by block of the encoder (flow/power)",
                plots.power_blocks(p.blocks_mw, figures / "power_blocks.png"),
            )
        )
    return s


def _copy_picture(r: BuildResults, figures: Path) -> str | None:
    """The routed layout's picture, copied beside the report; its path relative to it."""
    gds = r.layout.gds
    return None if gds is None or gds.png is None else _copy(Path(gds.png), figures, "layout.png")


def _copy(source: Path, figures: Path, name: str | None = None) -> str | None:
    """A step's picture copied beside the report (which stays self-contained); its path
    relative to the report, or None when the step wrote none."""
    if not source.is_file():
        return None
    picture = figures / (name or source.name)
    picture.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, picture)
    return f"{FIGURES}/{picture.name}"


def _runtime(r: BuildResults, figures: Path) -> Section:
    s = Section("Runtime of each step")
    runtimes = {}
    for stage, metrics in r.stages().items():
        if stage == ReportMetrics.STAGE:  # this step is still running
            continue
        for name, seconds in metrics.step_runtimes().items():
            runtimes[f"{stage}/{name}"] = seconds
            s.add(f"{stage}/{name}", f"{seconds:.1f} s", f"{stage}/metrics.json")
    if runtimes:
        s.figures.append(("Runtime per step", plots.runtimes(runtimes, figures / "runtime.png")))
    return s


def _versions(tools_table: list[tuple[str, str, str]]) -> Section:
    s = Section("Tool versions")
    s.add("econflow", __version__, "this report")
    for name, version, use in tools_table:
        s.add(name, version, use)
    for package in PACKAGES:
        try:
            s.add(package, metadata.version(package), "Python package")
        except metadata.PackageNotFoundError:
            s.add(package, "not installed", "Python package")
    return s
