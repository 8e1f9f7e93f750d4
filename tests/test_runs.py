import json

import pytest

from reason_lib import disk, runs, session
from reason_lib.config import load_params


def test_create_writes_params_and_running_manifest(outputs):
    params = load_params("base_model", "cpu", {"seed": 7})
    run = runs.Run.create("base_model", params, "cpu")
    assert run.dir.parent == outputs / "base_model"
    m = run.manifest
    assert m["status"] == "running" and m["seed"] == 7 and m["profile"] == "cpu"
    assert m["packages"]["torch"] and m["git_commit"] and m["started"]
    import torch

    assert m["processor"].endswith(f"; torch {torch.backends.cpu.get_cpu_capability()}")
    assert run.params() == params  # params.yaml round-trips into the same dataclass
    assert (run.dir / "figures").is_dir() and run.checkpoints.is_dir()


def test_two_runs_never_share_a_folder(outputs):
    params = load_params("base_model", "cpu")
    a = runs.Run.create("base_model", params, "cpu")
    b = runs.Run.create("base_model", params, "cpu")
    assert a.dir != b.dir and a.dir.exists() and b.dir.exists()


def test_finish_and_fail(outputs):
    params = load_params("base_model", "cpu")
    run = runs.Run.create("base_model", params, "cpu")
    run.log(1, loss=2.0)
    run.log(2, loss=1.5)
    assert [h["loss"] for h in run.history()] == [2.0, 1.5]
    run.save_samples([{"reply": "ẹ̀ta"}])
    run.finish({"accuracy": 0.5})
    assert run.status == "succeeded" and run.manifest["ended"]
    assert json.loads((run.dir / "metrics.json").read_text()) == {"accuracy": 0.5}
    failed = runs.Run.create("base_model", params, "cpu")
    failed.log(1, loss=3.0)
    failed.fail("ValueError: boom")
    assert failed.status == "failed" and "boom" in failed.manifest["error"]
    assert (failed.dir / "metrics.jsonl").exists()  # partial results stay
    failed.reopen()
    assert failed.status == "running" and len(failed.manifest["resumed"]) == 1


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    disk.atomic_write(tmp_path / "a" / "f.json", "{}")
    disk.atomic_write(tmp_path / "a" / "f.json", "[]")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.json"]
    assert (tmp_path / "a" / "f.json").read_text() == "[]"


def test_last_checkpoint_is_the_highest_step(outputs):
    run = runs.Run.create("base_model", load_params("base_model", "cpu"), "cpu")
    assert run.last_checkpoint() is None
    for step in (5, 40, 100):
        (run.checkpoints / f"checkpoint-{step}").mkdir()
    assert run.last_checkpoint().name == "checkpoint-100"


def test_start_honours_profile_env_and_reopens_run_dir(outputs, monkeypatch):
    monkeypatch.setenv("REASON_LIB_PROFILE", "ci")
    params, run = session.start("base_model", "cpu")
    assert run.manifest["profile"] == "ci" and params.hidden_size == 32
    params2, run2 = session.start("base_model", "cpu", run_dir=str(run.dir))
    assert run2.dir == run.dir and params2 == params


def test_not_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        runs.Run(tmp_path)


@pytest.mark.parametrize("run_id", ["../../elsewhere/r1", "..", "*", "2026*", "a/b", ""])
def test_a_run_id_is_one_folder_name_under_outputs(outputs, run_id):
    """`--resume ../../elsewhere/<run> --prepare` once reopened and rewrote a folder outside
    outputs/; a run id is now one plain folder name."""
    from reason_lib.config import ParamError

    with pytest.raises(ParamError, match="not a run id"):
        runs.find_run("pause_star", run_id)


def test_a_model_spec_is_never_a_pattern(outputs):
    """`MODEL='*'` once resolved to the first run found; a star names no run."""
    from reason_lib.models.find import ModelNotFound, find_models

    params = load_params("base_model", "cpu")
    run = runs.Run.create("base_model", params, "cpu")
    with pytest.raises(ModelNotFound, match="keeps no model"):  # by its id: the run is found
        find_models(run.id)
    for spec in ("*", "2026*", "?" * len(run.id)):
        with pytest.raises(ModelNotFound, match="no such run"):
            find_models(spec)


def test_a_run_whose_process_is_gone_reads_interrupted_and_success_clears_the_error(outputs):
    """A runner killed with SIGKILL once left its run `running` forever; the manifest now names
    the process and host, and a dead process reads `interrupted` (summary, index, --resume)."""
    import os
    import subprocess
    import sys

    from reason_lib import summary

    run = runs.Run.create("base_model", load_params("base_model", "cpu"), "cpu")
    m = run.manifest
    assert m["pid"] == os.getpid() and m["host"] and run.status == "running"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run.note(pid=gone.pid)
    assert run.status == "interrupted"
    assert [r["status"] for r in summary.collect(outputs) if r["run_id"] == run.id] == ["interrupted"]
    run.fail("boom")
    run.reopen()
    assert run.status == "running" and "error" not in run.manifest
    assert run.manifest["resumed"][-1]["error"] == "boom"
    run.finish({})
    assert run.status == "succeeded" and "error" not in run.manifest


def test_resume_refuses_a_live_or_succeeded_run_without_force(outputs, capsys):
    from reason_lib import cli as runner

    run = runs.Run.create("base_model", load_params("base_model", "cpu"), "cpu")
    assert runner.main(["base_model", "--resume", run.id, "--prepare"]) == 2  # this process: alive
    assert "still running" in capsys.readouterr().err
    run.finish({})
    assert runner.main(["base_model", "--resume", run.id, "--prepare"]) == 2
    assert "already succeeded and nothing is extended" in capsys.readouterr().err
    assert runner.main(["base_model", "--resume", run.id, "--prepare", "--force"]) == 0
    assert run.status == "running"


def test_a_kernel_dies_with_its_runner(tmp_path):
    """The runner's child (the kernel) exits once the runner is gone, instead of writing on."""
    import subprocess
    import sys
    import time

    beat = tmp_path / "beat"
    child = (f"import time; from reason_lib.runs import die_with_parent; die_with_parent()\n"
             f"while True:\n    open({str(beat)!r}, 'a').write('.'); time.sleep(0.05)")
    parent = subprocess.Popen([sys.executable, "-c",
                               f"import subprocess, sys, time; subprocess.Popen([sys.executable, "
                               f"'-c', {child!r}]); time.sleep(60)"])
    for _ in range(200):
        if beat.exists():
            break
        time.sleep(0.05)
    parent.kill()
    parent.wait()
    time.sleep(1.0)
    size = beat.stat().st_size
    time.sleep(0.5)
    assert beat.stat().st_size == size  # no more writes: the child exited
