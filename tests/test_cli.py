"""``sc`` end to end on the tiny design, and its one-line errors."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from econflow.cli import main
from econflow.models import artefacts, dataset, fixedpoint

TINY = Path(__file__).parent / "configs" / "tiny.yaml"

EXPECTED_METRICS = [
    "data.occupancy_mean",
    "emd_cnn.rel_error_mean",
    "emd_cnn.rel_error_std",
    "emd_cnn.pairs_eval",
    "autoencoder.loss",
    "autoencoder.emd_mean",
    "autoencoder.emd_median",
    "autoencoder.emd_p16",
    "autoencoder.emd_p84",
    "baselines.threshold.emd_mean",
    "baselines.best_choice.emd_mean",
    "baselines.super_trigger_cell.emd_mean",
    "bit_exact.samples",
    "bit_exact.mismatches",
]


def lookup(metrics, dotted):
    for part in dotted.split("."):
        metrics = metrics[part]
    return metrics


def test_tiny_flow_writes_every_artefact(tiny_build):
    models = tiny_build / "models"
    for name in (
        "dataset.npz",
        "emd_cnn.h5",
        "autoencoder.h5",
        "emd_cnn_refined.h5",
        "training_history.csv",
        "quantized_model.json",
        "metrics.json",
        "figures/data_distributions.png",
        "figures/emd_cnn_predicted_vs_true.png",
        "figures/emd_histogram.png",
        "figures/emd_vs_occupancy.png",
        "figures/training_loss.png",
    ):
        assert (models / name).stat().st_size > 0, name
    metrics = json.loads((models / "metrics.json").read_text())
    for key in EXPECTED_METRICS:
        assert isinstance(lookup(metrics, key), int | float), key
    assert metrics["bit_exact"]["mismatches"] == 0
    assert metrics["bit_exact"]["samples"] >= 2000
    assert metrics["emd_cnn"]["pairs_eval"] > 0
    assert 0 < metrics["autoencoder"]["emd_mean"] < 15
    refined = metrics["emd_cnn_refined"]
    assert [r["epoch"] for r in refined["rounds"]] == [1, 2]
    for accuracy in (refined["before"], refined["after"]):
        assert set(accuracy) == {"modules", "distortions", "reconstructions"}


def test_quantized_model_is_what_later_stages_read(tiny_build, tiny_config):
    models = artefacts.load(tiny_build)
    model = models.load_quantized()
    assert model.latent_size == tiny_config.design.model.dense.latent
    _, holdout = models.load_dataset()
    latent = fixedpoint.evaluate(model, holdout[:100])
    assert latent.shape == (100, model.latent_size)


def test_second_run_skips_and_a_changed_section_reruns_its_steps(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    assert main(["flow", "run", str(TINY), "--build-dir", str(build)]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped (inputs and config unchanged)") == 7
    changed = tmp_path / "tiny.yaml"
    changed.write_text(
        TINY.read_text().replace("bit_exact_samples: 2000", "bit_exact_samples: 1000")
    )
    assert main(["flow", "run", str(changed), "--build-dir", str(build)]) == 0
    out = capsys.readouterr().out
    assert "[4/7] quantize: running" in out and "[1/7] data: skipped" in out
    assert "[3/7] train: running" in out  # evaluation settings belong to train too
    assert "[2/7] emd: skipped" in out


def test_a_step_whose_own_output_is_gone_reruns(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    voter = build / "rtl" / "econflow_majority.v"
    voter.unlink()
    assert main(["flow", "run", str(TINY), "--build-dir", str(build), "--steps", "rtl"]) == 0
    assert "[1/1] rtl: running" in capsys.readouterr().out and voter.is_file()
    assert main(["flow", "run", str(TINY), "--build-dir", str(build), "--steps", "rtl"]) == 0
    assert "[1/1] rtl: skipped" in capsys.readouterr().out


def test_steps_and_from_select_steps(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    assert main(["flow", "run", str(TINY), "--build-dir", str(build), "--from", "quantize"]) == 0
    out = capsys.readouterr().out
    assert "[1/4] quantize: skipped" in out and "[2/4] hls: skipped" in out
    assert "[3/4] rtl: skipped" in out
    code = main(
        ["flow", "run", str(TINY), "--build-dir", str(tmp_path / "empty"), "--steps", "train"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "dataset.npz: written by step 'data', which has no record" in err
    assert main(["flow", "run", str(TINY), "--steps", "data,cts"]) == 1
    assert "unknown step(s) 'cts'" in capsys.readouterr().err


def test_train_learns_the_code_the_hardware_sends(tiny_build, tmp_path, capsys):
    """hardware.output_bits is the one hardware key training reads: the decoder learns from
    the truncated values and the baselines get the same bits; the clock retrains nothing."""
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    five = tmp_path / "tiny.yaml"
    five.write_text(
        TINY.read_text().replace("  scrub_interval: 8", "  scrub_interval: 8\n  output_bits: 5")
    )
    assert main(["flow", "run", str(five), "--build-dir", str(build), "--steps", "train"]) == 0
    assert "[1/1] train: running" in capsys.readouterr().out
    metrics = json.loads((build / "models" / "metrics.json").read_text())
    assert metrics["autoencoder"]["output_bits"] == 4 * 5
    assert {b["output_bits"] for b in metrics["baselines"].values()} == {4 * 5}
    clocked = tmp_path / "clocked.yaml"
    clocked.write_text(
        five.read_text().replace("  output_bits: 5", "  output_bits: 5\n  clock_mhz: 20.0")
    )
    assert main(["flow", "run", str(clocked), "--build-dir", str(build), "--steps", "train"]) == 0
    assert "[1/1] train: skipped" in capsys.readouterr().out


def test_sc_train_overrides_loss_and_epochs(tiny_build, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    args = ["train", str(TINY), "--loss", "mse", "--epochs", "1", "--build-dir", str(build)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "overriding training.loss=mse, training.epochs=1" in out
    assert "(steps: data, train)" in out and "[1/2] data: skipped" in out
    history = (build / "models" / "training_history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and len(history) == 2
    metrics = json.loads((build / "models" / "metrics.json").read_text())
    assert metrics["autoencoder"]["loss_name"] == "mse" and metrics["autoencoder"]["epochs"] == 1
    # the design file's own training is not what the build now holds
    assert main(["flow", "run", str(TINY), "--build-dir", str(build), "--steps", "train"]) == 0
    assert "[1/1] train: running" in capsys.readouterr().out


def run_sc(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "econflow.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_bad_yaml_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("design: {name: x}\ntraining: {loss: hinge}\n")
    result = run_sc("check", str(bad))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "training.loss" in result.stderr and "hinge" in result.stderr
    assert run_sc("check", str(TINY)).returncode == 0


def test_an_empty_step_selection_is_refused(tmp_path, capsys):
    build = str(tmp_path / "build")
    for selection in (["--steps="], ["--steps", "data", "--from", "train"]):
        assert main(["flow", "run", str(TINY), "--build-dir", build, *selection]) == 1
        assert "--steps/--from: selects no step" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()


def test_debug_is_accepted_before_or_after_the_subcommand(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("design: {name: x}\ntraining: {loss: hinge}\n")
    for args in (["--debug", "check", str(bad)], ["check", str(bad), "--debug"]):
        result = run_sc(*args)
        assert result.returncode == 1 and "Traceback" in result.stderr, args
    result = run_sc("flow", "run", str(bad), "--debug")
    assert "Traceback" in result.stderr and "training.loss" in result.stderr


def test_bad_csv_stops_the_data_step_without_an_artefact(tmp_path, capsys):
    charges = dataset.generate(200, dataset.DataSection(charge_bits=12))
    good = tmp_path / "good.csv"
    np.savetxt(
        good, charges, fmt="%d", delimiter=",", header=",".join(dataset.CSV_COLUMNS), comments=""
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text().replace("\n", "\n1,2\n", 3))
    design = tmp_path / "csv.yaml"
    text = "design: {name: c}\ndata: {source: csv, csv: [%s], charge_bits: 12}\n"
    design.write_text(text % "good.csv")
    assert (
        main(["flow", "run", str(design), "--build-dir", str(tmp_path / "b1"), "--steps", "data"])
        == 0
    )
    stored, holdout = artefacts.ModelsArtefacts(tmp_path / "b1" / "models").load_dataset()
    assert len(stored) + len(holdout) == 200
    capsys.readouterr()
    design.write_text(text % "bad.csv")
    assert (
        main(["flow", "run", str(design), "--build-dir", str(tmp_path / "b2"), "--steps", "data"])
        == 1
    )
    assert "bad.csv, line 2: expected 48 columns, got 2" in capsys.readouterr().err
    assert not (tmp_path / "b2" / "models" / "dataset.npz").exists()


def test_a_bit_exact_mismatch_fails_quantize_and_removes_the_model(
    tiny_build, tmp_path, capsys, monkeypatch
):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    exact = fixedpoint.evaluate
    monkeypatch.setattr(fixedpoint, "evaluate", lambda model, charges: exact(model, charges) ^ 1)
    args = ["flow", "run", str(TINY), "--build-dir", str(build), "--steps", "quantize", "--force"]
    assert main(args) == 1
    assert "differs from QKeras on" in capsys.readouterr().err
    assert not (build / "models" / "quantized_model.json").exists()
    metrics = json.loads((build / "models" / "metrics.json").read_text())
    assert metrics["bit_exact"]["mismatches"] == metrics["bit_exact"]["samples"]


SLEEPING_RUN = """
import sys
from econflow import cli, runner, tools
from econflow.models.results import ModelsMetrics
from econflow.stage import Step

