"""The report's layout section: the picture, die and utilization, wire length, DRC count, and
slack and power after synthesis, placement and routing side by side, each labelled with what
it is (post-synthesis, post-placement estimate, post-route)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from econflow.reports.section import Section

STAGES = (  # metrics section, step that wrote it, label
    ("synth", "flow/sta", "post-synthesis"),
    ("place", "layout/place", "post-placement estimate"),
    ("route", "layout/route", "post-route"),
)
NOTE = (
    "Post-placement figures estimate each net's wire from its placement bounding box; "
    "post-route figures load each net with its routed wires (the tech LEF's capacitance per "
    "area and sidewall) and read the interconnect delays rc2dly derives from qrouter's RC. "
    "The clock is ideal (no clock tree). The DRC deck checks the routing layers only and is "
    "not sign-off DRC."
)


def section(flow: dict[str, Any], layout: dict[str, Any], figures: Path) -> Section:
    s = Section("Layout")
    place = layout.get("place")
    if not place:
        s.note = "The place step has not run: every implementation figure is post-synthesis."
        return s
    route, gds = layout.get("route", {}), layout.get("gds", {})
    s.add("engine", f"{place['engine']}: {place['tools']}", f"layout/place: {place['origin']}")
    if place["engine"] == "openroad":
        for step, values in (("place", place), ("route", route)):
            for name, value in values.get("openroad", {}).items():
                s.add(name, value, f"layout/{step}: SiliconCompiler's OpenROAD metrics")
    elif not place["placed"]:
        _floorplan(s, place)
        s.note = "Timing and power stay post-synthesis: the design was not placed here."
        return s
    else:
        _placement(s, place)
        _routing(s, route)
        _comparison(s, flow, place, route)
        s.note = NOTE
    _gds(s, gds, figures)
    return s


def _floorplan(s: Section, place: dict[str, Any]) -> None:
    s.add("placed", f"no: {place['reason']}", "layout/place")
    s.add(
        f"core area at {place['utilization']:.0%} utilization",
        f"{place['core_area_um2'] / 1e6:.4f} mm² (about {place['core_side_um']:,.0f} µm square)",
        f"layout/place: {place['origin']}",
    )


def _placement(s: Section, place: dict[str, Any]) -> None:
    origin = f"layout/place: {place['origin']}"
    s.add(
        "die",
        f"{place['die_width_um']:.1f} x {place['die_height_um']:.1f} µm = "
        f"{place['die_area_um2'] / 1e6:.4f} mm²",
        origin,
    )
    s.add(
        "core utilization (cell area / core area)",
        f"{place['utilization']:.1%} ({place['cell_area_um2']:,.0f} / "
        f"{place['core_area_um2']:,.0f} µm²)",
        origin,
    )
    counts = " / ".join(f"{place[k]:,}" for k in ("cells", "taps", "fill_cells"))
    s.add("cells / well taps / fill cells", counts, origin)
    s.add("placement HPWL", f"{place['hpwl_um'] / 1e3:.2f} mm", origin)
    tmr = place.get("tmr_separation", {})
    if tmr.get("triplets"):
        s.add(
            "TMR: closest two copies of a bit, min / 10th percentile / median",
            f"{tmr['min_um']} / {tmr['p10_um']} / {tmr['median_um']} µm (closest "
            f"{tmr['closest_bit']}; {tmr['triplets']} of {tmr['protected_bits']} bits)",
            f"{origin}; cell origins, copies not kept apart by the placer",
        )


def _routing(s: Section, route: dict[str, Any]) -> None:
    if not route.get("routed"):
        s.add("routed", f"no: {route.get('reason', 'the route step has not run')}", "layout/route")
        return
    origin = f"layout/route: {route['origin']}"
    s.add("failed nets", route["failed_nets"], origin)
    layers = ", ".join(f"{k} {v / 1e3:.2f}" for k, v in route["wirelength_per_layer_um"].items())
    s.add("wire length", f"{route['wirelength_um'] / 1e3:.2f} mm ({layers} mm)", origin)
    s.add(
        "wire capacitance",
        f"{route['wire_cap_pf']:.4g} pF (qrouter's RC: {route['qrouter_rc_cap_pf']:.4g} pF)",
        f"{origin}; the tech LEF's area and sidewall capacitance",
    )


def _comparison(
    s: Section, flow: dict[str, Any], place: dict[str, Any], route: dict[str, Any]
) -> None:
    """Slack and power after synthesis, placement and routing, one row each."""
    analysed = {
        "synth": (flow.get("sta"), flow.get("power")),
        "place": (place.get("timing"), place.get("power")),
        "route": (route.get("timing"), route.get("power")),
    }
    for key, step, label in STAGES:
        timing, power = analysed[key]
        if timing:
            corners = [k for k, v in timing.items() if isinstance(v, dict) and "wns_ns" in v]
            wns = " / ".join(f"{timing[c]['wns_ns']:.3f}" for c in corners)
            where = f"{step}: {timing['origin']}"
            s.add(f"WNS {' / '.join(corners)} ({label})", f"{wns} ns", where)
        if power:
            s.add(
                f"power, switching / energy ({label})",
                f"{power['total_mw']:.4g} mW, {power['switching_mw']:.4g} mW / "
                f"{power['energy_per_inference_nj']:.4g} nJ",
                f"{step}: {power['origin']}",
            )


def _gds(s: Section, gds: dict[str, Any], figures: Path) -> None:
    if not gds.get("written"):
        return
    drc = gds["drc"]
    worst = sorted(((n, c) for c, n in drc["by_rule"].items() if n), reverse=True)[:4]
    detail = ", ".join(f"{c} {n}" for n, c in worst)
    s.add(
        "routing-layer DRC violations",
        f"{drc['violations']:,}" + (f" ({detail})" if detail else ""),
        f"layout/gds: KLayout deck {Path(drc['deck']).name}, {drc['scope']}",
    )
    picture = figures / "layout.png"
    picture.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(gds["png"], picture)
    s.figures.append(
        ("The routed layout, cells merged from the library GDS (layout/gds)", str(picture))
    )
