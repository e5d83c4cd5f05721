"""The LEF views qrouter needs, derived from the PDK's own, and the few LEF facts the layout
steps read (site and macro sizes).

Both derived views are fixes found by experiment on sky130hd (docs/architecture.md): with the
rotated and generated via variants qrouter blocks every met1 point beside in-cell obstructions
and cannot reach many li1 pins, so it gets only the first fixed via of each cut layer; and it
ignores the li1 parts of the power pins, routing li1 across the rails, so those become
obstructions.
"""

from __future__ import annotations

import re

from econflow.errors import FormatError

_MACRO = re.compile(r"^MACRO (\S+)\n.*?^END \1\s*$", re.MULTILINE | re.DOTALL)
_SIZE = re.compile(r"^\s*SIZE\s+([\d.]+)\s+BY\s+([\d.]+)\s*;", re.MULTILINE)
_PIN = re.compile(r"^  PIN (\S+)\n(.*?)^  END \1\s*$", re.MULTILINE | re.DOTALL)
_SITE = re.compile(r"^SITE (\S+)\n.*?^END \1\s*$", re.MULTILINE | re.DOTALL)
_VIA = re.compile(r"^VIA (\S+) DEFAULT\n(.*?)^END \1\s*\n", re.MULTILINE | re.DOTALL)
_VIARULE = re.compile(r"^VIARULE (\S+) GENERATE\n.*?^END \1\s*\n", re.MULTILINE | re.DOTALL)
_VIA_LAYER = re.compile(r"^\s*LAYER (\S+) ;", re.MULTILINE)
_VIA_RECT = re.compile(r"^\s*LAYER (\S+) ;\s*RECT ((?:\s*-?[\d.]+){4}) ;", re.MULTILINE)
_PORT = re.compile(r"^    PORT\n(.*?)^    END\n", re.MULTILINE | re.DOTALL)
_OBS = re.compile(r"^  OBS\n", re.MULTILINE)
_OBS_BLOCK = re.compile(r"^  OBS\n(.*?)^  END\s*$", re.MULTILINE | re.DOTALL)
_GRID = re.compile(r"^MANUFACTURINGGRID ([\d.]+) ;", re.MULTILINE)
_LAYER = re.compile(r"^LAYER (\S+)\n(.*?)^END \1\s*$", re.MULTILINE | re.DOTALL)
_RPERSQ = re.compile(r"RESISTANCE RPERSQ ([\d.eE+-]+)")
_CPERSQ = re.compile(r"CAPACITANCE CPERSQDIST ([\d.eE+-]+)")
_EDGE = re.compile(r"EDGECAPACITANCE ([\d.eE+-]+)")
_WIDTH = re.compile(r"^\s*WIDTH ([\d.]+) ;", re.MULTILINE)


def database_units(tech_lef: str) -> int:
    """Layout units per µm as qflow's scripts take them: one per manufacturing-grid step."""
    grid = _GRID.search(tech_lef)
    return round(1 / float(grid.group(1))) if grid else 100


def macro_sizes(cell_lef: str) -> dict[str, tuple[float, float]]:
    """Macro -> (width, height) in µm."""
    sizes = {}
    for m in _MACRO.finditer(cell_lef):
        size = _SIZE.search(m.group(0))
        if size:
            sizes[m.group(1)] = (float(size.group(1)), float(size.group(2)))
    return sizes


def obstruction_rects(
    cell_lef: str, layer: str
) -> dict[str, list[tuple[float, float, float, float]]]:
    """Macro -> the rectangles (µm, in the macro's frame) its obstructions draw on ``layer``;
    a polygon counts as its bounding box."""
    return {
        m.group(1): [
            rect
            for obs in _OBS_BLOCK.finditer(m.group(0))
            for rect in _layer_rects(obs.group(1), layer)
        ]
        for m in _MACRO.finditer(cell_lef)
    }


def pin_rects(
    cell_lef: str, layer: str
) -> dict[str, dict[str, list[tuple[float, float, float, float]]]]:
    """Macro -> pin -> the rectangles (µm, in the macro's frame) the pin draws on ``layer``;
    a polygon counts as its bounding box."""
    return {
        m.group(1): {
            pin.group(1): _layer_rects(pin.group(2), layer) for pin in _PIN.finditer(m.group(0))
        }
        for m in _MACRO.finditer(cell_lef)
    }


def _layer_rects(block: str, layer: str) -> list[tuple[float, float, float, float]]:
    rects = []
    current = None
    for line in block.splitlines():
        words = line.split()
        if words[:1] == ["LAYER"]:
            current = words[1]
        elif words[:1] in (["RECT"], ["POLYGON"]) and current == layer:
            values = [float(v) for v in words[1:] if v != ";"]
            xs, ys = values[0::2], values[1::2]
            rects.append((min(xs), min(ys), max(xs), max(ys)))
        elif words[:1] in (["END"], ["PORT"], ["OBS"]):
            current = None
    return rects


