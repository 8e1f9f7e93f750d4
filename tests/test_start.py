"""reason_lib.train.start (the pause study's start model) and the warm-up grid against the study's
own table (reason_lib.studies)."""

import json

import pytest
import torch

from reason_lib import config, studies
from reason_lib.data import gsm8k_prompt, gsm8k_splits
from reason_lib.experiments.pause_warmup.params import PauseWarmupParams
from reason_lib.models import load_model, load_tokenizer
from reason_lib.train.start import CARD, model_fingerprint, start_model


def _rows(n=16):
    return [{"prompt": gsm8k_prompt(r), "completion": r["answer"]}
            for r in gsm8k_splits(n, 1, 1, max_steps=1, seed=0)["train"]]


SETTINGS = dict(epochs=1.0, learning_rate=1e-2, batch_size=8, max_length=128, lora_r=4, seed=0)


def test_start_model_is_trained_once_then_reused_and_loads_as_the_tuned_model(tiny, outputs):
    _, _, path = tiny
    first = start_model(path, _rows(), **SETTINGS)
    card = json.loads((config.outputs_root() / "models" / "start" / first.split("/")[-1] / CARD)
                      .read_text())
    assert card["base_model"] == str(path) and card["rows"] == 16
    readable = (config.outputs_root() / "models" / "start" / first.split("/")[-1] / "MODEL.md")
    assert f"The study's step 1: the base model `{path}`" in readable.read_text()
    kept = sorted(p.name for p in (outputs / "models" / "start").iterdir())
    assert start_model(path, _rows(), **SETTINGS) == first  # the same setting: reused
    assert sorted(p.name for p in (outputs / "models" / "start").iterdir()) == kept
    tuned, base = load_model(first), load_model(path)
    ids = load_tokenizer(first)("Tom has 3 apples.", return_tensors="pt").input_ids
    with torch.no_grad():  # one epoch of SFT moved the model
        assert not torch.allclose(tuned(ids).logits, base(ids).logits, atol=1e-4)
    # another setting or other rows: another start model
    assert start_model(path, _rows(), **{**SETTINGS, "learning_rate": 5e-3}) != first
    assert start_model(path, _rows(8), **SETTINGS) != first
    assert start_model(path, _rows(), **{**SETTINGS, "epochs": 0.0}) == str(path)


def test_the_fingerprint_follows_the_weights_not_the_name(tiny, tmp_path):
    _, tok, path = tiny
    copy = tmp_path / "copy"
    model = load_model(path)
    model.save_pretrained(copy)
    tok.save_pretrained(copy)
    before = model_fingerprint(copy)
    assert model_fingerprint(copy) == before
    with torch.no_grad():
        model.lm_head.weight[0, 0] += 1.0
    model.save_pretrained(copy)
    assert model_fingerprint(copy) != before


def test_the_warmup_grid_is_the_studys_twenty_rows():
    """Names and flags of params/pause_warmup/grids/warmup.yaml against the study's table, copied
    into reason_lib/studies/pause_warmup_grid.csv."""
    study = studies.table("pause_warmup_grid")
    grid = config.read_yaml((config.PROJ_ROOT / "params/pause_warmup/grids/warmup.yaml").read_text())
    matched = [row for row in grid if row["config_name"] == "matched_nopause_peft"]
    grid = [row for row in grid if row["config_name"] != "matched_nopause_peft"]
    assert [row["config_name"] for row in grid] == list(study)
    assert len(grid) == 20
    defaults = PauseWarmupParams()
    # the matched control: sft_peft's training path (start model, epochs, LoRA) without pauses
    (control,) = [PauseWarmupParams(**{**config.to_dict(defaults), **row}) for row in matched]
    sft_peft = PauseWarmupParams(**{**config.to_dict(defaults), **grid[1]})
    assert grid[1]["config_name"] == "sft_peft" and not control.use_pauses and sft_peft.use_pauses
    assert {k: v for k, v in config.to_dict(control).items() if k not in ("config_name", "use_pauses")} \
        == {k: v for k, v in config.to_dict(sft_peft).items() if k not in ("config_name", "use_pauses")}
    for row in grid:
        params = PauseWarmupParams(**{**config.to_dict(defaults), **row})
        published = study[row["config_name"]]
        if row["config_name"].startswith("baseline"):
            assert not params.use_pauses and params.lora and params.start_epochs == 0
            assert params.epochs == (1.0 if row["config_name"].endswith("1_epoch") else 2.0)
            continue
        assert params.use_pauses and params.start_epochs == 1.0 and params.epochs == 1.0
        for flag in studies.FLAGS:
            assert getattr(params, flag) == published[flag], (row["config_name"], flag)
    # the study's third axis: the input embeddings never train without the LM head
    assert not any(r["lm_embeddings"] and not r["lm_head"] for r in study.values())


def test_an_unknown_study_table_is_named():
    with pytest.raises(FileNotFoundError, match="no study table 'nope'"):
        studies.table("nope")
