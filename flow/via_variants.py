"""Vias turned to another of the PDK's shapes of the same cut where a pad comes too close to
another net.

qrouter knows one via per cut layer (its tech LEF keeps only the first, docs/architecture.md
section 5), so every pad is, for mcon and via1, the long side across the wire. At an off-grid
pin access that pad can end diagonally 0.134 um from another net's via pad (met1 spacing
0.14). The PDK defines each cut with its pads turned (``_R``) or trimmed (``_M``, ``_MR``);
the same cut in one of them, where all of its pads keep the spacing from every other net,
removes the violation without moving anything. Written by hand: no router here rewrites a
routed DEF's vias.
"""

from __future__ import annotations

from econflow.flow import gap_fill
from econflow.pdk import RoutingLayer

Rect = gap_fill.Rect


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
    edits: list[tuple[tuple[int, int], str]] = []
    for path in routed.paths:
        if path.via not in variants:
            continue
        old = _placed(routed.pads[path.via], path.points[-1], metals)
        if all(index[layer].clear(rect, path.net) for layer, rect in old.items()):
            continue
        for other in variants[path.via]:
            new = _placed(routed.pads[other], path.points[-1], metals)
            if all(index[layer].clear(rect, path.net) for layer, rect in new.items()):
                for layer in old:
                    index[layer].remove(path.net, old[layer])
                    index[layer].add(path.net, new[layer])
                statement = text[path.span[0] : path.span[1]]
                edits.append((path.span, statement.removesuffix(path.via) + other))
                break
    for (start, end), statement in sorted(edits, reverse=True):
        text = text[:start] + statement + text[end:]
    return text, len(edits)


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
