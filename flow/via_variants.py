"""Vias turned to another of the PDK's shapes of the same cut, or moved back onto the wire
they join, where a pad comes too close to another net.

qrouter knows one via per cut layer (its tech LEF keeps only the first, docs/architecture.md
section 5), so every pad is, for mcon and via1, the long side across the wire. At an off-grid
pin access that pad can end diagonally 0.134 um from another net's via pad (met1 spacing
0.14). The PDK defines each cut with its pads turned (``_R``) or trimmed (``_M``, ``_MR``);
the same cut in one of them, where all of its pads keep the spacing from every other net,
removes the violation without moving anything. qrouter also sets some vias up to 0.06 um off
the wire they join, towards a power rail (met1 spacing 0.08 um to the rail, 8 on one nano
placement): such a via goes back towards where the wire starts, as far as its pads need to
keep the spacing. Written by hand: no router here rewrites a routed DEF's vias.
"""

from __future__ import annotations

from collections import defaultdict

from econflow.flow import gap_fill
from econflow.flow.formats import defdata
from econflow.pdk import RoutingLayer

Rect = gap_fill.Rect
_OFFSET_UM = 0.17  # the most qrouter sets a via off the wire it joins (seen: 0.06 um)


def with_turned_vias(
    text: str,
    layers: list[RoutingLayer],
    pads: dict[str, dict[str, gap_fill.Box]],
    cell_lef: str,
) -> tuple[str, int]:
    """The DEF with each via whose pad comes closer to another net than the layer's spacing
    changed to the first variant of its cut whose pads all keep it, and how many changed."""
    routed = gap_fill.Routed(text, pads, cell_lef)
    metals = {layer.name: layer for layer in layers}
    index = {
        name: gap_fill.Index(routed.everything(layer), round(layer.spacing * routed.scale))
        for name, layer in metals.items()
    }
    variants = _variants(routed.pads, set(metals))
    by_net: dict[str, list[defdata.RoutedPath]] = defaultdict(list)
    for path in routed.paths:
        by_net[path.net].append(path)
    reach = round(_OFFSET_UM * routed.scale)
    fixed = {name: routed.fixed(name) for name in metals}
    edits: dict[tuple[int, int], str] = {}
    for path in routed.paths:
        if path.via not in variants:
            continue
        old = _placed(routed.pads[path.via], path.points[-1], metals)
        if all(index[layer].clear(rect, path.net) for layer, rect in old.items()):
            continue
        net = [p for p in by_net[path.net] if p is not path]
        for via, at in _choices(path, variants[path.via], net, reach):
            new = _placed(routed.pads[via], at, metals)
            if not all(index[layer].clear(rect, path.net) for layer, rect in new.items()):
                continue
            followers = _followers(text, path, at, net, metals, index, fixed, routed.scale)
            ending = _ending(text, path, via, at, net, metals, index, fixed, routed.scale)
            if followers is None or ending is None:
                continue
            for layer in old:
                index[layer].remove(path.net, old[layer])
                index[layer].add(path.net, new[layer])
            edits[path.span] = ending
            edits.update(followers)
            break
    for (start, end), statement in sorted(edits.items(), reverse=True):
        text = text[:start] + statement + text[end:]
    return text, sum(1 for path in routed.paths if path.span in edits and path.via)


def _choices(
    path: defdata.RoutedPath, others: list[str], net: list[defdata.RoutedPath], reach: int
) -> list[tuple[str, tuple[int, int]]]:
    """Where the via at the end of ``path`` may go, in order: turned in place, then moved (as
    it is, then turned), nearest first, towards the wire qrouter set it off: back towards
    the path's point before it, or on towards where another wire of the net starts, up to
    ``reach`` away along the path's last leg (unless it moves whole, ``_carried``) and the
    legs leaving the via or ending on it (a stub leaving it across the move moves with it).
    Not where another statement of the net ends in a via there."""
    at = path.points[-1]
    found = [(via, at) for via in others]
    enders = [p for p in net if p.points[-1] == at]
    if any(p.via for p in enders):
        return found
    followers = [p for p in net if p.points[0] == at and not _stub(p)]
    targets = [p.points[0] for p in net if p.points[0] != at]
    if len(path.points) > 1:
        targets.append(path.points[-2])
    moves: list[tuple[int, int, str, tuple[int, int]]] = []
    legs = [] if _carried(path, net) else [path.points[-2:]]
    legs += [p.points[:2] for p in followers] + [p.points[-2:] for p in enders]
    for target in targets:
        length = _length(at, target)
        if 0 < length <= reach and all(_along(leg, at, target) for leg in legs):
            moves += _steps(at, target, length, [path.via or "", *others], 0)
    for ux, uy in ((1, 0), (-1, 0), (0, 1), (0, -1)):  # with a jog where a leg turns
        target = (at[0] + reach * ux, at[1] + reach * uy)
        moves += _steps(at, target, reach, [path.via or "", *others], 1)
    return found + [(via, to) for _, _, via, to in sorted(moves, key=lambda m: m[:2])]


