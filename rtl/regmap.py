"""The configuration register map, weight images and the load sequence that programs them.

One register per weight or bias, at consecutive addresses in the order of the quantized model
file (conv weights in kh,kw,cin,cout order, conv biases, dense weights in in,out order, dense
biases). A register holds the two's-complement bits of its value in the low ``width`` bits of
the data bus. A weight image is a ``$readmemh`` file: one hexadecimal word per line, line
``n`` for address ``n``, ``//`` comments allowed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from econflow import __version__
from econflow.errors import ArtefactError
from econflow.models.quantized import QuantizedModel
from econflow.rtl.artefacts import (
    REGISTER_MAP_FORMAT,
    REGISTER_MAP_VERSION,
    MappedRegister,
    RegisterMap,
)
from econflow.rtl.structure import Encoder, Parameter
from econflow.templating import environment

UNMAPPED = "writes to an address outside the map are ignored; reads return 0"


def register_map(enc: Encoder) -> RegisterMap:
    """The configuration registers of ``enc``."""
    protected = {r.name for r in enc.registers if r.protected}
    return RegisterMap(
        format=REGISTER_MAP_FORMAT,
        version=REGISTER_MAP_VERSION,
        econflow_version=__version__,
        top=enc.top,
        address_width=enc.address_width,
        data_width=enc.data_width,
        unmapped=UNMAPPED,
        write="cfg_we = 1 with cfg_addr and cfg_wdata for one rising clock edge",
        in_flight=in_flight(enc.latency_cycles),
        read="cfg_rdata shows, after a rising clock edge, the register cfg_addr named at that edge "
        "(the voted value under TMR)",
        tmr=enc.tmr,
        self_correction_cycles=enc.scrub_interval if protected else None,
        registers=[
            MappedRegister(
                address=p.address,
                name=p.name,
                layer=p.layer,
                role=p.role,
                index=list(p.index),
                width=p.width,
                signed=True,
                reset=0,
                access="rw",
                tmr=p.name in protected,
            )
            for p in enc.parameters
        ],
    )


def in_flight(latency: int) -> str:
    """What a write does to the inferences in flight, for a pipeline of ``latency`` cycles."""
    if latency <= 1:
        return (
            "every output is computed within one clock cycle: the weights in force when its "
            "vector was sampled; writes never mix weight sets"
        )
    return (
        f"a write (cfg_we = 1, any address) drops the inferences in flight: the vectors "
        f"sampled at the {latency - 1} rising edge(s) up to and including the write's give no "
        "output (out_valid stays low in their place); every other output is computed entirely "
        "with the weights in force when its vector was sampled"
    )


def write(regmap: RegisterMap, json_path: Path, md_path: Path) -> None:
    """Write the register map as JSON (for software) and Markdown (for people)."""
    json_path.write_text(regmap.model_dump_json(indent=1) + "\n")
    md_path.write_text(
        environment("econflow.rtl").get_template("register_map.md.j2").render(map=regmap)
    )


def model_of(model: QuantizedModel, regmap: RegisterMap, words: list[int]) -> QuantizedModel:
    """The model a weight image loads: ``model``'s formats with the values of ``words``
    (two's complement in each register's width)."""
    values = {layer.name: (layer.weights.copy(), layer.bias.copy()) for layer in model.layers}
    for register, word in zip(regmap.registers, words, strict=True):
        value = word - (1 << register.width) if word >> (register.width - 1) else word
        weights, bias = values[register.layer]
        (weights if register.role == "weight" else bias)[tuple(register.index)] = value
    layers = tuple(
        replace(layer, weights=values[layer.name][0], bias=values[layer.name][1])
        for layer in model.layers
    )
    return replace(model, layers=layers)


def image_words(parameters: tuple[Parameter, ...]) -> list[int]:
    """The register words, in address order, that load these parameter values."""
    return [p.raw for p in parameters]


def write_image(words: list[int], data_width: int, path: Path, source: str) -> None:
    """Write a ``$readmemh`` weight image; ``source`` says which model it holds."""
    digits = (data_width + 3) // 4
    lines = [f"// econflow {__version__} weight image: {len(words)} words of {data_width} bits"]
    lines.append(f"// {source}")
    lines += [f"{w:0{digits}x}" for w in words]
    path.write_text("\n".join(lines) + "\n")


def read_image(path: Path, regmap: RegisterMap) -> list[int]:
    """Read and check a weight image against a register map (length and each value's width).

    Raises:
        ArtefactError: unreadable file, a word that is not hexadecimal, the wrong number of
            words, or a word too wide for its register.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ArtefactError(path, f"cannot read weight image ({exc.strerror})") from None
    registers = regmap.registers
    words: list[tuple[int, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("//", 1)[0].strip()
        if not content:
            continue
        try:
            words.append((number, int(content, 16)))
        except ValueError:
            raise ArtefactError(
                path, f"line {number}: {content!r} is not a hexadecimal word"
            ) from None
    if len(words) != len(registers):
        raise ArtefactError(
            path,
            f"weight image holds {len(words)} words; the register map of {regmap.top} "
            f"has {len(registers)} registers",
        )
    for (number, word), reg in zip(words, registers, strict=True):
        if word >= 1 << reg.width:
            raise ArtefactError(
                path,
                f"line {number}: 0x{word:x} does not fit register {reg.name} "
                f"(address {reg.address}, {reg.width} bits)",
            )
    return [word for _, word in words]


def write_load_sequence(words: list[int], regmap: RegisterMap, path: Path) -> None:
    """The slow-control transactions that load an image: every write, then every read-back."""
    rows = ["operation,address,data,register"]
    for operation in ("write", "read"):
        rows += [
            f"{operation},{r.address},0x{w:x},{r.name}"
            for r, w in zip(regmap.registers, words, strict=True)
        ]
    path.write_text("\n".join(rows) + "\n")
