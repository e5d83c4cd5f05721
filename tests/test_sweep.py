"""``sc sweep``: the sweep file's variants, their shared models, the table and the report."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import slurm_cluster

from econflow.cli import main
from econflow.errors import ConfigError
from econflow.lock import BuildLockedError, build_lock
from econflow.sweep.plan import load_sweep
from econflow.sweep.table import pareto

CONFIGS = Path(__file__).parent / "configs"
NANO = CONFIGS / "nano.yaml"
STEPS = "[data, train, quantize, rtl, synth, sta, gatesim, power, report]"


def unset_scheduler(patch: pytest.MonkeyPatch) -> None:
    """``sc`` exports its scheduler to the processes it starts: called in-process, the
    variables are unset now and restored when ``patch`` undoes."""
    for variable in ("ECONFLOW_SCHEDULER", "ECONFLOW_SLURM_PARTITION", "ECONFLOW_SLURM_MEM_GB"):
        patch.setenv(variable, "")
        patch.delenv(variable)


@pytest.fixture(autouse=True)
def _scheduler_environment(monkeypatch):
    unset_scheduler(monkeypatch)


def sweep_file(tmp_path: Path, body: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"design: {NANO}\n{body}")
    return path


def test_grid_zip_and_explicit_variants(tmp_path):
    path = sweep_file(
        tmp_path,
        "set: {gate_level.vectors: 200}\n"
        "axes:\n  model.conv.weight.bits: [2, 3]\n  hardware.tmr: [none, full]\n"
        "zip:\n  - {hardware.pipeline_depth: [0, 1], hardware.clock_mhz: [20, 40]}\n"
        "variants:\n  - {name: reference, set: {hardware.weights: hardwired}}\n",
    )
    sweep = load_sweep(path)
    assert len(sweep.variants) == 2 * 2 * 2 + 1
    assert sweep.axes == [
        "model.conv.weight.bits",
        "hardware.tmr",
        "hardware.pipeline_depth",
        "hardware.clock_mhz",
    ]
    first = sweep.variants[0]
    assert first.name == "bits-2_tmr-none_pipeline_depth-0_clock_mhz-20"
    assert first.cfg.design.model.conv.weight.bits == 2
    assert first.cfg.design.hardware.clock_mhz == 20
    assert all(v.cfg.design.gate_level.vectors == 200 for v in sweep.variants)
    # zipped values move together: depth 1 only ever with 40 MHz
    pairs = {
        (v.cfg.design.hardware.pipeline_depth, v.cfg.design.hardware.clock_mhz)
        for v in sweep.variants[:-1]
    }
    assert pairs == {(0, 20.0), (1, 40.0)}
    assert sweep.variants[-1].name == "reference"
    assert sweep.variants[-1].cfg.design.hardware.weights == "hardwired"
    # the conv weight bits change the model: two model groups; the hardware axes share them
    assert len({v.models for v in sweep.variants}) == 2
    assert sweep.variants[-1].models == first.models  # the file's conv weight bits: 2
    assert sweep.steps == list(first.cfg.design.flow.steps)  # the design's, by default


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        (
            "axes: {model.conv.weight.bitz: [2]}",
            "variant bitz-2: model.conv.weight.bitz",
            "unknown key",
        ),
        ("axes: {hardware.tmr: [none, all]}", "variant tmr-all: hardware.tmr", "'all'"),
        ("axes: {pdk.name: [gf12]}", "variant name-gf12: pdk.name", "unknown PDK 'gf12'"),
        ("axes: {hardware.tmr: []}", "axes.hardware.tmr", "empty list"),
        ("name: x", "axes", "no variant"),
        ("zip: [{hardware.tmr: [none], hardware.clock_mhz: [20, 40]}]", "zip.0", "one non-zero"),
        ("axes: {hardware.tmr: [none]}\nvariants: [{name: tmr-none}]", "variants", "twice"),
        ("axis: {hardware.tmr: [none]}", "axis", "unknown key"),
        ("axes: {hardware.tmr: [none]}\nsteps: [synth, placer]", "steps", "placer"),
        ("axes: {hardware.tmr: [none]}\nset: {hardware.tmr: full}", "set", "also vary"),
        (
            "variants: [{name: a, set: {hardware.clock_mhz: -1}}]",
            "variants.0 (a): hardware.clock_mhz",
            "greater than 0",
        ),
    ],
)
def test_bad_sweep_files_name_the_variant_and_key(tmp_path, body, key, message):
    path = sweep_file(tmp_path, body + "\n")
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert message in str(caught.value)


def test_missing_design_and_bad_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("design: nowhere.yaml\naxes: {hardware.tmr: [none]}\n")
    with pytest.raises(ConfigError, match=r"s.yaml: design: design file not found"):
        load_sweep(path)
    path.write_text("design: x\naxes: {a: [1]}\naxes: {b: [2]}\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'axes'"):
        load_sweep(path)


def test_pareto_front():
    table = [
        {"area_um2": 1.0, "emd_mean": 3.0},
        {"area_um2": 2.0, "emd_mean": 2.0},
        {"area_um2": 2.0, "emd_mean": 2.5},  # dominated by the second
        {"area_um2": 3.0, "emd_mean": 2.0},  # as good in EMD, larger: dominated
        {"area_um2": None, "emd_mean": 1.0},  # not implemented: on no front
    ]
    assert pareto(table, "area_um2", "emd_mean") == [True, True, False, False, False]


@pytest.fixture(scope="module")
def nano_sweep(tmp_path_factory):
    """Two TMR scopes of the nano design through synthesis, timing and power, and a variant
    whose RTL cannot be generated; run twice (the second run resumes)."""
    root = tmp_path_factory.mktemp("sweep")
    path = root / "nano_tmr.yaml"
    path.write_text(
        f"design: {NANO}\nsteps: {STEPS}\naxes:\n  hardware.tmr: [none, config]\n"
        "variants:\n  - {name: deep, set: {hardware.pipeline_depth: 40}}\n"
    )
    build = root / "build"
    with pytest.MonkeyPatch.context() as patch:
        unset_scheduler(patch)
        args = ["sweep", str(path), "--jobs", "2", "--build-dir", str(build)]
        codes = [main(args) for _ in "12"]
    return build, codes


def test_sweep_trains_once_and_compares_variants(nano_sweep, capsys):
    build, codes = nano_sweep
    assert codes == [1, 1]  # the failing variant makes the exit status 1, twice
    groups = list((build / "models").iterdir())
    assert len(groups) == 1  # the TMR scope is hardware only: one training for all three
    for name in ("tmr-none", "tmr-config", "deep"):
        link = build / "variants" / name / "models"
        assert link.is_symlink()
        assert link.resolve() == (groups[0] / "models").resolve()
        assert not os.path.isabs(os.readlink(link))  # the sweep folder can move
    manifest = json.loads((groups[0] / "models" / "manifest.json").read_text())
    assert set(manifest["steps"]) == {"data", "train", "quantize"}
    rows = {r["variant"]: r for r in csv.DictReader((build / "results.csv").open())}
    assert set(rows) == {"tmr-none", "tmr-config", "deep"}
    none, config, deep = rows["tmr-none"], rows["tmr-config"], rows["deep"]
    assert none["status"] == config["status"] == "ok"
    assert deep["status"] == "failed" and "11 places for a register" in deep["error"]
    assert none["emd_mean"] == config["emd_mean"] == deep["emd_mean"]  # one model
    assert float(config["area_um2"]) > float(none["area_um2"])  # the TMR copies
    assert int(config["protected_bits"]) > 0 == int(none["protected_bits"])
    assert float(config["energy_nj"]) > float(none["energy_nj"]) > 0
    assert none["pareto_area"] == "True" and config["pareto_area"] == "False"
    assert float(none["emd_occupancy_1"]) >= 0
    assert none["gate_level_mismatches"] == "0"
    table = json.loads((build / "results.json").read_text())
    assert table[0]["emd_by_occupancy"]
    html = (build / "report.html").read_text()
    assert 'href="variants/tmr-none/report/report.html"' in html
    assert "11 places for a register" in html
    assert (build / "figures" / "emd_vs_area.png").stat().st_size > 0
    assert (build / "figures" / "area_energy_per_tmr.png").stat().st_size > 0


def test_sweep_rerun_resumes(nano_sweep):
    build, _ = nano_sweep
    log = (build / "variants" / "tmr-config" / "run.log").read_text()
    for step in ("rtl", "synth", "sta", "gatesim", "power", "report"):
        assert f"{step}: skipped (inputs and config unchanged)" in log


def test_shared_models_are_locked_while_a_variant_runs(nano_sweep):
    build, _ = nano_sweep
    group = next((build / "models").iterdir())
    variant = build / "variants" / "tmr-none"
    refused = pytest.raises(BuildLockedError, match="in use by another run")
    with build_lock(variant), refused, build_lock(group):
        pass
    # a run of the group folder: no variant may start meanwhile
    refused = pytest.raises(BuildLockedError, match="models: links to")
    with build_lock(group), refused, build_lock(variant):
        pass


def test_sweep_errors_are_one_line(tmp_path, capsys):
    path = sweep_file(tmp_path, "axes: {hardware.tmrr: [none]}\n")
    assert main(["sweep", str(path), "--build-dir", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {path}: variant tmrr-none: hardware.tmrr: unknown key (not allowed in hardware)"
    ]
    path = sweep_file(tmp_path, "axes: {hardware.tmr: [none]}\n")
    assert main(["sweep", str(path), "--steps", "synth,placer"]) == 1
    assert "--steps: unknown step(s) 'placer'" in capsys.readouterr().err
    assert main(["sweep", str(path), "--jobs", "0"]) == 1
    assert "--jobs: expected at least 1, got 0" in capsys.readouterr().err
    build = tmp_path / "locked"
    with build_lock(build):
        assert main(["sweep", str(path), "--build-dir", str(build)]) == 1
    assert "in use by run" in capsys.readouterr().err


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A single-node Slurm cluster on this machine, for this module's tests."""
    reason = slurm_cluster.missing()
    if reason is not None and os.geteuid() != 0:
        pytest.skip(reason)
    assert reason is None, reason
    cluster = slurm_cluster.Cluster(tmp_path_factory.mktemp("slurm")).start()
    saved = os.environ.get("SLURM_CONF")
    os.environ.update(cluster.environment)
    yield cluster
    cluster.stop()
    if saved is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = saved