def sleep(cfg, build):
    tools.run(["sleep", "60"], build / "sleep.log", "sleep")

step = Step("data", ModelsMetrics, "data", (), lambda c, b: [], lambda c, b: [], sleep)
runner.all_steps = lambda: {"data": step}
sys.exit(cli.main(["flow", "run", sys.argv[1], "--build-dir", sys.argv[2], "--steps", "data"]))
"""


def test_sigterm_stops_the_children_and_leaves_the_step_to_rerun(tmp_path):
    import psutil

    build = tmp_path / "build"
    sc = subprocess.Popen(
        [sys.executable, "-c", SLEEPING_RUN, str(TINY), str(build)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "data: running" in sc.stdout.readline() + sc.stdout.readline()
    deadline = time.monotonic() + 30
    while not (children := psutil.Process(sc.pid).children(recursive=True)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sc.send_signal(signal.SIGTERM)
    _, err = sc.communicate(timeout=30)
    assert sc.returncode == 130 and "interrupted: stopped 1 child processes" in err
    assert not any(c.is_running() for c in children)
    manifest = json.loads((build / "models" / "manifest.json").read_text())
    assert "data" not in manifest["steps"]


POOLS_ENDED_AT_ONCE = """
import multiprocessing, signal
from econflow import cli
cli._on_sigterm()
for _ in range(500):
    with multiprocessing.get_context("fork").Pool(2):
        pass  # ended at once, as SiliconCompiler's run check may: SIGTERM to new workers
assert signal.getsignal(signal.SIGTERM) is cli._terminated
assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
print("ended")
"""


def test_worker_pools_ended_as_they_start_never_wait_on_a_worker():
    """With a Python SIGTERM handler a worker the pool ends before its fork is finished
    loses the signal and the pool waits on it forever (one in a few hundred pools here)."""
    run = subprocess.run(
        [sys.executable, "-c", POOLS_ENDED_AT_ONCE], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0 and run.stdout.strip() == "ended", run.stderr
