"""Shared fixtures: a temp outputs root, no Hub access, and a tiny model built in the test."""

import json
import os

import pytest
import yaml

os.environ["HF_HUB_OFFLINE"] = "1"  # a Hub lookup fails at once instead of waiting on the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    """Runs and models go to a temp dir for this test."""
    root = tmp_path / "outputs"
    monkeypatch.setenv("REASON_LIB_OUTPUTS", str(root))
    return root


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """(model, tokenizer, path): a tiny Llama with a locally trained tokenizer, saved by path."""
    from reason_lib.data import gsm8k_splits, mmlu_splits
    from reason_lib.data.world import base_mixture, corpus
    from reason_lib.models.tiny import build_model, train_tokenizer

    gsm = gsm8k_splits(64, 8, 8, seed=0)
    mc = mmlu_splits(32, 8, 8, seed=0)
    rows = base_mixture(gsm["train"], mc["train"], 0.2)
    tok = train_tokenizer(corpus(rows, mc["train"]), 400)
    model = build_model(tok, hidden_size=32, n_layers=2, n_heads=2, intermediate_size=64, seed=0)
    path = tmp_path_factory.mktemp("tiny") / "model"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return model, tok, path


def write_hh_pairs(path, n: int, malformed_at: int):
    """An HH-RLHF-format jsonl of `n` two-turn dialogues (last user turn `r{i}`, replies `good` /
    `bad`) with one malformed row (chosen and rejected prompts differ) inserted at `malformed_at`."""
    rows = [{"chosen": f"\n\nHuman: q{i}\n\nAssistant: a{i}\n\nHuman: r{i}\n\nAssistant: good",
             "rejected": f"\n\nHuman: q{i}\n\nAssistant: a{i}\n\nHuman: r{i}\n\nAssistant: bad"}
            for i in range(n)]
    rows.insert(malformed_at, {"chosen": "\n\nHuman: x\n\nAssistant: a",
                               "rejected": "\n\nHuman: y\n\nAssistant: b"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_run(root, experiment, run_id, status, params, metrics, profile="cpu", started=None):
    """A run folder as the runner leaves it (manifest, params, metrics, report), without running;
    by default started at second `run_id[-2:]` of one minute."""
    folder = root / experiment / run_id
    folder.mkdir(parents=True)
    started = started or f"2026-11-26T00:00:{run_id[-2:]}+00:00"
    (folder / "manifest.json").write_text(json.dumps(
        {"experiment": experiment, "run_id": run_id, "profile": profile, "status": status,
         "started": started, "ended": started if status == "succeeded" else None,
         "git_commit": "abc", "device": "cpu: 2 cores, torch threads 1"}))
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "report.html").write_text("<html></html>")
    return folder
