"""The papermill runner end to end, on the ci profile (seconds)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from reason_lib.config import PROJ_ROOT


def _run(outputs, *args):
    env = {**os.environ, "REASON_LIB_OUTPUTS": str(outputs)}
    return subprocess.run([sys.executable, "-m", "reason_lib.cli", *args], cwd=PROJ_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("args, words", [
    (["-p", "no_such_key", "1"], ["'no_such_key'", "unknown parameter", "params/base_model/ci.yaml"]),
    (["-p", "seed", "abc"], ["'seed'", "'abc'", "expected int"]),
    (["-p", "real_gsm8k_test", "data/missing.jsonl"], ["'real_gsm8k_test'", "file not found"]),
    (["-p", "epoch", "2"], ["'epoch'", "did you mean 'epochs'?"]),
    (["--profile", "cii"], ["profile 'cii'", "profiles: ci, cpu, gpu, smol"]),
])
def test_bad_parameters_fail_before_any_run(outputs, args, words):
    result = _run(outputs, "base_model", "--profile", "ci", *args)
    assert result.returncode == 2
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    for w in words:
        assert w in err
    assert not (outputs / "base_model").exists()  # no run folder, so none marked succeeded


def test_a_malformed_row_in_a_named_data_file_stops_the_run_before_it_starts(outputs, tmp_path):
    # notebook 00 reads real_gsm8k_test after training: the check must read it before
    bad = tmp_path / "gsm8k_test.jsonl"
    bad.write_text(json.dumps({"question": "1+1?", "answer": "1+1=2\n#### 2"}) + "\n"
                   + json.dumps({"question": "2+2?"}) + "\n")
    result = _run(outputs, "base_model", "--profile", "ci", "-p", "real_gsm8k_test", str(bad))
    assert result.returncode == 2, result.stderr[-2000:]
    err = result.stderr.strip()
    assert err.startswith("error: ") and f"{bad}, line 2" in err and "'answer'" in err
    assert not (outputs / "base_model").exists()  # no run folder, no model trained


def test_two_runs_leave_two_complete_run_folders(outputs):
    for _ in range(2):
        result = _run(outputs, "base_model", "--profile", "ci")
        assert result.returncode == 0, result.stderr[-3000:]
        # the kernel over IPC, known harmless warnings kept to log.txt: a quiet terminal
        for noise in ("without encryption", "IProgress not found", "is deprecated"):
            assert noise not in result.stdout + result.stderr, noise
    folders = sorted((outputs / "base_model").iterdir())
    assert len(folders) == 2
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["status"] == "succeeded" and manifest["profile"] == "ci"
        for name in ("notebook.ipynb", "report.html", "metrics.json", "params.yaml",
                     "samples.jsonl", "metrics.jsonl", "figures/accuracy.png", "figures/loss.png"):
            assert (folder / name).is_file(), name
        metrics = json.loads((folder / "metrics.json").read_text())
        assert {"GSM8K-format", "MC English", "MC Yoruba"} <= set(metrics)
        # the report reads without code or stderr; the notebook keeps both
        report = (folder / "report.html").read_text()
        notebook = json.loads((folder / "notebook.ipynb").read_text())
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert any(o.get("name") == "stderr" for c in code for o in c.get("outputs", []))
        body = report[report.index("<body"):]  # past the stylesheet, which names both
        assert "hl-ipython3" not in body and 'data-mime-type="application/vnd.jupyter.stderr"' \
            not in body
        assert "session.start(" not in report and 'href="notebook.ipynb"' in report
        assert 0 <= metrics["MC Yoruba"]["accuracy"]["value"] <= 1
    assert (outputs / "models" / "base-ci-seed0" / "model.safetensors").is_file()
    card = (outputs / "models" / "base-ci-seed0" / "MODEL.md").read_text()  # by the later run
    assert f"written by run `{folders[-1].name}`" in card and "from_pretrained(" in card
    # the dashboard, rewritten as each run ended: both runs, succeeded, linked to their reports
    index = (outputs / "index.html").read_text()
    assert index.count('<tr class="succeeded"><td>base_model</td>') == 2
    assert all(f'href="base_model/{f.name}/report.html"' in index for f in folders)


def test_a_failing_cell_marks_the_run_failed_and_keeps_the_notebook(outputs):
    # a model source that is neither a local folder nor reachable on the Hub (offline)
    result = _run(outputs, "base_model", "--profile", "ci", "-p", "init_model", "nobody/no-model")
    assert result.returncode == 1
    assert "a notebook cell failed" in result.stderr
    (folder,) = (outputs / "base_model").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"]
    assert (folder / "notebook.ipynb").is_file() and (folder / "report.html").is_file()
    assert not (folder / "metrics.json").exists()


def test_a_grid_runs_every_entry_and_reports_the_failed_one(outputs, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text('- {seed: 1}\n- {init_model: "nobody/no-model"}\n')
    result = _run(outputs, "base_model", "--profile", "ci", "--grid", str(grid))
    assert result.returncode == 1
    assert "1 of 2 runs succeeded" in result.stdout and "nobody/no-model" in result.stderr
    statuses = sorted(json.loads((f / "manifest.json").read_text())["status"]
                      for f in (outputs / "base_model").iterdir())
    assert statuses == ["failed", "succeeded"]


def test_a_bad_grid_entry_stops_the_grid_before_any_run(outputs, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("- {seed: 1}\n- {seed: -3}\n")
    result = _run(outputs, "base_model", "--profile", "ci", "--grid", str(grid))
    assert result.returncode == 2 and "entry 2" in result.stderr and "'seed'" in result.stderr
    assert not (outputs / "base_model").exists()


def test_the_pause_grid_file_holds_the_20_configurations_and_the_matched_control():
    from reason_lib.cli import load_grid

    entries = load_grid("params/pause_warmup/grids/warmup.yaml", "pause_warmup", "cpu", {})
    assert len(entries) == 21 and len({e["config_name"] for e in entries}) == 21
    assert sum(e.get("use_pauses", True) is False for e in entries) == 3
    assert sum(e.get("lora") is False for e in entries) == 9


def test_reuse_skips_a_run_with_the_same_parameters_only(outputs):
    first = _run(outputs, "base_model", "--profile", "ci", "--reuse")
    assert first.returncode == 0 and "reusing" not in first.stdout
    again = _run(outputs, "base_model", "--profile", "ci", "--reuse")
    assert again.returncode == 0 and "reusing run" in again.stdout
    other = _run(outputs, "base_model", "--profile", "ci", "--reuse", "-p", "seed", "1")
    assert other.returncode == 0 and "reusing" not in other.stdout
    assert len(list((outputs / "base_model").iterdir())) == 2
    # the model at the path records its writer; another run's model there is not reused
    record = outputs / "models" / "base-ci-seed0" / "writer.json"
    assert json.loads(record.read_text())["run"] in {f.name for f in (outputs / "base_model").iterdir()}
    assert not list((outputs / "models").glob("*.tmp-*")) and not list((outputs / "models").glob("*.old-*"))
    record.write_text(json.dumps({"run": "someone-else"}))
    third = _run(outputs, "base_model", "--profile", "ci", "--reuse")
    assert third.returncode == 0 and "written by someone-else: running again" in third.stdout
    # the record names the third run, but its weights were changed in place since: not reused
    from safetensors.torch import load_file, save_file

    weights = outputs / "models" / "base-ci-seed0" / "model.safetensors"
    save_file({k: v * 2 for k, v in load_file(weights).items()}, weights)
    fourth = _run(outputs, "base_model", "--profile", "ci", "--reuse")
    assert fourth.returncode == 0 and "saved there" in fourth.stdout and "running again" in fourth.stdout


def test_a_killed_run_is_marked_failed(outputs):
    import time

    env = {**os.environ, "REASON_LIB_OUTPUTS": str(outputs)}
    proc = subprocess.Popen([sys.executable, "-m", "reason_lib.cli", "base_model", "--profile",
                             "ci"], cwd=PROJ_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(outputs.glob("base_model/*/notebook.ipynb")) and time.time() < deadline:
        time.sleep(0.2)
    proc.terminate()  # SIGTERM, as `kill` sends
    proc.wait(timeout=120)
    assert proc.returncode != 0
    (folder,) = (outputs / "base_model").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "signal" in manifest["error"]


def test_reinforce_on_hh_dialogues_without_sft_and_a_frozen_reward_backbone(outputs, tiny, tmp_path):
    """The smol profile's code path on local assets: HH-RLHF-format dialogues (one malformed),
    no SFT, the reward model's lower backbone frozen, a LoRA policy."""
    from conftest import write_hh_pairs

    data = write_hh_pairs(tmp_path / "hh.jsonl", 40, malformed_at=5)
    result = _run(outputs, "reinforce_rm", "--profile", "ci", "-p", "base_model", str(tiny[2]),
                  "-p", "preference_data", str(data), "-p", "skip_malformed", "true",
                  "-p", "context_turns", "1", "-p", "sft_epochs", "0", "-p", "rm_init", "base",
                  "-p", "rm_trainable_layers", "1", "-p", "lora", "true", "-p", "methods", "[rloo_kl]",
                  "-p", "n_test", "8")
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = (outputs / "reinforce_rm").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["data"] == {"train_pairs": 32, "test_pairs": 8, "skipped_malformed": 1}
    assert metrics["reward_model"]["accuracy"]["n"] == 8
    assert set(metrics["policies"]) == {"sft", "rloo_kl"} and "gold" not in metrics["policies"]["sft"]
    assert not (folder / "checkpoints" / "sft-model").exists()  # no SFT: the base is the policy


