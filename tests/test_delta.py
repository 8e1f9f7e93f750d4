"""reason_lib.models.delta: checkpoints that hold what training changed, on top of a parent."""

import json

import pytest
import torch

from reason_lib.models import load_model
from reason_lib.models.delta import lineage, save_delta


def test_a_trained_lm_head_comes_back_without_moving_the_tied_embeddings(tiny, tmp_path):
    _, _, path = tiny
    model = load_model(path)
    assert model.lm_head.weight is model.model.embed_tokens.weight  # the tiny model ties them
    head = model.lm_head.weight.detach().clone() + 1.0
    save_delta(tmp_path / "d", path, tensors={"lm_head.weight": head})
    loaded = load_model(tmp_path / "d")
    assert torch.equal(loaded.lm_head.weight, head)
    assert torch.equal(loaded.model.embed_tokens.weight, model.model.embed_tokens.weight)
    assert loaded.name_or_path == str(tmp_path / "d")


def test_a_hub_parent_stays_an_id_and_a_lost_parent_is_named(tiny, tmp_path):
    _, _, path = tiny
    save_delta(tmp_path / "hub", "mistralai/Mistral-7B-v0.1")
    assert lineage(tmp_path / "hub") == ("mistralai/Mistral-7B-v0.1", [(tmp_path / "hub").resolve()])
    save_delta(tmp_path / "a" / "parent", path)
    save_delta(tmp_path / "a" / "child", tmp_path / "a" / "parent")
    root, links = lineage(tmp_path / "a" / "child")
    assert root == str(path.resolve()) and [p.name for p in links] == ["parent", "child"]
    (tmp_path / "a" / "parent" / "delta.json").unlink()
    (tmp_path / "a" / "parent").rename(tmp_path / "a" / "elsewhere")
    with pytest.raises(FileNotFoundError, match=r"child/delta.json: field 'parent': '\.\./parent'"):
        lineage(tmp_path / "a" / "child")


def test_unknown_tensors_are_refused_with_the_file(tiny, tmp_path):
    _, _, path = tiny
    save_delta(tmp_path / "d", path, tensors={"no.such.weight": torch.zeros(2)})
    with pytest.raises(ValueError, match=r"weights.safetensors: tensors \['no.such.weight'\]"):
        load_model(tmp_path / "d")
    assert json.loads((tmp_path / "d" / "delta.json").read_text())["parent_is_local"]
