"""Wire capacitance of every net, routed or estimated, as OpenSTA ``set_load`` commands.

After routing, a net's capacitance is its routed length on each layer times the layer's
capacitance per µm from the tech LEF (area and both sidewalls). qrouter's own RC output, which
rc2dly turns into SDF delays, counts one sidewall: on the nano design its total is 62% of the
LEF model's, so it is reported beside it, not used for the loads. After placement, a net's
wire is estimated as its half-perimeter bounding box (HPWL, over the cell centres and pins)
times a capacitance per µm the PDK config holds, measured on routed designs (routed wire
capacitance / placement HPWL).
"""

from __future__ import annotations

import re
from pathlib import Path

from econflow.flow.formats import defdata

_RC_PAIR = re.compile(r"\(\s*([-+\d.eE]+)\s+([-+\d.eE]+)")
_PIN_PLACED = re.compile(
    r"^- (\S+) \+ NET \S+\n.*?\+ PLACED \( (-?\d+) (-?\d+) \)", re.MULTILINE | re.DOTALL
)


def routed_loads(def_text: str, cap_per_um: dict[str, float]) -> dict[str, float]:
    """Net -> routed wire capacitance (pF) of a routed DEF, from pF/µm per layer."""
    return {
        bus_names(net): sum(length * cap_per_um[layer] for layer, length in lengths.items())
        for net, lengths in defdata.net_wirelength(def_text).items()
        if lengths
    }


def rc_loads(rc_text: str) -> dict[str, float]:
    """Net -> wire capacitance (pF) as qrouter's ``.rc`` file has it."""
    loads = {}
    for line in rc_text.splitlines():
        words = line.split(None, 4)
        if len(words) == 5:
            loads[bus_names(words[0])] = sum(float(m.group(2)) for m in _RC_PAIR.finditer(words[4]))
    return loads


def net_hpwl(def_text: str, sizes: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Net -> half-perimeter wire length (µm) over its cells' centres and its pins."""
    scale = defdata.units(def_text)
    centres = {
        c.name: (c.x / scale + sizes[c.macro][0] / 2, c.y / scale + sizes[c.macro][1] / 2)
        for c in defdata.components(def_text)
        if c.macro in sizes
    }
    pins_text = def_text[def_text.find("\nPINS") : def_text.find("\nEND PINS")]
    pins = {m.group(1): (int(m.group(2)) / scale, int(m.group(3)) / scale)
            for m in _PIN_PLACED.finditer(pins_text)}  # fmt: skip
    lengths = {}
    for net, connections in defdata.net_pins(def_text).items():
        points = [
            pins.get(pin) if inst == "PIN" else centres.get(inst) for inst, pin in connections
        ]
        points = [p for p in points if p is not None]
        if len(points) > 1:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            lengths[bus_names(net)] = max(xs) - min(xs) + max(ys) - min(ys)
    return lengths


def placement_loads(hpwl: dict[str, float], cap_ff_per_um: float) -> dict[str, float]:
    """Net -> estimated wire capacitance (pF) from its HPWL (µm)."""
    return {net: length * cap_ff_per_um * 1e-3 for net, length in hpwl.items()}


def write_loads(loads: dict[str, float], path: Path) -> Path:
    """OpenSTA commands setting each net's wire capacitance (pF)."""
    path.write_text(
        "".join(f"set_load {c:.6g} [get_nets {{{n}}}]\n" for n, c in sorted(loads.items()))
    )
    return path


def bus_names(name: str) -> str:
    """qflow's tools write bus bits as ``a<3>``; the netlists say ``a[3]``."""
    return name.replace("<", "[").replace(">", "]")
