"""How far apart placement put the three copies of each TMR-protected register bit.

One particle can upset neighbouring flip-flops together, and a majority voter masks an upset
of one copy only: two copies of a bit side by side are the weakness TMR leaves. graywolf has
no region constraints to keep the copies apart, so the flow measures what the placement gave.
"""

from __future__ import annotations

import math
import statistics
from itertools import combinations

from econflow.flow.formats.defdata import Component
from econflow.flow.results import TmrSeparation
from econflow.rtl import naming

# Yosys' name of a protected register's flip-flop: r_<register>/copy_<a|b|c>[<bit>]$<cell>
_COPY = naming.copy_pattern()


def separation(
    placed: list[Component],
    instances: dict[str, str],
    protected: dict[str, int],
    scale: int,
) -> TmrSeparation:
    """The distance between the two closest copies of each protected bit (cell origins, µm).

    Args:
        placed: the placed DEF's components.
        instances: placed instance name -> synthesized name.
        protected: protected register -> width (bits), from the RTL design.
        scale: DEF units per µm.
    """
    at = {c.name: (c.x, c.y) for c in placed}
    copies: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for name, synthesized in instances.items():
        m = _COPY.match(synthesized)
        if m and m["reg"] in protected:
            copies.setdefault((m["reg"], int(m["bit"] or 0)), []).append(at[name])
    closest = {
        bit: min(math.dist(p, q) for p, q in combinations(spots, 2)) / scale
        for bit, spots in copies.items()
        if len(spots) == 3
    }
    if not closest:
        return TmrSeparation(triplets=0, protected_bits=sum(protected.values()))
    worst = min(closest, key=closest.__getitem__)
    values = sorted(closest.values())
    return TmrSeparation(
        triplets=len(closest),
        protected_bits=sum(protected.values()),
        min_um=round(values[0], 2),
        p10_um=round(values[len(values) // 10], 2),
        median_um=round(statistics.median(values), 2),
        closest_bit=f"{worst[0]}[{worst[1]}]",
    )