def _steps(
    at: tuple[int, int], target: tuple[int, int], length: int, vias: list[str], jogs: int
) -> list[tuple[int, int, str, tuple[int, int]]]:
    """Each point from ``at`` towards ``target``, ``length`` away, with each of ``vias``,
    ranked by whether it needs jogs, then by distance."""
    ux, uy = (target[0] - at[0]) // length, (target[1] - at[1]) // length
    return [
        (jogs, step, via, (at[0] + step * ux, at[1] + step * uy))
        for step in range(1, length + 1)
        for via in vias
    ]


def _followers(
    text: str,
    path: defdata.RoutedPath,
    at: tuple[int, int],
    net: list[defdata.RoutedPath],
    metals: dict[str, RoutingLayer],
    index: dict[str, gap_fill.Index],
    fixed: dict[str, dict[str, list[Rect]]],
    scale: int,
) -> dict[tuple[int, int], str] | None:
    """The statements leaving the via or ending on it, rewritten to meet it at ``at``: a wire
    along the move starts or ends there, a stub across it moves whole, where it keeps the
    spacing and still touches the pins it touched, other wires gain a jog; None where one
    cannot."""
    was = path.points[-1]
    found: dict[tuple[int, int], str] = {}
    if at == was:
        return found
    dx, dy = at[0] - was[0], at[1] - was[1]
    for follower in (p for p in net if p.points[0] == was):
        statement = text[follower.span[0] : follower.span[1]]
        if _along(follower.points[:2], was, at):
            found[follower.span] = _starting(text, follower, at)
            continue
        layer = metals.get(follower.layer)
        if layer is None:
            return None
        if not _stub(follower):
            if not _jog_clear(was, at, layer, path.net, index, scale):
                return None
            points = [at, *follower.points]
            found[follower.span] = defdata.path_statement(statement, follower, points, follower.via)
            continue
        shifted = _shifted(statement, follower, (dx, dy), follower.via, layer, index, fixed, scale)
        if shifted is None:
            return None
        found[follower.span] = shifted
    for ender in (p for p in net if p.points[-1] == was):
        layer = metals.get(ender.layer)
        if layer is None or not _jog_clear(was, at, layer, path.net, index, scale):
            return None
        along = _along(ender.points[-2:], was, at)
        points = [*ender.points[:-1], at] if along else [*ender.points, at]
        statement = text[ender.span[0] : ender.span[1]]
        found[ender.span] = defdata.path_statement(statement, ender, points, ender.via)
    return found


def _shifted(
    statement: str,
    path: defdata.RoutedPath,
    by: tuple[int, int],
    via: str | None,
    layer: RoutingLayer,
    index: dict[str, gap_fill.Index],
    fixed: dict[str, dict[str, list[Rect]]],
    scale: int,
) -> str | None:
    """``path``'s statement moved whole by ``by`` and ending in ``via``, where its wire keeps
    the spacing and still touches the pins it touched; None where it does not."""
    half = round(layer.width * scale / 2)
    before = gap_fill.leg_rect(path.points[0], path.points[-1], half)
    after = (before[0] + by[0], before[1] + by[1], before[2] + by[0], before[3] + by[1])
    touched = [r for r in fixed[layer.name].get(path.net, []) if gap_fill.touching(r, before)]
    if not index[layer.name].clear(after, path.net) or not all(
        gap_fill.touching(r, after) for r in touched
    ):
        return None
    moved = [(x + by[0], y + by[1]) for x, y in path.points]
    return defdata.path_statement(statement, path, moved, via)