def test_sweep_on_slurm(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    path = sweep_file(
        tmp_path,
        "steps: [data, train, quantize, rtl, synth, sta]\nmemory_gb: 1.5\n"
        "axes:\n  hardware.tmr: [none, config]\n",
    )
    build = tmp_path / "build"
    args = ["sweep", str(path), "--jobs", "2", "--scheduler", "slurm", "--build-dir", str(build)]
    assert main(args) == 0
    jobs = slurm.jobs()
    assert all(job["JobState"] == "COMPLETED" for job in jobs)
    names = [job["Name"] for job in jobs]
    group = next((build / "models").iterdir()).name
    assert names.count(f"econflow-models-{group}") == 1  # the model steps: one job
    for node in ("elaborate", "synth", "timing"):  # SiliconCompiler's nodes: one job each
        assert sum(name.endswith(f"_{node}_0") for name in names) == 2, names
    assert all("mem=1.50G" in job["Tres"] for job in jobs)  # memory_gb, as --mem
    rows = {r["variant"]: r for r in csv.DictReader((build / "results.csv").open())}
    assert float(rows["tmr-config"]["area_um2"]) > float(rows["tmr-none"]["area_um2"])


def test_slurm_without_a_controller(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLURM_CONF", str(tmp_path / "absent.conf"))
    path = sweep_file(tmp_path, "axes: {hardware.tmr: [none]}\n")
    build = tmp_path / "build"
    assert main(["sweep", str(path), "--scheduler", "slurm", "--build-dir", str(build)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scheduler slurm:" in err[0], err
    assert not build.exists()  # stopped before any variant


def squeue(env: dict[str, str], columns: str) -> str:
    """The cluster's queue, one job a line in ``columns`` (squeue's ``--format``)."""
    found = subprocess.run(
        ["squeue", "--noheader", "--format", columns],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout


def test_interrupted_sweep_leaves_no_job(slurm, tmp_path):
    path = sweep_file(tmp_path, "steps: [data, train]\naxes: {hardware.tmr: [none]}\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    command = [sys.executable, "-m", "econflow.cli", "sweep", str(path), "--scheduler", "slurm"]
    run = subprocess.Popen(
        [*command, "--build-dir", str(tmp_path / "build")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def queue() -> str:
        return squeue(env, "%j").strip()

    deadline = time.monotonic() + 60
    while not queue().startswith("econflow-models-") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queue().startswith("econflow-models-")  # the model steps run as a job
    run.send_signal(signal.SIGTERM)
    output, _ = run.communicate(timeout=60)
    assert run.returncode == 130, output
    assert "interrupted" in output
    deadline = time.monotonic() + 10
    while queue() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queue() == ""


def test_jobs_carry_the_ids_of_their_runs(monkeypatch):
    from econflow.scheduler import RUNS_VARIABLE, Scheduler

    monkeypatch.delenv(RUNS_VARIABLE, raising=False)
    assert Scheduler("slurm", "p", 1.5).options == ["--mem=1536M"]
    monkeypatch.setenv(RUNS_VARIABLE, "sweep1,variant2")
    assert Scheduler("slurm", "p").options == ["--comment=econflow-runs:sweep1,variant2"]


def test_next_run_cancels_the_jobs_of_a_killed_sweep(slurm, tmp_path):
    """A sweep killed outright leaves its model job running on the cluster; the next run on
    its build folder finds the job by the dead run's id and cancels it by its job ID."""
    path = sweep_file(tmp_path, "steps: [data, train]\naxes: {hardware.tmr: [none]}\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    build = tmp_path / "build"
    command = [sys.executable, "-m", "econflow.cli", "sweep", str(path), "--scheduler", "slurm"]
    sweep = subprocess.Popen(
        [*command, "--build-dir", str(build)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def queue() -> list[list[str]]:
        return [line.split() for line in squeue(env, "%i %j %k").splitlines()]

    deadline = time.monotonic() + 60
    while not queue() and time.monotonic() < deadline:
        time.sleep(0.2)
    [(job, name, comment)] = queue()
    assert name.startswith("econflow-models-")
    record = json.loads((build / ".econflow.lock").read_text())
    assert comment == f"econflow-runs:{record['run']}" and record["scheduler"] == "slurm"
    sweep.kill()
    sweep.wait()
    time.sleep(1)
    assert [row[0] for row in queue()] == [job]  # the job outlives the run that submitted it
    args = ["flow", "run", str(NANO), "--build-dir", str(build), "--steps", "data"]
    after = subprocess.run(
        [sys.executable, "-m", "econflow.cli", *args], env=env, capture_output=True, text=True
    )
    assert after.returncode == 0, after.stderr
    assert f"cancelled its Slurm job(s) {job}" in after.stdout
    deadline = time.monotonic() + 10
    while queue() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queue() == []
    assert [j["JobState"] for j in slurm.jobs() if j.get("JobId") == job] == ["CANCELLED"]
