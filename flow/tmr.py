"""TMR in the implementation: every copy of each protected register bit kept by synthesis as a
flip-flop of its own, and how far apart placement put the three.

Copies are found by name (:mod:`econflow.rtl.naming`): Yosys keeps the hierarchy in the
flip-flop names (``<register primitive's path>/copy_a[<bit>]$<cell>``). Counting flip-flops
would not do: synthesis rightly removes pipeline bits that are constant, and a merged copy
can hide behind one removed elsewhere.

One particle can upset neighbouring flip-flops together, and a majority voter masks an upset
of one copy only: two copies of a bit side by side are the weakness TMR leaves. graywolf has
no region constraints to keep the copies apart, so the flow measures what the placement gave.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from itertools import combinations

from econflow.errors import EconflowError
from econflow.flow.formats.defdata import Component
from econflow.flow.results import TmrSeparation
from econflow.rtl import naming
from econflow.rtl.artefacts import RegisterBank

_COPY = naming.copy_pattern()

Bit = tuple[str, int]  # protected register, bit


class TmrLostError(EconflowError):
    """Synthesis merged or removed TMR copies."""


def copies(names: Iterable[str], registers: Iterable[RegisterBank]) -> dict[Bit, dict[str, str]]:
    """Protected bit -> copy (``copy_a``...) -> the instance holding it, for instance names
    of synthesized flip-flops."""
    protected = {r.instance: r.name for r in registers if r.protected}
    found: dict[Bit, dict[str, str]] = {}
    for name in names:
        m = _COPY.match(name)
        if m and m["instance"] in protected:
            bit = (protected[m["instance"]], int(m["bit"] or 0))
            found.setdefault(bit, {})[m["copy"]] = name
    return found


def check_kept(flip_flops: Iterable[str], registers: list[RegisterBank], where: str) -> int:
    """Every bit of every protected register must be three flip-flops.

    Returns:
        The protected bits checked.

    Raises:
        TmrLostError: naming the first bit with a copy missing, and how many bits are short.
    """
    found = copies(flip_flops, registers)
    protected = {r.name: r.width for r in registers if r.protected}
    short = [
        ((reg, bit), [c for c in naming.COPIES if c not in found.get((reg, bit), {})])
        for reg, width in protected.items()
        for bit in range(width)
    ]
    short = [(bit, missing) for bit, missing in short if missing]
    if short:
        (reg, bit), missing = short[0]
        raise TmrLostError(
            f"{where}: protected bit {reg}[{bit}] has no flip-flop for {', '.join(missing)} "
            f"after synthesis ({len(short)} of {sum(protected.values())} protected bits short "
            "of three copies): synthesis merged or removed TMR copies"
        )
    return sum(protected.values())


def separation(
    placed: list[Component],
    instances: dict[str, str],
    registers: list[RegisterBank],
    scale: int,
) -> TmrSeparation:
    """The distance between the two closest copies of each protected bit (cell origins, µm).

    Args:
        placed: the placed DEF's components.
        instances: placed instance name -> synthesized name.
        registers: the RTL design's register banks.
        scale: DEF units per µm.
    """
    at = {c.name: (c.x, c.y) for c in placed}
    placed_name = {synthesized: name for name, synthesized in instances.items()}
    closest = {}
    for bit, held in copies(placed_name, registers).items():
        spots = [at[placed_name[name]] for name in held.values()]
        if len(spots) == 3:
            closest[bit] = min(math.dist(p, q) for p, q in combinations(spots, 2)) / scale
    protected_bits = sum(r.width for r in registers if r.protected)
    if not closest:
        return TmrSeparation(triplets=0, protected_bits=protected_bits)
    worst = min(closest, key=closest.__getitem__)
    values = sorted(closest.values())
    return TmrSeparation(
        triplets=len(closest),
        protected_bits=protected_bits,
        min_um=round(values[0], 2),
        p10_um=round(values[len(values) // 10], 2),
        median_um=round(statistics.median(values), 2),
        closest_bit=f"{worst[0]}[{worst[1]}]",
    )
