"""A wire of one net nudged off its track beside a via pad of another net that cannot move.

qrouter sets a via off its track where a cell's shape is on the other side (a via1 pad
0.045 um up from a dfrtp_1 obstruction), and its pad then comes 0.095 um from the wire on
the next track (met1 spacing 0.14). Where no shape of the via keeps the spacing in place or
moved (``via_variants``), the part of that wire alongside the pad moves across, away from
the pad, by what the spacing lacks (less than the wire's width), with a jog at each end: the
wire stays one piece and the pad keeps its place. Only where the moved part and its jogs keep
the spacing from every other net, and nothing else of the wire's net joins it there.
Written by hand: no router here rewrites a routed DEF's wires.
"""

from __future__ import annotations

from collections import defaultdict

from econflow.flow import gap_fill
from econflow.flow.formats import defdata
from econflow.pdk import RoutingLayer

Rect = gap_fill.Rect
Leg = tuple[defdata.RoutedPath, int]  # a path and the index of its leg's first point


def with_nudged_wires(
    text: str,
    layers: list[RoutingLayer],
    pads: dict[str, dict[str, gap_fill.Box]],
    cell_lef: str,
) -> tuple[str, int]:
    """The DEF with the wires nudged off the via pads they come too close to, and how many."""
    routed = gap_fill.Routed(text, pads, cell_lef)
    metals = {layer.name: layer for layer in layers}
    index = {
        name: gap_fill.Index(routed.everything(layer), round(layer.spacing * routed.scale))
        for name, layer in metals.items()
    }
    legs = _legs(routed, metals)
    joints = _joints(routed)
    edits: dict[tuple[int, int], str] = {}
    for path in (p for p in routed.paths if p.via is not None):
        x, y = path.points[-1]
        for name, r in routed.pads[path.via].items():
            if name not in metals:
                continue
            pad = (x + r[0], y + r[1], x + r[2], y + r[3])
            for net, rect in index[name].near(pad, path.net):
                leg = legs[name].get((net, rect))
                if leg is None or leg[0].span in edits:
                    continue
                nudge = _nudge(leg, pad, metals[name], index[name], joints, routed)
                if nudge is not None:
                    points, old, new = nudge
                    index[name].remove(net, old)
                    for piece in new:
                        index[name].add(net, piece)
                    edits[leg[0].span] = defdata.path_statement(
                        text[slice(*leg[0].span)], leg[0], points, leg[0].via
                    )
    for (start, end), statement in sorted(edits.items(), reverse=True):
        text = text[:start] + statement + text[end:]
    return text, len(edits)


def _legs(routed: gap_fill.Routed, metals: dict[str, RoutingLayer]) -> dict[str, dict]:
    """Layer -> (net, a leg's rectangle as the index holds it) -> the leg."""
    found: dict[str, dict[tuple[str, Rect], Leg]] = defaultdict(dict)
    for path in routed.paths:
        layer = metals.get(path.layer)
        if layer is None:
            continue
        half = round(layer.width * routed.scale / 2)
        for k, (a, b) in enumerate(zip(path.points, path.points[1:], strict=False)):
            found[layer.name][(path.net, gap_fill.leg_rect(a, b, half))] = (path, k)
    return found


def _joints(routed: gap_fill.Routed) -> dict[str, list[tuple[int, int]]]:
    """Net -> the points where its statements start or end (on any layer: a via joins)."""
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for path in routed.paths:
        found[path.net] += [path.points[0], path.points[-1]]
    return found


def _nudge(
    leg: Leg,
    pad: Rect,
    layer: RoutingLayer,
    index: gap_fill.Index,
    joints: dict[str, list[tuple[int, int]]],
    routed: gap_fill.Routed,
) -> tuple[list[tuple[int, int]], Rect, list[Rect]] | None:
    """The path's points with the leg's part beside ``pad`` moved off it, the leg's old
    rectangle and the new ones; None where the move would not keep the spacing, where the
    part reaches the leg's ends, or where another statement or pin of the net joins it."""
    path, k = leg
    a, b = path.points[k], path.points[k + 1]
    along = 0 if a[1] == b[1] else 1
    if a[along] == b[along] or a[1 - along] != b[1 - along]:
        return None
    across = 1 - along
    half = round(layer.width * routed.scale / 2)
    spacing = index.spacing
    track = a[across]
    side = 1 if 2 * track > pad[across] + pad[across + 2] else -1
    gap = track - half - pad[across + 2] if side > 0 else pad[across] - (track + half)
    shift = spacing - gap
    if gap < 0 or not 0 < shift < 2 * half:
        return None
    lo, hi = pad[along] - spacing - half, pad[along + 2] + spacing + half
    first, last = sorted((a[along], b[along]))
    if not first < lo < hi < last:
        return None
    moved = track + side * shift

    def point(at: int, where: int) -> tuple[int, int]:
        return (at, where) if along == 0 else (where, at)

    part = gap_fill.leg_rect(point(lo, moved), point(hi, moved), half)
    jogs = [gap_fill.leg_rect(point(at, track), point(at, moved), half) for at in (lo, hi)]
    if not all(index.clear(r, path.net) for r in (part, *jogs)):
        return None
    reach = gap_fill.leg_rect(point(lo, track), point(hi, track), half)
    pins = routed.fixed(layer.name).get(path.net, [])
    if any(_inside(p, reach) and lo < p[along] < hi for p in joints[path.net]) or any(
        gap_fill.touching(r, reach) for r in pins
    ):
        return None
    ends = (lo, hi) if a[along] < b[along] else (hi, lo)
    turn = [point(ends[0], track), point(ends[0], moved), point(ends[1], moved),
            point(ends[1], track)]  # fmt: skip
    points = [*path.points[: k + 1], *turn, *path.points[k + 1 :]]
    rest = [
        gap_fill.leg_rect(a, point(ends[0], track), half),
        gap_fill.leg_rect(point(ends[1], track), b, half),
    ]
    return points, gap_fill.leg_rect(a, b, half), [*rest, part, *jogs]


def _inside(p: tuple[int, int], rect: Rect) -> bool:
    return rect[0] <= p[0] <= rect[2] and rect[1] <= p[1] <= rect[3]
