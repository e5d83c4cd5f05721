"""The design report (``<build>/report/report.html`` and ``report.md``), built from the
stages' metrics files only, with matplotlib figures. Every figure names the stage and step
it comes from."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from econflow import __version__
from econflow.config import Config
from econflow.reports import layout, plots
from econflow.reports.section import Section
from econflow.stage import METRICS, read_metrics
from econflow.templating import environment

STAGE = "report"
STAGES = ("models", "hls", "rtl", "verify", "flow", "layout")
PACKAGES = ("siliconcompiler", "lambdapdk", "tensorflow", "qkeras", "hls4ml", "pot", "cocotb")
ECONT_ENERGY_NJ = 2.4  # ECON-T, 65 nm (DESIGN.md section 3)


def load_metrics(build: Path) -> dict[str, dict[str, Any]]:
    """Each stage's metrics (empty for a stage that has not run)."""
    return {stage: read_metrics(build / stage / METRICS) for stage in STAGES}


def build(cfg: Config, build_dir: Path, tools_table: list[tuple[str, str, str]]) -> list[Path]:
    """Write the report and its figures; returns the files written."""
    out = build_dir / STAGE
    figures = out / "figures"
    m = load_metrics(build_dir)
    sections = [
        _design(cfg),
        _quality(m["models"], figures),
        _hardware(m["hls"], m["rtl"]),
        _exactness(m["models"], m["hls"], m["verify"], m["flow"]),
        _area(m["flow"], figures),
        _timing(cfg, m["flow"], figures),
        _power(m["flow"], figures),
        layout.section(m["flow"], m["layout"], figures),
        _runtime(m, figures),
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


def _quality(models: dict[str, Any], figures: Path) -> Section:
    s = Section("Compression quality")
    if "autoencoder" not in models:
        s.note = "The models stage has not run."
        return s
    ae = models["autoencoder"]
    origin = f"models/train: EMD on {ae['eval_modules']:,} held-out modules"
    s.add(f"autoencoder mean EMD ({ae['loss_name']} loss)", ae["emd_mean"], origin)
    s.add("autoencoder median EMD", ae["emd_median"], origin)
    for name, values in sorted(models.get("baselines", {}).items()):
        s.add(f"{name} mean EMD (same bit budget)", values["emd_mean"], origin)
    if "emd_cnn" in models:
        e = models["emd_cnn"]
        s.add(
            "EMD-CNN relative error mean / std",
            f"{e['rel_error_mean']:+.4f} / {e['rel_error_std']:.4f}",
            f"models/emd: {e['pairs_eval']:,} held-out pairs",
        )
    quality = models.get("quality", {})
    if quality:
        s.figures.append(
            (
                "EMD of the autoencoder and the baselines (models/train)",
                plots.emd_histogram(quality["emd_histogram"], figures / "emd_histogram.png"),
            )
        )
        s.figures.append(
            (
                "EMD against module occupancy: median and 16-84% band (models/train)",
                plots.emd_vs_occupancy(
                    quality["emd_vs_occupancy"], figures / "emd_vs_occupancy.png"
                ),
            )
        )
    return s


def _hardware(hls: dict[str, Any], rtl: dict[str, Any]) -> Section:
    s = Section("HLS and RTL")
    if "csim" in hls:
        s.add("HLS backends (C simulation)", ", ".join(hls["csim"]["backends"]), "hls/hls")
    if "rtl" not in rtl:
        s.note = "The rtl step has not run."
        return s
    r = rtl["rtl"]
    s.add("latency", f"{r['latency_cycles']} clock cycle(s), one inference per cycle", "rtl/rtl")
    s.add("weights / TMR", f"{r['weights']} / {r['tmr']}", "rtl/rtl")
    s.add("configuration registers", r["parameters"], "rtl/rtl")
    regs = r["registers"]
    s.add(
        "TMR-protected / register bits",
        f"{regs['protected_bits']:,} / {regs['total_bits']:,}",
        "rtl/rtl",
    )
    s.add("flip-flops (with TMR copies)", regs["flip_flops"], "rtl/rtl")
    s.add("Verilator -Wall warnings", r["lint"]["warnings"], "rtl/rtl")
    return s


def _exactness(models: dict, hls: dict, verify: dict, flow: dict) -> Section:
    s = Section("Bit-exactness and single-event upsets")
    if "bit_exact" in models:
        b = models["bit_exact"]
        s.add(
            "QKeras vs fixed-point model",
            f"{b['mismatches']} / {b['samples']:,}",
            "models/quantize",
        )
    if "csim" in hls:
        c = hls["csim"]
        s.add("HLS C simulation vs fixed-point", f"{c['mismatches']} / {c['samples']:,}", "hls/hls")
    v = verify.get("verify", {})
    for sim, r in v.get("bulk", {}).items():
        s.add(
            f"RTL vs fixed-point ({sim})",
            f"{r['mismatches']} / {r['vectors']:,}",
            "verify/verify (bulk)",
        )
    g = flow.get("gate_level")
    if g:
        s.add(
            "gate-level netlist vs fixed-point (Icarus, sky130 cells)",
            f"{g['mismatches']} / {g['vectors']:,}",
            "flow/gatesim",
        )
    for scope, seu in v.get("seu", {}).items():
        s.add(
            f"SEU TMR {scope}: corrupted / flagged / injections",
            f"{seu['corrupted']} / {seu['flagged']} / {seu['injections']}",
            "verify/verify (cocotb on Icarus)",
        )
    if not v:
        s.note = "RTL regressions and SEU campaigns: not run (`sc verify` the design file)."
    return s


def _area(flow: dict, figures: Path) -> Section:
    s = Section("Area")
    syn = flow.get("synth")
    if not syn:
        s.note = "The synth step has not run."
        return s
    origin = f"flow/synth ({syn['pdk']}, post-synthesis)"
    s.add("cell area", f"{syn['area_um2'] / 1e6:.4f} mm² ({syn['area_um2']:,.0f} µm²)", origin)
    s.add("cells", syn["cells"], origin)
    s.add("flip-flops (TMR copies checked)", syn["flip_flops"], origin)
    share = syn["flip_flop_area_um2"] / syn["area_um2"]
    s.add("flip-flop area / share", f"{syn['flip_flop_area_um2']:,.0f} µm² / {share:.1%}", origin)
    tmr = syn["tmr_copy_area_um2"] / syn["area_um2"]
    s.add(
        "area of the 2 extra TMR copies / share",
        f"{syn['tmr_copy_area_um2']:,.0f} µm² / {tmr:.1%}",
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


def _timing(cfg: Config, flow: dict, figures: Path) -> Section:
    s = Section("Timing")
    sta = flow.get("sta")
    if not sta:
        s.note = "The sta step has not run."
        return s
    corners = {k: v for k, v in sta.items() if isinstance(v, dict)}
    for name, c in corners.items():
        origin = f"flow/sta, corner {name}: {sta['origin']}"
        verdict = "met" if c["meets"] else "NOT met"
        s.add(f"{name}: WNS / TNS", f"{c['wns_ns']:.3f} ns / {c['tns_ns']:.3f} ns", origin)
        s.add(
            f"{name}: {cfg.design.hardware.clock_mhz:g} MHz",
            f"{verdict} ({c['violating_endpoints']:,} of {c['endpoints']:,} endpoints fail)",
            origin,
        )
        s.add(
            f"{name}: achievable clock",
            f"{c['fmax_mhz']:.1f} MHz ({c['achievable_period_ns']:.2f} ns)",
            origin,
        )
    s.figures.append(
        (
            "Achievable clock per corner against the target (flow/sta)",
            plots.clock(corners, cfg.design.hardware.clock_mhz, figures / "timing.png"),
        )
    )
    return s


def _power(flow: dict, figures: Path) -> Section:
    s = Section("Power and energy")
    p = flow.get("power")
    if not p:
        s.note = "The power step has not run."
        return s
    origin = f"flow/power, corner {p['corner']}: {p['origin']}"
    s.add("total power", f"{p['total_mw']:.4g} mW", origin)
    s.add(
        "internal / switching / leakage",
        f"{p['internal_mw']:.4g} / {p['switching_mw']:.4g} / {p['leakage_mw']:.3g} mW",
        origin,
    )
    g = p["groups_mw"]
    s.add(
        "sequential / combinational",
        f"{g['sequential']['total']:.4g} / {g['combinational']['total']:.4g} mW",
        origin,
    )
    s.add(
        "energy per inference",
        f"{p['energy_per_inference_nj']:.4g} nJ (ECON-T, 65 nm: {ECONT_ENERGY_NJ} nJ)",
        f"{origin}; {p['inferences_per_s'] / 1e6:g} M inferences/s",
    )
    gate = flow.get("gate_level", {})
    if gate:
        s.add(
            "switching activity",
            f"{gate['activity']['cells']:,} cells, mean "
            f"{gate['activity']['mean_toggles_per_cycle']:.3f} toggles per cycle",
            f"flow/gatesim: {gate['vectors']:,} held-out vectors, zero-delay simulation",
        )
    s.figures.append(("Power split (flow/power)", plots.power_split(g, figures / "power.png")))
    return s


def _runtime(m: dict[str, dict[str, Any]], figures: Path) -> Section:
    s = Section("Runtime of each step")
    runtimes = {}
    for stage, sections in m.items():
        for name, values in sections.items():
            if isinstance(values, dict) and "runtime_s" in values:
                runtimes[f"{stage}/{name}"] = values["runtime_s"]
                s.add(f"{stage}/{name}", f"{values['runtime_s']:.1f} s", f"{stage}/metrics.json")
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
