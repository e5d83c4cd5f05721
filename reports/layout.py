"""The report's layout section: the picture, die and utilization, wire length, DRC count, and
slack and power after synthesis, placement and routing side by side, each labelled with what
it is (post-synthesis, post-placement estimate, post-route)."""

from __future__ import annotations

from pathlib import Path

from econflow.flow.results import (
    FlowMetrics,
    GdsResult,
    LayoutMetrics,
    PlaceResult,
    Power,
    RouteResult,
    Timing,
)
from econflow.reports.section import Section, area, power
from econflow.reports.section import drc as drc_text

NOTE = (
    "Post-placement figures estimate each net's wire from its placement bounding box; "
    "post-route figures load each net with its routed wires (the tech LEF's capacitance per "
    "area and sidewall) and read the interconnect delays rc2dly derives from qrouter's RC. "
    "Timing after placement and routing propagates the clock through its buffer tree (skew "
    "and insertion delay above). The DRC deck checks the routing layers only and is not "
    "sign-off DRC."
)


def section(flow: FlowMetrics, layout: LayoutMetrics, picture: str | None) -> Section:
    """``picture``: the routed layout's picture, relative to the report."""
    s = Section("Layout")
    place = layout.place
    if place is None:
        s.note = (
            "No figures of the place step for this design file (see Provenance): every "
            "implementation figure is post-synthesis."
        )
        return s
    route, gds = layout.route, layout.gds
    s.add("engine", f"{place.engine}: {place.tools}", f"layout/place: {place.origin}")
    if place.engine == "openroad":
        for step, values in (("place", place.openroad), ("route", route and route.openroad)):
            for name, value in (values or {}).items():
                s.add(name, value, f"layout/{step}: SiliconCompiler's OpenROAD metrics")
    elif not place.placed:
        _floorplan(s, place)
        s.note = "Timing and power stay post-synthesis: the design was not placed here."
        return s
    else:
        _placement(s, place)
        _routing(s, route)
        _clock_tree(s, place, route)
        _comparison(s, flow, place, route)
        s.note = NOTE
    _gds(s, gds, picture)
    return s


def _floorplan(s: Section, place: PlaceResult) -> None:
    s.add("placed", f"no: {place.reason}", "layout/place")
    if place.floorplan:
        f = place.floorplan
        s.add(
            f"core area at {f.utilization:.0%} utilization",
            f"{area(f.core_area_um2)}, about {f.core_side_um:,.0f} µm square",
            f"layout/place: {place.origin}",
        )


def _placement(s: Section, place: PlaceResult) -> None:
    p = place.placement
    if p is None:
        return
    origin = f"layout/place: {place.origin}"
    s.add(
        "die",
        f"{p.die_width_um:.1f} x {p.die_height_um:.1f} µm = {area(p.die_area_um2)}",
        origin,
    )
    s.add(
        "core utilization (cell area / core area)",
        f"{p.utilization:.1%} ({p.cell_area_um2:,.0f} / {p.core_area_um2:,.0f} µm²)",
        origin,
    )
    s.add(
        "cells / well taps / fill cells",
        f"{p.cells:,} / {p.taps:,} / {p.fill_cells:,}"
        + (f" ({p.tap_sites_opened} tap sites pushed free)" if p.tap_sites_opened else ""),
        origin,
    )
    s.add("placement HPWL", f"{p.hpwl_um / 1e3:.2f} mm", origin)
    if p.congestion_failed_nets is not None:
        s.add(
            "congestion feedback: first-stage failed nets / cells widened / fill added",
            f"{p.congestion_failed_nets:,} / {p.congestion_widened_cells:,} / "
            f"{p.congestion_fill_cells:,} ({p.congestion_feedback_s:.0f} s)",
            f"{origin}; qrouter's first stage on the first placement, "
            "layout.congestion_feedback of the PDK config",
        )
    tmr = place.tmr_separation
    if tmr is None or tmr.before is None or tmr.after is None:
        return
    for when, found in (("as placed", tmr.before), ("final", tmr.after)):
        s.add(
            f"TMR copies, {when}: closest two of a bit, min / 10th percentile / median",
            f"{found.min_um} / {found.p10_um} / {found.median_um} µm (closest "
            f"{found.closest_bit}; {tmr.triplets} of {tmr.protected_bits} bits)",
            f"{origin}; edge to edge between the cells' boxes",
        )
    s.add(
        "TMR copies moved apart",
        f"{tmr.moved} moves for >= {tmr.required_um:g} µm "
        f"(placement HPWL +{tmr.hpwl_increase_um / 1e3:.2f} mm)",
        f"{origin}; layout.tmr_min_separation_um of the PDK config",
    )


