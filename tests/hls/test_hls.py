"""hls4ml projects of the tiny design: types from the quantized model, C simulation bit-exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from econflow.errors import ToolMissingError
from econflow.fixed import Fixed
from econflow.hls import csim, project
from econflow.models import artefacts, dataset


def test_tiny_flow_builds_both_projects_bit_exact(tiny_build):
    metrics = json.loads((tiny_build / "hls" / "metrics.json").read_text())["csim"]
    assert metrics["samples"] >= 2000 and metrics["mismatches"] == 0
    assert set(metrics["backends"]) == {"catapult", "vitis"}
    for backend, result in metrics["backends"].items():
        assert result["mismatches"] == 0 and result["samples"] == metrics["samples"]
        folder = tiny_build / "hls" / backend
        assert (folder / "build_prj.tcl").is_file()
        assert (folder / "firmware" / "econt_encoder.cpp").is_file()


def test_hls_types_follow_qkeras_conventions():
    assert project.hls_type(Fixed(6, 1, True)) == "fixed<6,2,RND_CONV,SAT>"
    assert project.hls_type(Fixed(8, 1, False)) == "ufixed<8,1,RND_CONV,SAT>"
    assert project.hls_type(Fixed(22, 11, True), quantized=False) == "fixed<22,12>"


@pytest.fixture(scope="module")
def tiny_models(tiny_build):
    models = artefacts.load(tiny_build)
    return models, models.load_quantized(), models.load_encoder()


def test_every_type_comes_from_the_quantized_model(tiny_models):
    import hls4ml

    _, model, encoder = tiny_models
    ours = project.hls_config(encoder, model)["LayerName"]
    conv, dense = model.layers
    assert ours["input_q"]["Precision"]["result"] == project.hls_type(model.input_format)
    assert ours["conv"]["Precision"]["weight"] == project.hls_type(conv.weight_format)
    assert ours["dense_linear"]["Precision"]["result"] == project.hls_type(dense.accumulator, False)
    assert ours["latent"]["Precision"]["result"] == project.hls_type(model.latent)
    # hls4ml's own reading of the unsigned input quantizer is the corner case this fixes.
    theirs = hls4ml.utils.config_from_keras_model(encoder, granularity="name")["LayerName"]
    assert theirs["input_q"]["Precision"]["result"] != ours["input_q"]["Precision"]["result"]


def test_the_comparison_catches_hls4ml_default_types(tiny_models, tmp_path, monkeypatch):
    import hls4ml

    _, model, encoder = tiny_models
    monkeypatch.setattr(
        project,
        "hls_config",
        lambda enc, _model: hls4ml.utils.config_from_keras_model(enc, granularity="name"),
    )
    hls_model = project.build(
        encoder, model, "vitis", tmp_path / "vitis", 25.0, "xcvu13p-flga2577-2-e"
    )
    charges = np.concatenate(
        [
            dataset.generate(3000, dataset.DataSection(charge_bits=12), seed=9),
            dataset.corner_cases(model.charge_bits),
        ]
    )
    assert csim.compare(hls_model, model, charges).mismatches > 0


def test_missing_compiler_is_one_clear_error(tiny_models, tmp_path, monkeypatch):
    _, model, encoder = tiny_models
    monkeypatch.setattr(project.shutil, "which", lambda *_args, **_kwargs: None)
    with pytest.raises(ToolMissingError, match="g\\+\\+ not found"):
        project.build(encoder, model, "catapult", tmp_path / "c", 25.0, "")


def test_a_csim_mismatch_fails_the_step_and_is_recorded(tiny_build, tmp_path, capsys, monkeypatch):
    import shutil

    from econflow.cli import main
    from econflow.hls import pipeline

    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    exact = csim.compare
    monkeypatch.setattr(
        pipeline.csim,
        "compare",
        lambda *a: exact(*a).model_copy(update={"mismatches": 3, "first_mismatch": 0}),
    )
    tiny = Path(__file__).parents[1] / "configs" / "tiny.yaml"
    assert (
        main(["flow", "run", str(tiny), "--build-dir", str(build), "--steps", "hls", "--force"])
        == 1
    )
    assert "hls4ml C simulation differs from the fixed-point model" in capsys.readouterr().err
    metrics = json.loads((build / "hls" / "metrics.json").read_text())["csim"]
    assert metrics["mismatches"] == 6  # 3 per backend