def test_resume_extends_only_what_it_can_and_names_what_it_cannot(outputs):
    from reason_lib import config, runs
    from reason_lib.cli import prepare

    run = runs.Run.create("pause_star", config.load_params("pause_star", "ci", {}), "ci")
    run.finish({"done": True})
    loops = run.params().outer_loops
    with pytest.raises(config.ParamError, match=r"key 'learning_rate' \(value 0.5\) differs"):
        prepare("pause_star", "ci", {"learning_rate": 0.5}, resume=run.id)
    with pytest.raises(config.ParamError, match="--profile cpu, but the run started with profile 'ci'"):
        prepare("pause_star", "cpu", {}, resume=run.id)
    assert run.status == "succeeded" and run.params().outer_loops == loops  # nothing changed
    same, _ = prepare("pause_star", "ci", {"outer_loops": loops + 2, "seed": 0}, resume=run.id)
    assert same.dir == run.dir and run.status == "running"
    assert run.params().outer_loops == loops + 2
    assert run.manifest["extended"][0]["changes"] == {"outer_loops": [loops, loops + 2]}
    with pytest.raises(config.ParamError, match="is below the run's"):
        prepare("pause_star", "ci", {"outer_loops": loops}, resume=run.id)


def test_seeds_parse_as_a_count_a_range_or_a_list():
    from reason_lib.config import ParamError
    from reason_lib.cli import parse_seeds

    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("5-7") == [5, 6, 7]
    assert parse_seeds("4,1") == [4, 1]
    for bad in ("0", "x", "2,2", "3-1"):
        with pytest.raises(ParamError, match="--seeds"):
            parse_seeds(bad)


