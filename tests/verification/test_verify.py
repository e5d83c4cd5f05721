"""The verify step on the tiny design: both simulators, cocotb tests, SEU campaigns, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from econflow.cli import main
from econflow.errors import ArtefactError, EconflowError, ToolMissingError
from econflow.rtl import artefacts as rtl_artefacts
from econflow.verification import cocotb_run


@pytest.fixture(scope="module")
def results(tiny_build):
    """``results.json`` of the verify step the tiny flow ran (tiny.yaml's default steps)."""
    return json.loads((tiny_build / "verify" / "results.json").read_text())


def test_bulk_regression_is_bit_exact_on_both_simulators(results, tiny_config):
    v = tiny_config.design.verification
    for sim in ("icarus", "verilator"):
        bulk = results["bulk"][sim]
        assert bulk["vectors"] == bulk["received"] > v.bulk_vectors  # plus the corner cases
        assert bulk["mismatches"] == 0 and bulk["readback_errors"] == 0
        assert bulk["unmapped_errors"] == 0 and bulk["early_outputs"] == 0
        assert bulk["vectors_per_s"] > 0


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_cocotb_stream_reload_and_reset(results, simulator):
    cocotb = results["cocotb"][simulator]
    assert cocotb["stream"]["vectors"] == cocotb["stream"]["received"] >= 2000
    assert cocotb["stream"]["mismatches"] == 0 and cocotb["stream"]["readback_errors"] == 0
    assert cocotb["reload"]["mismatches_b"] == 0 and cocotb["reload"]["readback_errors"] == 0
    reset = cocotb["reset"]
    assert reset["idle_outputs"] == 0 and reset["stale_after_reset"] == 0
    assert reset["sent_with_gaps"] > 50 and reset["mismatches"] == 0


def test_seu_masked_and_flagged_under_tmr_and_visible_without(results, tiny_config):
    n = tiny_config.design.verification.seu_injections
    tmr = results["seu"]["config"]
    assert tmr["injections"] == tmr["masked"] == tmr["flagged"] == n >= 200
    assert tmr["corrupted"] == 0
    assert tmr["corrected"] == tmr["protected_injections"] == tmr["counted_once"] == n
    # tiny gates its weight clocks: a copy stays wrong until the next scrub, 8 cycles apart
    assert 1 < tmr["correction_cycles_mean"] < tmr["correction_cycles_max"] <= 8
    assert tmr["double"]["injections"] > 0  # reported, not required to be masked
    none = results["seu"]["none"]
    assert none["injections"] == n and 0 < none["corrupted"] <= n
    assert none["flagged"] == 0  # nothing to compare without copies


def test_a_mismatch_fails_the_cocotb_test(tiny_build, tmp_path):
    """The stream test is not vacuous: wrong expected outputs fail it."""
    design = rtl_artefacts.load(tiny_build)
    vectors = tiny_build / "verify" / "cocotb_vectors.npz"
    data = dict(np.load(vectors))
    data["a_latent"] = data["a_latent"].copy()
    data["a_latent"][5, 0] ^= 1
    broken = tmp_path / "vectors.npz"
    np.savez(broken, **data)
    with pytest.raises(EconflowError, match=r"icarus: 1 of \d cocotb tests failed on tiny_encoder"):
        cocotb_run.run(design, "icarus", tmp_path / "sim", broken, ["stream"], ["a", "b"])


def test_only_the_tests_asked_for_run(tiny_build, tmp_path):
    """cocotb selects the tests: the others do not run, and are not counted as passed."""
    design = rtl_artefacts.load(tiny_build)
    vectors = tiny_build / "verify" / "cocotb_vectors.npz"
    figures, seu = cocotb_run.run(design, "icarus", tmp_path / "sim", vectors, ["stream"], ["a"])
    assert figures.stream is not None and figures.stream.mismatches == 0
    assert figures.reload is None and figures.reset is None and seu is None
    xml = (tmp_path / "sim" / "results.xml").read_text()
    assert xml.count("<testcase ") == 1 and cocotb_run.TESTS["stream"] in xml
    with pytest.raises(ValueError, match="unknown cocotb tests"):
        cocotb_run.run(design, "icarus", tmp_path / "sim2", vectors, ["streem"], ["a"])


def test_missing_simulator_is_one_line(monkeypatch, tiny_build, capsys):
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, **kw: None if name == "iverilog" else real(name, **kw)
    )
    with pytest.raises(ToolMissingError, match="iverilog not found: cocotb runs the icarus"):
        cocotb_run.simulator_version("icarus")


