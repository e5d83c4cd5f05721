"""TMR in the implementation: every copy of each protected register bit kept by synthesis as a
flip-flop of its own, and how far apart placement put the three.

Copies are found by name (:mod:`econflow.rtl.naming`): Yosys keeps the hierarchy in the
flip-flop names (``<register primitive's path>/copy_a[<bit>]$<cell>``). Counting flip-flops
would not do: synthesis rightly removes pipeline bits that are constant, and a merged copy
can hide behind one removed elsewhere.

One particle can upset neighbouring flip-flops together, and a majority voter masks an upset
of one copy only: two copies of a bit side by side are the weakness TMR leaves. graywolf has
no region constraints to keep the copies apart, so after placement the copies that are too
close move to the nearest free sites far enough from the others (:mod:`.legalizer`), and the
final placement is measured, edge to edge between the cells' boxes.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from itertools import combinations

from econflow.errors import EconflowError
from econflow.flow.legalizer import Rows
from econflow.flow.results import TmrDistances
from econflow.rtl import naming
from econflow.rtl.artefacts import RegisterBank

_COPY = naming.copy_pattern()

Bit = tuple[str, int]  # protected register, bit
_ROUNDING = 1e-6  # DEF units: a distance this short of the clearance meets it
_PASSES = 5  # over all bits, when moves push copies of other bits together


class TmrLostError(EconflowError):
    """Synthesis merged or removed TMR copies."""


class TmrSeparationError(EconflowError):
    """The copies of a protected bit cannot be, or were not, kept apart."""


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


def placed_copies(
    instances: dict[str, str], registers: Iterable[RegisterBank]
) -> dict[Bit, list[str]]:
    """Protected bit -> the placed names of its copies, for the placed -> synthesized map."""
    placed_name = {synthesized: name for name, synthesized in instances.items()}
    return {
        bit: [placed_name[name] for name in held.values()]
        for bit, held in copies(placed_name, registers).items()
    }


def closest(rows: Rows, bits: dict[Bit, list[str]]) -> dict[Bit, float]:
    """Protected bit -> the edge-to-edge distance of its two closest copies (µm), for the bits
    whose three copies are placed."""
    return {
        bit: min(rows.box(a).distance(rows.box(b)) for a, b in combinations(names, 2)) / rows.scale
        for bit, names in bits.items()
        if len(names) == 3
    }


def distances(found: dict[Bit, float]) -> TmrDistances | None:
    """The distribution of the closest-copy distances."""
    if not found:
        return None
    values = sorted(found.values())
    worst = min(found, key=found.__getitem__)
    return TmrDistances(
        min_um=round(values[0], 2),
        p10_um=round(values[len(values) // 10], 2),
        median_um=round(statistics.median(values), 2),
        closest_bit=label(worst),
    )


def label(bit: Bit) -> str:
    return f"{bit[0]}[{bit[1]}]"


def spread(rows: Rows, bits: dict[Bit, list[str]], clearance_um: float) -> int:
    """Move copies until the copies of every bit are ``clearance_um`` apart (edge to edge),
    each move the cheapest that sets its copy apart from the other two. A move pushes
    neighbours along their row, which can bring the copies of another bit together again: the
    bits are gone over until none is too close.

    Returns:
        The moves made.

    Raises:
        TmrSeparationError: naming the first bit whose copies cannot be set apart.
    """
    clearance = clearance_um * rows.scale
    moved = 0
    for _ in range(_PASSES):
        close = {bit: pairs for bit, names in sorted(bits.items())
                 if (pairs := _too_close(rows, names, clearance))}  # fmt: skip
        if not close:
            return moved
        for bit, pairs in close.items():
            for _ in bits[bit]:
                if not pairs:
                    break
                _set_apart(rows, bit, bits[bit], pairs, clearance_um)
                moved += 1
                pairs = _too_close(rows, bits[bit], clearance)
    bit = next(b for b, names in sorted(bits.items()) if _too_close(rows, names, clearance))
    raise TmrSeparationError(
        f"the copies of protected bit {label(bit)} are still closer than {clearance_um:g} um "
        f"after {_PASSES} passes: moving other copies keeps pushing them together (lower "
        "layout.tmr_min_separation_um or core_utilization of the PDK config)"
    )


def _too_close(rows: Rows, names: list[str], clearance: float) -> list[tuple[str, str]]:
    return [
        (a, b)
        for a, b in combinations(names, 2)
        if rows.box(a).distance(rows.box(b)) < clearance - _ROUNDING
    ]


def _set_apart(
    rows: Rows, bit: Bit, names: list[str], pairs: list[tuple[str, str]], clearance_um: float
) -> None:
    """Move the copy that is too close to the most others (the cheapest of them) away from
    the other copies."""
    involved = Counter(name for pair in pairs for name in pair)
    most = max(involved.values())
    options = []
    for name in (n for n, count in involved.items() if count == most):
        keepouts = [rows.box(other) for other in names if other != name]
        move = rows.relocation(name, keepouts, clearance_um * rows.scale)
        if move is not None:
            options.append((move.cost, name, move))
    if not options:
        raise TmrSeparationError(
            f"the copies of protected bit {label(bit)} cannot be placed {clearance_um:g} um "
            "apart: no row has room far enough from the other copies (lower "
            "layout.tmr_min_separation_um or core_utilization of the PDK config)"
        )
    _, name, move = min(options, key=lambda option: option[:2])
    rows.move(name, move)