def pin_roles(cell_lef: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Macro -> its output pins, and macro -> its clock pins (``USE CLOCK``)."""
    outputs: dict[str, set[str]] = {}
    clocks: dict[str, set[str]] = {}
    for macro in _MACRO.finditer(cell_lef):
        for pin in _PIN.finditer(macro.group(0)):
            if "DIRECTION OUTPUT" in pin.group(2):
                outputs.setdefault(macro.group(1), set()).add(pin.group(1))
            if "USE CLOCK" in pin.group(2):
                clocks.setdefault(macro.group(1), set()).add(pin.group(1))
    return outputs, clocks


def site_size(tech_lef: str, site: str) -> tuple[float, float]:
    """A placement site's (width, height) in µm: the row height is its height."""
    for m in _SITE.finditer(tech_lef):
        if m.group(1) == site:
            size = _SIZE.search(m.group(0))
            if size:
                return float(size.group(1)), float(size.group(2))
    raise FormatError(f"no SITE {site} with a SIZE in the tech LEF")


def layer_rc(tech_lef: str) -> dict[str, tuple[float, float]]:
    """Routing layer -> (sheet resistance in ohm/sq, area capacitance in pF/µm²)."""
    found = {}
    for m in _LAYER.finditer(tech_lef):
        r, c = _RPERSQ.search(m.group(2)), _CPERSQ.search(m.group(2))
        if r and c:
            found[m.group(1)] = (float(r.group(1)), float(c.group(1)))
    return found


def wire_capacitance(tech_lef: str) -> dict[str, float]:
    """Routing layer -> capacitance of a minimum-width wire (pF/µm): the area term times the
    width plus the edge term on both sides, the LEF's own model."""
    found = {}
    for m in _LAYER.finditer(tech_lef):
        area, edge, width = (r.search(m.group(2)) for r in (_CPERSQ, _EDGE, _WIDTH))
        if area and edge and width:
            found[m.group(1)] = float(area.group(1)) * float(width.group(1)) + 2 * float(
                edge.group(1)
            )
    return found


def via_pads(tech_lef: str) -> dict[str, dict[str, tuple[float, float, float, float]]]:
    """Fixed via -> layer -> its rectangle there (µm, about the via's origin)."""
    return {
        m.group(1): {
            layer.group(1): tuple(float(v) for v in layer.group(2).split())
            for layer in _VIA_RECT.finditer(m.group(2))
        }
        for m in _VIA.finditer(tech_lef)
    }


def routing_tech_lef(tech_lef: str, cut_layers: list[str]) -> str:
    """The tech LEF with only the first fixed (``DEFAULT``) via of each cut layer and no
    generated vias."""
    kept: dict[str, str] = {}
    for m in _VIA.finditer(tech_lef):
        cut = next((c for c in _VIA_LAYER.findall(m.group(2)) if c in cut_layers), None)
        if cut is not None and cut not in kept:
            kept[cut] = m.group(0)
    missing = [c for c in cut_layers if c not in kept]
    if missing:
        raise FormatError(f"the tech LEF has no fixed via on cut layer(s) {', '.join(missing)}")
    text = _VIARULE.sub("", _VIA.sub("", tech_lef))
    end = text.rfind("END LIBRARY")
    body = "".join(kept[c] + "\n" for c in cut_layers)
    return text[:end] + body + text[end:] if end >= 0 else text + body


def routing_cell_lef(cell_lef: str, power_pins: list[str], layer: str) -> str:
    """The cell LEF with the ``layer`` shapes of the power pins moved into the obstructions."""

    def macro(m: re.Match[str]) -> str:
        text = m.group(0)
        blocked: list[str] = []
        for pin in power_pins:
            pin_block = re.search(
                rf"^  PIN {re.escape(pin)}\n.*?^  END {re.escape(pin)}\n", text, re.M | re.S
            )
            if pin_block is None:
                continue
            kept = _PORT.sub(lambda p: _keep_port(p, layer, blocked), pin_block.group(0))
            text = text.replace(pin_block.group(0), kept)
        if not blocked:
            return text
        shapes = "".join(blocked)
        if _OBS.search(text):
            return _OBS.sub(lambda _: f"  OBS\n      LAYER {layer} ;\n{shapes}", text, count=1)
        end = text.rindex(f"END {m.group(1)}")
        return f"{text[:end]}  OBS\n      LAYER {layer} ;\n{shapes}  END\n{text[end:]}"

    return _MACRO.sub(macro, cell_lef)


def _keep_port(port: re.Match[str], layer: str, blocked: list[str]) -> str:
    """A power-pin port stays unless it is on ``layer``, whose rectangles go to ``blocked``."""
    layers = _VIA_LAYER.findall(port.group(1))
    if layers != [layer]:
        return port.group(0)
    blocked.extend(line + "\n" for line in port.group(1).splitlines() if "RECT" in line)
    return ""
