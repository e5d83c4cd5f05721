"""Renders the structural description to Verilog through the Jinja2 templates."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from econflow.models.geometry import N_TC
from econflow.rtl import naming
from econflow.rtl.structure import ERROR_COUNT_BITS, Encoder, MacLayer, Parameter
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


def _used_parameters(layer: MacLayer) -> list[Parameter]:
    """Weights that feed a multiplier, then biases; each once, in address order."""
    seen = {t.weight.address: t.weight for s in layer.sums for t in s.terms}
    seen.update({s.bias.address: s.bias for s in layer.sums})
    return [seen[a] for a in sorted(seen)]


def _used_inputs(layer: MacLayer) -> list[int]:
    return sorted({t.source for s in layer.sums for t in s.terms})


def _inputs(layer: MacLayer, n_inputs: int) -> tuple[list[int], list[int]]:
    used = _used_inputs(layer)
    return used, [i for i in range(n_inputs) if i not in set(used)]


def verilog(enc: Encoder, header: str) -> str:
    """The top-level module's source text."""
    conv_used, conv_unused = _inputs(enc.conv, N_TC)
    dense_used, dense_unused = _inputs(enc.dense, len(enc.conv.sums))
    params = {layer.name: _used_parameters(layer) for layer in (enc.conv, enc.dense)}
    template = environment("econflow.rtl").get_template("encoder.v.j2")
    return template.render(
        enc=enc,
        header=header,
        n_tc=N_TC,
        error_count_bits=ERROR_COUNT_BITS,
        register_prefix=naming.REGISTER_PREFIX,
        registers={r.name: r for r in enc.registers},
        layer_inputs={enc.conv.name: conv_used, enc.dense.name: dense_used},
        layer_unused={enc.conv.name: conv_unused, enc.dense.name: dense_unused},
        layer_params=params,
        hardwired=[p for layer_params in params.values() for p in layer_params],
    )


def write(enc: Encoder, out_dir: Path, header: str) -> list[Path]:
    """Write the top module and the library primitives; return the files in compile order."""
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
    top = out_dir / f"{enc.top}.v"
    top.write_text(verilog(enc, header))
    files.append(top)
    (out_dir / FILE_LIST).write_text("".join(f"{f.name}\n" for f in files))
    return files
