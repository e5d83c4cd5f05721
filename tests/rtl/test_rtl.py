"""The RTL generator: lint for every option, Icarus against the fixed-point model, TMR in Yosys."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from econflow.cli import main
from econflow.config import HardwareSection, load_config
from econflow.errors import ArtefactError
from econflow.fixed import Fixed
from econflow.models import artefacts, dataset, fixedpoint, quantized
from econflow.pdk import ClockGate
from econflow.rtl import artefacts as rtl_artefacts
from econflow.rtl import checks, pipeline, regmap, render, structure
from econflow.verification import bulk
from econflow.verification.pipeline import second_model

TINY = Path(__file__).parents[1] / "configs" / "tiny.yaml"


@pytest.fixture(scope="module")
def model(tiny_build):
    return artefacts.load(tiny_build).load_quantized()


@pytest.fixture(scope="module")
def vectors(tiny_build, model):
    _, holdout = artefacts.load(tiny_build).load_dataset()
    return np.concatenate([holdout[:300], dataset.corner_cases(model.charge_bits)])


def generate(model, tmp: Path, **hardware) -> rtl_artefacts.RtlDesign:
    hw = HardwareSection(**hardware)
    enc = pipeline.describe(model, hw, "tiny_encoder", "test model")
    pipeline.generate(enc, tmp, "test model")
    return rtl_artefacts.load(tmp.parent)


def rtl_dir(tmp_path: Path) -> Path:
    return tmp_path / rtl_artefacts.STAGE


def test_rtl_step_writes_the_design_and_its_metrics(tiny_build, model):
    out = tiny_build / "rtl"
    for name in ("tiny_encoder.v", "files.f", "register_map.json", "register_map.md"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())["rtl"]
    assert metrics["latency_cycles"] == 1
    assert metrics["lint"]["warnings"] == 0
    n_params = sum(layer.weights.size + layer.bias.size for layer in model.layers)
    config_bits = sum(
        layer.weights.size * layer.weight_format.bits + layer.bias.size * layer.bias_format.bits
        for layer in model.layers
    )
    assert metrics["parameters"] == n_params
    assert metrics["registers"]["protected_bits"] == config_bits  # tiny.yaml: tmr config
    assert metrics["registers"]["total_bits"] > config_bits
    header = (out / "tiny_encoder.v").read_text().splitlines()[0]
    assert "econflow" in header and "quantized_model.json (sha256" in header
    sources = (out / "files.f").read_text().split()
    # tiny gates its weight clocks: the clock-gating cell's simulation model is listed too
    design = rtl_artefacts.load(tiny_build)
    assert design.cell_models == ["sky130_fd_sc_hd__dlclkp_1.v"]
    # one module per shape of sum: the dense sums are all alike, the conv's differ only by
    # how many of their 3x3 pixels lie inside the 48 TCs
    sums = [s for s in sources if "_sum" in s]
    assert sources[-1] == "tiny_encoder.v" and len(sources) == 8 + len(sums)
    assert sum("_dense_sum" in s for s in sums) == 1
    assert 1 < sum("_conv_sum" in s for s in sums) <= 9
    assert "(* keep_hierarchy *)" in (out / sums[0]).read_text()
    assert [f.name for f in design.synthesis_files] == [
        s for s in sources if s not in design.cell_models
    ]


@pytest.mark.parametrize(
    ("weights", "tmr", "depth"),
    list(itertools.product(("programmable", "hardwired"), ("none", "config", "full"), (0, 1, 5))),
)
def test_verilator_lint_is_clean(model, tmp_path, weights, tmr, depth):
    design = generate(model, rtl_dir(tmp_path), weights=weights, tmr=tmr, pipeline_depth=depth)
    checks.lint(design.files, design.top, tmp_path / "lint.log")
    assert design.latency_cycles == depth + 1


def test_one_group_of_gated_registers_opens_its_gate_on_any_write(model, tmp_path, monkeypatch):
    """With every configuration register in one gated group (nano's ten), the gate opens on
    any write: no address bits are left to compare (the template once wrote
    ``cfg_we && cfg_addr``, true only for a write to a non-zero address)."""
    monkeypatch.setattr(structure, "GATE_GROUP_BITS", 8)
    monkeypatch.setattr(render, "GATE_GROUP_BITS", 8)
    gate = ClockGate(cell="sky130_fd_sc_hd__dlclkp_1", clock="CLK", enable="GATE", gated="GCLK")
    hw = HardwareSection(scrub_interval=8)
    enc = pipeline.describe(model, hw, "tiny_encoder", "test model", clock_gate=gate)
    assert enc.gate_groups == 1
    pipeline.generate(enc, rtl_dir(tmp_path), "test model")
    design = rtl_artefacts.load(tmp_path)
    checks.lint(design.files, design.top, tmp_path / "lint.log")
    top = (rtl_dir(tmp_path) / "tiny_encoder.v").read_text()
    assert "wire cfg_gate_0 = scrub_tick || (cfg_we);" in top


@pytest.mark.parametrize(
    ("weights", "tmr", "depth", "output_bits"),
    [
        ("programmable", "config", 0, 9),
        ("programmable", "full", 2, 7),
        ("hardwired", "none", 1, 5),
        ("programmable", "none", 4, 3),
        ("hardwired", "config", 7, 9),
    ],
)
def test_icarus_matches_the_fixed_point_model(
    model, vectors, tmp_path, weights, tmr, depth, output_bits
):
    design = generate(
        model,
        rtl_dir(tmp_path),
        weights=weights,
        tmr=tmr,
        pipeline_depth=depth,
        output_bits=output_bits,
    )
    result = bulk.run(design, model, vectors, design.load_image(), tmp_path / "sim")
    assert result.vectors == result.received == len(vectors)
    assert result.mismatches == 0, (tmp_path / "sim" / "sim.log").read_text()[:2000]
    assert result.readback_errors == 0 and result.early_outputs == 0
    assert result.tmr_error_count == 0
    if weights == "programmable":  # tiny's map leaves addresses free: writes there are ignored
        assert result.unmapped_errors == 0


def test_a_second_models_image_gives_that_models_outputs(model, vectors, tmp_path, capsys):
    design = generate(model, rtl_dir(tmp_path))
    second = second_model(model, seed=7)
    assert (fixedpoint.evaluate(second, vectors) != fixedpoint.evaluate(model, vectors)).any()
    image = pipeline.weight_image(second)
    assert image != design.load_image()
    result = bulk.run(design, second, vectors, image, tmp_path / "sim_b", label="second")
    assert result.mismatches == 0 and result.readback_errors == 0
    progress = capsys.readouterr().out.splitlines()
    assert f"  second: weights {len(image)}/{len(image)} written" in progress
    assert f"  second: vectors {len(vectors)}/{len(vectors)} streamed" in progress
    assert 20 <= len(progress) <= 22  # in tenths, and the last
    wrong = bulk.run(design, model, vectors, image, tmp_path / "sim_a")
    assert wrong.mismatches > 0  # the check sees which model is loaded


def test_register_map_image_and_load_sequence_agree(tiny_build, model):
    design = rtl_artefacts.load(tiny_build)
    doc = json.loads((design.directory / "register_map.json").read_text())
    registers = doc["registers"]
    assert [r["address"] for r in registers] == list(range(len(registers)))
    assert doc["data_width"] == max(r["width"] for r in registers)
    assert 2 ** doc["address_width"] >= len(registers) > 2 ** (doc["address_width"] - 1)
    assert "ignored" in doc["unmapped"] and all(r["tmr"] for r in registers)
    assert doc["self_correction_cycles"] == 8  # tiny: gated, scrubbed every 8 cycles
    conv = model.layers[0]
    first = conv.weights[0, 0, 0, 0] & (2**conv.weight_format.bits - 1)
    image = design.load_image()
    assert image[0] == first and len(image) == len(registers)
    table = (design.directory / "register_map.md").read_text()
    assert f"| {len(registers) - 1} | `dense_b_" in table and "ignored" in table
    rows = (design.directory / "load_sequence.csv").read_text().splitlines()
    assert rows[1] == f"write,0,0x{first:x},{registers[0]['name']}"
    assert len(rows) == 1 + 2 * len(registers) and rows[-1].startswith("read,")


def test_yosys_keeps_three_copies_of_every_protected_bit(tmp_path, small_model):
    model = small_model
    counts = {}
    for tmr in ("none", "config", "full"):
        hw = HardwareSection(tmr=tmr)
        enc = pipeline.describe(model, hw, "small_encoder", "small")
        files = pipeline.generate(enc, tmp_path / tmr, "small")
        stats = checks.synth_stats(files, enc.top, tmp_path / tmr)
        assert stats["flip_flops"] == enc.total_bits + 2 * enc.protected_bits, tmr
        counts[tmr] = (stats["flip_flops"], enc)
    none_ff, none_enc = counts["none"]
    config_ff, config_enc = counts["config"]
    full_ff, full_enc = counts["full"]
    config_bits = sum(r.width for r in config_enc.registers if r.kind == "config")

    def status_bits(enc) -> int:
        return sum(r.width for r in enc.registers if r.kind == "status")

    tmr_status_bits = status_bits(config_enc) - status_bits(none_enc)  # tmr_error and count
    assert config_enc.protected_bits == config_bits > 0
    assert config_ff - none_ff == 2 * config_bits + tmr_status_bits
    assert full_ff == 3 * full_enc.total_bits


def test_a_model_file_from_another_design_is_refused(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"  # the failing step drops its record: not on the shared build
    shutil.copytree(tiny_build, build)
    other = tmp_path / "other.yaml"
    other.write_text(TINY.read_text().replace("latent: 4", "latent: 6"))
    code = main(["flow", "run", str(other), "--build-dir", str(build), "--steps", "rtl"])
    err = capsys.readouterr().err
    assert code == 1
    assert (
        "quantized_model.json: written by step 'quantize', which depends on step 'train', "
        "which ran with another 'model' section of the design file" in err
    )
    # the model file's own check, for callers of the stage's interface
    model = artefacts.load(build).load_quantized()
    with pytest.raises(ArtefactError, match="does not match the design file at model.dense"):
        quantized.check_design(model, load_config(other).design, "quantized_model.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda words: words[:-1], r"holds \d+ words; the register map of tiny_encoder has \d+"),
        (lambda words: [*words[:3], "fff", *words[4:]], r"line \d+: 0xfff does not fit register"),
        (lambda words: ["xyz", *words[1:]], r"line \d+: 'xyz' is not a hexadecimal word"),
    ],
)
def test_a_bad_weight_image_is_refused(tiny_build, tmp_path, content, message):
    design = rtl_artefacts.load(tiny_build)
    words = [f"{w:x}" for w in design.load_image()]
    bad = tmp_path / "bad.hex"
    bad.write_text("// a comment\n" + "\n".join(content(words)) + "\n")
    with pytest.raises(ArtefactError, match=message):
        regmap.read_image(bad, design.register_map())


def test_missing_rtl_is_a_clear_error(tmp_path):
    with pytest.raises(ArtefactError, match="no generated RTL"):
        rtl_artefacts.load(tmp_path)


def test_a_format_the_rtl_cannot_carry_is_refused(model):
    conv, dense = model.layers
    signed_out = dataclasses.replace(
        model, layers=(conv, dataclasses.replace(dense, output=Fixed(9, 1, True)))
    )
    with pytest.raises(ArtefactError, match="layer 'dense': the RTL carries unsigned activations"):
        pipeline.describe(signed_out, HardwareSection(), "t", "q.json")
