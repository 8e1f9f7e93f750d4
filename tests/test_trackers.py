"""reason_lib.trackers: the per-step and final metrics of a run, copied to TensorBoard and to
Weights & Biases (offline: no network), under the same names as metrics.jsonl."""

import json
import struct

import pytest

from reason_lib import config, runs
from reason_lib.trackers import check_available

BLOCK = 32768  # the .wandb file is a LevelDB-style log of protobuf records


def wandb_records(path):
    """Every record of an offline W&B run file (`run-<id>.wandb`), parsed."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, out, partial = 7, [], b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            break
        partial += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL, LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(partial)
            out.append(record)
            partial = b""
    return out


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def test_a_run_reports_its_steps_and_final_metrics_to_tensorboard_and_wandb(outputs, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    params = config.load_params("reinforce_rm", "ci", {"report_to": ["tensorboard", "wandb"]})
    run = runs.Run.create("reinforce_rm", params, "ci")
    for step in (1, 2, 3):  # two loops that each count from step 1, as REINFORCE and SFT do
        run.log(step, **{"reinforce/reward": 0.25 * step})
    for step in (1, 2):
        run.log(step, **{"sft/loss": 2.0 / step})
    run.finish({"policies": {"reinforce": {"reward": {"value": 0.5, "low": 0.1, "high": 0.9}}}})

    events = EventAccumulator(str(run.dir / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("reinforce/reward")] == [(1, 0.25), (2, 0.5), (3, 0.75)]
    assert [(e.step, e.value) for e in events.Scalars("sft/loss")] == [(1, 2.0), (2, 1.0)]
    assert events.Scalars("final/policies/reinforce/reward/value")[0].value == 0.5

    import wandb

    wandb.teardown()  # the W&B service process has written everything when it has stopped
    (path,) = (run.dir / "wandb").glob("offline-run-*/run-*.wandb")
    records = wandb_records(path)
    kinds = sorted(r.WhichOneof("record_type") for r in records)
    history = [{_key(item): json.loads(item.value_json) for item in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    assert [(h["reinforce/step"], h["reinforce/reward"]) for h in history if "reinforce/reward" in h] \
        == [(1, 0.25), (2, 0.5), (3, 0.75)], (kinds, history)
    assert [(h["sft/step"], h["sft/loss"]) for h in history if "sft/loss" in h] == [(1, 2.0), (2, 1.0)]
    summary = {_key(item): json.loads(item.value_json) for r in records
               if r.WhichOneof("record_type") == "summary" for item in r.summary.update}
    assert summary["policies/reinforce/reward/value"] == 0.5
    assert [r.run.run_id for r in records if r.WhichOneof("record_type") == "run"][0] == run.id
    assert [json.loads(line)["reinforce/reward"] for line in
            (run.dir / "metrics.jsonl").read_text().splitlines()[:3]] == [0.25, 0.5, 0.75]


def test_an_unknown_or_missing_tracker_is_named_before_anything_runs(monkeypatch):
    import builtins

    with pytest.raises(config.ParamError, match="'report_to'.*'mlflow'.*one of"):
        config.load_params("base_model", "ci", {"report_to": ["mlflow"]})
    real_import = builtins.__import__

    def no_wandb(name, *args, **kwargs):
        if name == "wandb":
            raise ImportError("no wandb here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wandb)
    with pytest.raises(config.ParamError, match=r"report_to wandb: the wandb package is not installed"):
        check_available(["wandb"])