def test_old_simulator_is_refused(monkeypatch):
    completed = subprocess.CompletedProcess([], 0, stdout="Icarus Verilog version 10.3 (stable)")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: completed)
    with pytest.raises(ToolMissingError, match="iverilog 10.3 is too old for cocotb 2"):
        cocotb_run.simulator_version("icarus")


def test_broken_file_list_is_one_line(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(tiny_build / "rtl", build / "rtl")
    (build / "rtl" / "econflow_requant.v").unlink()
    with pytest.raises(ArtefactError, match="econflow_requant.v: listed in .* but missing"):
        rtl_artefacts.load(build)


def test_sc_verify_runs_only_the_verify_step(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    assert main(["verify", "tests/configs/tiny.yaml", "--build-dir", str(build)]) == 0
    out = capsys.readouterr().out
    assert "[1/1] verify: skipped (inputs and config unchanged)" in out
    assert re.search(r"SEU corrupted / injections, TMR config +0 / 200", out)


def test_regression_vectors_repeat_the_holdout_and_append_the_corner_cases():
    from econflow.models import dataset
    from econflow.verification.pipeline import regression_vectors

    holdout = np.arange(3 * 48).reshape(3, 48)
    corners = dataset.corner_cases(16)
    with_corners = regression_vectors(holdout, 5, 16)
    assert len(with_corners) == 5 + len(corners)
    assert (with_corners[3] == holdout[0]).all() and (with_corners[5:] == corners).all()
    assert (regression_vectors(holdout, 5, 16, corner_cases=False) == with_corners[:5]).all()


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_weight_writes_while_streaming_keep_one_weight_set_per_output(
    tiny_build, tiny_config, tmp_path, simulator
):
    """At pipeline depth 3, registers rewritten while vectors stream: every output is the
    model's with the weights in force when its vector entered; those in flight give none."""
    from econflow.models import artefacts as model_artefacts
    from econflow.rtl import pipeline as rtl_pipeline
    from econflow.verification import pipeline

    models = model_artefacts.load(tiny_build)
    model = models.load_quantized()
    _, holdout = models.load_dataset()
    hw = tiny_config.design.hardware.model_copy(update={"pipeline_depth": 3})
    gate = rtl_pipeline.clock_gate(tiny_config)
    enc = rtl_pipeline.describe(model, hw, "tiny_encoder", "test", clock_gate=gate)
    rtl_pipeline.generate(enc, tmp_path / "rtl", "test")
    design = rtl_artefacts.load(tmp_path)
    image = design.load_image()
    other = rtl_pipeline.weight_image(pipeline.second_model(model, 5))
    writes = pipeline.write_schedule(design.latency_cycles, len(image), other, seed=2)
    charges = pipeline.regression_vectors(holdout, writes[-1][0] + 60, model.charge_bits, False)
    vectors = pipeline.vectors_with_writes(
        model, design, design.register_map(), charges, image, writes
    )
    path = tmp_path / "vectors.npz"
    cocotb_run.write_vectors(path, {"w": vectors})
    figures, _ = cocotb_run.run(
        design, simulator, tmp_path / "sim", path, ["writes"], ["w"], writes=writes
    )
    w = figures.writes
    assert design.latency_cycles == 4 and w.writes == len(writes) == 40
    assert w.mismatches == 0 and w.received + w.dropped == w.vectors == len(charges)
    # 20 writes apart drop 3 vectors each; 20 back to back drop 3 + 19
    assert w.dropped == 20 * 3 + 3 + 19
    unwritten = cocotb_run.Vectors.of(model, design, charges, image).latent
    assert (unwritten[-50:] != vectors.latent[-50:]).any()  # the writes change the outputs