def test_seeds_run_one_folder_and_one_base_model_per_seed_then_start_each_seed_from_its_own(outputs):
    result = _run(outputs, "base_model", "--profile", "ci", "--seeds", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seeds: 2 of 2 runs succeeded" in result.stdout
    import yaml

    params = [yaml.safe_load((f / "params.yaml").read_text())
              for f in sorted((outputs / "base_model").iterdir())]
    assert sorted(p["seed"] for p in params) == [0, 1] and {p["data_seed"] for p in params} == {0}
    weights = [(outputs / "models" / f"base-ci-seed{k}" / "model.safetensors").read_bytes()
               for k in (0, 1)]
    assert weights[0] != weights[1]  # another initialisation and data order: another model

    # seed 2 of an experiment needs base model seed 2, which is missing: it is trained first
    from reason_lib.cli import needs_base_model

    os.environ["REASON_LIB_OUTPUTS"] = str(outputs)
    try:
        assert needs_base_model("pause_warmup", "ci", {"seed": 1}) is None
        assert needs_base_model("pause_warmup", "ci", {"seed": 2}) == {"seed": 2}
        assert needs_base_model("pause_warmup", "ci", {"seed": 2, "model": "elsewhere"}) is None
    finally:
        del os.environ["REASON_LIB_OUTPUTS"]
    result = _run(outputs, "pause_warmup", "--profile", "ci", "--seeds", "2-2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "base model of seed 2 missing: training it first" in result.stdout
    (run,) = (outputs / "pause_warmup").iterdir()
    assert "base-ci-seed2" in (run / "params.yaml").read_text()
    # so does one run started alone (`make pause-warmup ARGS='-p seed 3'`), not a Hub-id error
    result = _run(outputs, "pause_warmup", "--profile", "ci", "-p", "seed", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "base model of seed 3 missing: training it first" in result.stdout
    assert (outputs / "models" / "base-ci-seed3" / "model.safetensors").is_file()


def test_mark_failed_marks_even_inside_a_launch(outputs, monkeypatch):
    """params/accelerate/slurm.sh exports the launch variable, then on a failed launch calls
    --mark-failed: that once ran the whole notebook again, single-process, instead."""
    from reason_lib import distributed, runs
    from reason_lib.config import load_params
    from reason_lib.cli import main

    run = runs.Run.create("base_model", load_params("base_model", "ci"), "ci")
    monkeypatch.setenv(distributed.LAUNCHED, "1")
    assert main(["base_model", "--profile", "ci", "--mark-failed", str(run.dir)]) == 1
    assert runs.Run(run.dir).manifest["status"] == "failed"


def test_slurm_script_marks_a_failed_launch_failed_and_runs_nothing_itself(outputs, tmp_path):
    """params/accelerate/slurm.sh run as sbatch would, with an `srun` that fails at once: the
    folder its --prepare made is marked failed, and nothing runs in its place (the fallback once
    ran the whole notebook again, single-process, on the first node)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/bash\necho 'srun: error: node1: task 0: Exited' >&2\nexit 1\n")
    (fake / "scontrol").write_text("#!/bin/bash\necho node1\n")
    for tool in fake.iterdir():
        tool.chmod(0o755)
    env = {**os.environ, "REASON_LIB_OUTPUTS": str(outputs), "PY": sys.executable,
           "PATH": f"{fake}:{os.environ['PATH']}", "SLURM_NNODES": "1", "SLURM_GPUS_ON_NODE": "1",
           "SLURM_JOB_NODELIST": "node1"}
    result = subprocess.run(["bash", "params/accelerate/slurm.sh", "base_model", "--profile", "ci"],
                            cwd=PROJ_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "srun: error" in result.stderr
    (run,) = (outputs / "base_model").iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert not (run / "metrics.json").exists() and not (outputs / "models").exists()


def test_two_seeds_started_together_each_keep_their_own_base_model(outputs):
    """Two base_model runs of seeds 0 and 1 started at once (as `make claims` does) each end
    with their own model, recorded by its writer, and `make evaluate MODEL=<run>` finds each
    run's own; a later run of seed 0 replaces that model, and the first seed-0 run then names
    the replacement instead of silently scoring it."""
    from reason_lib.models.find import ModelNotFound, find_models

    env = {**os.environ, "REASON_LIB_OUTPUTS": str(outputs), "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "reason_lib.cli", "base_model", "--profile",
                               "ci", "-p", "seed", str(seed)], cwd=PROJ_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for seed in (0, 1)]
    assert all(p.wait(timeout=600) == 0 for p in procs), [p.stderr.read()[-2000:] for p in procs]
    by_seed = {}
    for folder in (outputs / "base_model").iterdir():
        by_seed[yaml.safe_load((folder / "params.yaml").read_text())["seed"]] = folder.name
    for seed, run_id in by_seed.items():
        saved = outputs / "models" / f"base-ci-seed{seed}"
        assert json.loads((saved / "writer.json").read_text())["run"] == run_id
        (found,) = find_models(run_id)
        assert found.path == str(saved)
    again = _run(outputs, "base_model", "--profile", "ci")
    assert again.returncode == 0
    with pytest.raises(ModelNotFound, match=f"{by_seed[0]}.*replaced by run"):
        find_models(by_seed[0])


@pytest.mark.parametrize("experiment", ["pause_star", "reinforce_rm"])
def test_help_lists_every_parameter_with_its_type_default_and_the_profiles_value(outputs,
                                                                              experiment):
    import dataclasses

    from reason_lib.config import EXPERIMENTS, load_params

    result = _run(outputs, experiment, "--profile", "ci", "--help")
    assert result.returncode == 0, result.stderr
    listed = [line.split(" (")[0].strip() for line in result.stdout.splitlines()
              if line.startswith("  ") and not line.startswith("   ") and " (" in line
              and not line.strip().startswith("-")]
    fields = dataclasses.fields(EXPERIMENTS[experiment].params)
    assert sorted(listed) == sorted(f.name for f in fields)
    ci = load_params(experiment, "ci")
    changed = next(f for f in fields if getattr(ci, f.name) != (
        f.default if f.default is not dataclasses.MISSING else f.default_factory()))
    assert f"ci {getattr(ci, changed.name)!r}" in result.stdout
    assert "shared by every experiment:" in result.stdout and not (outputs / experiment).exists()


def test_make_help_lists_the_variables_and_profiles_and_infer_names_what_it_lacks():
    def make(*args):
        return subprocess.run(["make", "-s", *args], cwd=PROJ_ROOT, capture_output=True, text=True,
                              timeout=300)

    shown = make("help").stdout
    assert "one of: ci cpu gpu smol" in shown and "$(" not in shown
    for variable in ("PROFILE [cpu]", "ARGS", "SEEDS", "GRID [warmup]", "NPROC", "PROMPTS"):
        assert variable in shown
    result = make("infer", "MODEL=x")
    assert result.returncode != 0 and "make infer: set PROMPTS=" in result.stdout