def _jog_clear(
    a: tuple[int, int],
    b: tuple[int, int],
    layer: RoutingLayer,
    net: str,
    index: dict[str, gap_fill.Index],
    scale: int,
) -> bool:
    """Whether a wire on ``layer`` from ``a`` to ``b`` keeps the spacing from other nets."""
    return index[layer.name].clear(gap_fill.leg_rect(a, b, round(layer.width * scale / 2)), net)


def _stub(path: defdata.RoutedPath) -> bool:
    """A two-point wire with no via: qrouter's way from an off-grid via to a pin."""
    return len(path.points) == 2 and path.via is None


def _carried(path: defdata.RoutedPath, net: list[defdata.RoutedPath]) -> bool:
    """A straight wire into the via that joins nothing of its net at its other end (it
    starts on a pin): it may move whole with the via."""
    return len(path.points) == 2 and not any(path.points[0] in p.points for p in net)


def _length(a: tuple[int, int], b: tuple[int, int]) -> int:
    """The distance from ``a`` to ``b`` along one axis; above any reach off one."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) if a[0] == b[0] or a[1] == b[1] else 1 << 30


def _along(leg: tuple[tuple[int, int], ...], a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether a leg (one or two points) stays straight when its end at ``a`` moves to ``b``."""
    if len(leg) < 2:
        return True
    (x0, y0), (x1, y1) = leg
    return (x0 == x1 == a[0] == b[0]) or (y0 == y1 == a[1] == b[1])


def _ending(
    text: str,
    path: defdata.RoutedPath,
    via: str,
    at: tuple[int, int],
    net: list[defdata.RoutedPath],
    metals: dict[str, RoutingLayer],
    index: dict[str, gap_fill.Index],
    fixed: dict[str, dict[str, list[Rect]]],
    scale: int,
) -> str | None:
    """``path``'s statement ending at ``at`` in ``via``: its last leg lengthened or
    shortened where the move runs along it, else the whole wire moved where it only joins
    a pin (``_carried``), else a jog added, where that keeps the spacing; None where none
    does."""
    statement = text[path.span[0] : path.span[1]]
    was = path.points[-1]
    if at == was:
        return statement.removesuffix(path.via or "") + via
    if len(path.points) == 1 or _along(path.points[-2:], was, at):
        return defdata.path_statement(statement, path, [*path.points[:-1], at], via)
    layer = metals.get(path.layer)
    if layer is None:
        return None
    if _carried(path, net):
        by = (at[0] - was[0], at[1] - was[1])
        shifted = _shifted(statement, path, by, via, layer, index, fixed, scale)
        if shifted is not None:
            return shifted
    if not _jog_clear(was, at, layer, path.net, index, scale):
        return None
    return defdata.path_statement(statement, path, [*path.points, at], via)


def _starting(text: str, path: defdata.RoutedPath, at: tuple[int, int]) -> str:
    """``path``'s statement starting at ``at``."""
    return defdata.path_statement(
        text[path.span[0] : path.span[1]], path, [at, *path.points[1:]], path.via
    )


def _variants(pads: dict[str, dict[str, Rect]], metals: set[str]) -> dict[str, list[str]]:
    """Via -> the other vias with the same cut and the same two metal layers."""

    def key(via: str) -> list[tuple[str, Rect]]:
        return sorted((layer, rect) for layer, rect in pads[via].items() if layer not in metals)

    def layers(via: str) -> set[str]:
        return {layer for layer in pads[via] if layer in metals}

    return {
        via: [other for other in pads if other != via and key(other) == key(via)
              and layers(other) == layers(via)]
        for via in pads
    }  # fmt: skip


def _placed(
    shapes: dict[str, Rect], at: tuple[int, int], metals: dict[str, RoutingLayer]
) -> dict[str, Rect]:
    x, y = at
    return {
        layer: (x + r[0], y + r[1], x + r[2], y + r[3])
        for layer, r in shapes.items()
        if layer in metals
    }