def _clock_tree(s: Section, place: PlaceResult, route: RouteResult | None) -> None:
    """Skew and insertion delay of the propagated clock, post-route where routed."""
    p = place.placement
    if p is not None:
        s.add(
            "buffer-tree buffers (clock and high-fanout nets)",
            p.tree_buffers,
            f"layout/place: {place.origin}; layout.buffer_trees of the PDK config",
        )
    timing, step = (route.timing, "route") if route and route.timing else (place.timing, "place")
    if timing is None:
        return
    for name, corner in timing.corners.items():
        if corner.clock is not None:
            c = corner.clock
            s.add(
                f"clock skew / insertion delay ({name})",
                f"{c.skew_ns:.4f} ns / {c.capture_latency_ns:.4f} to {c.launch_latency_ns:.4f} ns",
                f"layout/{step}: {timing.origin}; OpenSTA report_clock_skew, propagated clock "
                "(worst launch/capture pair)",
            )
            if c.flip_flops:
                s.add(
                    f"clock insertion delay over the flip-flops ({name})",
                    f"{c.flip_flop_latency_min_ns:.4f} to {c.flip_flop_latency_max_ns:.4f} ns "
                    f"({c.flip_flops} flip-flops; spread "
                    f"{c.flip_flop_latency_max_ns - c.flip_flop_latency_min_ns:.4f} ns)",
                    f"layout/{step}: {timing.origin}; OpenSTA hold paths with their clock paths",
                )


def _routing(s: Section, route: RouteResult | None) -> None:
    if route is None or not route.routed or route.routing is None:
        reason = route.reason if route else "no figures of the route step for this design file"
        s.add("routed", f"no: {reason}", "layout/route")
        return
    r = route.routing
    origin = f"layout/route: {route.origin}"
    s.add("failed nets", r.failed_nets, origin)
    layers = ", ".join(f"{k} {v / 1e3:.2f}" for k, v in r.wirelength_per_layer_um.items())
    s.add("wire length", f"{r.wirelength_um / 1e3:.2f} mm ({layers} mm)", origin)
    s.add(
        "wire capacitance",
        f"{r.wire_cap_pf:.4g} pF (qrouter's RC: {r.qrouter_rc_cap_pf:.4g} pF)",
        f"{origin}; the tech LEF's area and sidewall capacitance",
    )
    s.add(
        "routing repairs",
        f"{r.notch_fills} fill rectangles (notches, necks, holes, minimum area), "
        f"{r.spurs_trimmed} dead ends trimmed, {r.cuts_merged} cuts merged, "
        f"{r.vias_turned} vias turned, {r.wires_nudged} wires nudged off a via pad, "
        f"{r.patches_dropped} of qrouter's patches dropped",
        f"{origin}; econflow.flow: gap_fill, spurs, redundant_cuts, via_variants, nudges, patches",
    )


def _comparison(
    s: Section, flow: FlowMetrics, place: PlaceResult, route: RouteResult | None
) -> None:
    """Slack and power after synthesis, placement and routing, one row each."""
    analysed: list[tuple[str, Timing | None, Power | None, str, str]] = [
        ("post-synthesis", flow.sta, flow.power, "flow/sta", "flow/power"),
        ("post-placement estimate", place.timing, place.power, "layout/place", "layout/place"),
        ("post-route", route.timing if route else None, route.power if route else None,
         "layout/route", "layout/route"),
    ]  # fmt: skip
    for label, timing, power_figures, timing_step, power_step in analysed:
        if timing:
            corners = list(timing.corners)
            wns = " / ".join(f"{timing.corners[c].wns_ns:.3f}" for c in corners)
            s.add(
                f"WNS {' / '.join(corners)} ({label})",
                f"{wns} ns",
                f"{timing_step}: {timing.origin}",
            )
        if power_figures:
            s.add(
                f"power, switching / energy ({label})",
                f"{power(power_figures.total_mw)}, {power(power_figures.switching_mw)} / "
                f"{power_figures.energy_per_inference_nj:.4g} nJ",
                f"{power_step}: {power_figures.origin}",
            )


def _gds(s: Section, gds: GdsResult | None, picture: str | None) -> None:
    if gds is None or not gds.written or gds.drc is None:
        return
    s.add(
        "routing-layer DRC violations",
        drc_text(gds.drc.by_rule, gds.drc.violations),
        f"layout/gds: KLayout deck {Path(gds.drc.deck).name}, {gds.drc.scope}",
    )
    if gds.magic is not None:
        s.add(
            "Magic DRC, full deck (second opinion)",
            drc_text(gds.magic.by_rule, gds.magic.errors)
            + f" error boxes; {gds.magic.errors_in_cells_alone:,} in library cells checked alone",
            f"layout/gds: Magic with {Path(gds.magic.tech).name}; boxes in the design's cell "
            "count, those inside cells and vias checked out of context do not",
        )
    if picture:
        s.figures.append(
            ("The routed layout, cells merged from the library GDS (layout/gds)", picture)
        )
