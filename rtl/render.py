"""Renders the structural description to Verilog through the Jinja2 templates."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from econflow.models.geometry import N_TC
from econflow.rtl import naming
from econflow.rtl.structure import (
    ERROR_COUNT_BITS,
    GATE_GROUP_BITS,
    Encoder,
    MacLayer,
    Parameter,
)
from econflow.templating import environment

TMR_REGISTER = "econflow_tmr_reg.v"
# Compile order of the primitives: hand-written ones are copied from ``lib/``, the TMR
# register is rendered so that its copies carry the names ``econflow.rtl.naming`` gives.
LIBRARY = (
    "econflow_reg.v",
    "econflow_majority.v",
    TMR_REGISTER,
    "econflow_requant.v",
    "econflow_log2floor.v",
    "econflow_norm_shift.v",
)
FILE_LIST = "files.f"
# Nets synthesis keeps: the normalized inputs and the conv outputs divide the datapath into
# normalizer, conv and dense for the power breakdown (econflow.flow.blocks).
KEPT = ("x", "c")


def _used_parameters(layer: MacLayer) -> list[Parameter]:
    """The weights and biases the layer's adder trees read, in address order."""
    used = {n.parameter.address: n.parameter for n in layer.levels[0] if n.parameter}
    return [used[a] for a in sorted(used)]


def _unused_inputs(layer: MacLayer, n_inputs: int) -> list[int]:
    """Inputs no product reads (padded or unused pixels, folded zero weights)."""
    used = {n.source for n in layer.levels[0] if n.source is not None}
    return [i for i in range(n_inputs) if i not in used]


def verilog(enc: Encoder, header: str) -> str:
    """The top-level module's source text."""
    layers = (enc.conv, enc.dense)
    inputs = {enc.conv.name: N_TC, enc.dense.name: len(enc.conv.sums)}
    template = environment("econflow.rtl").get_template("encoder.v.j2")
    return template.render(
        enc=enc,
        header=header,
        n_tc=N_TC,
        error_count_bits=ERROR_COUNT_BITS,
        register_prefix=naming.REGISTER_PREFIX,
        copies=naming.COPIES,
        gate_group_bits=GATE_GROUP_BITS,
        kept=KEPT,
        gate_protected=any(r.protected for r in enc.registers if r.kind == "config"),
        registers={r.name: r for r in enc.registers},
        layers={layer.name: layer for layer in layers},
        source_bus={enc.conv.name: "x", enc.dense.name: "c"},
        layer_unused={layer.name: _unused_inputs(layer, inputs[layer.name]) for layer in layers},
        hardwired=[p for layer in layers for p in _used_parameters(layer)],
    )


def cell_model(enc: Encoder) -> str | None:
    """The file name of the simulation model of the PDK cells the design instantiates."""
    return f"{enc.clock_gate.cell}.v" if enc.clock_gate else None


def write(enc: Encoder, out_dir: Path, header: str) -> list[Path]:
    """Write the top module, the library primitives and the simulation model of the PDK
    cells it instantiates; return the files in compile order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    library = resources.files("econflow.rtl") / "lib"
    for name in LIBRARY:
        target = out_dir / name
        if name == TMR_REGISTER:
            template = environment("econflow.rtl").get_template(f"{name}.j2")
            target.write_text(template.render(header=header, copies=naming.COPIES))
        else:
            with resources.as_file(library / name) as source:
                shutil.copyfile(source, target)
        files.append(target)
    model = cell_model(enc)
    if model is not None:
        template = environment("econflow.rtl").get_template("clock_gate_model.v.j2")
        (out_dir / model).write_text(template.render(header=header, gate=enc.clock_gate))
        files.append(out_dir / model)
    top = out_dir / f"{enc.top}.v"
    top.write_text(verilog(enc, header))
    files.append(top)
    (out_dir / FILE_LIST).write_text("".join(f"{f.name}\n" for f in files))
    return files
