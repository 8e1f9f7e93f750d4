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


def test_a_delta_whose_parent_was_replaced_is_refused_naming_the_new_writer(tiny, tmp_path):
    """A delta records its parent's weights digest; a parent saved over since (another seed's
    base model at the same path) stops loading and `models.find` with the field and the writer,
    as does a shared model whose weights no longer match its own writer record."""
    from reason_lib.models.find import ModelNotFound, find_models
    from reason_lib.train.base import save

    import copy

    model, tok = copy.deepcopy(tiny[0]), tiny[1]  # changed below: the shared fixture stays as is
    parent = save(model, tok, tmp_path / "base", writer="run-a")
    save_delta(tmp_path / "d", parent, tensors={"lm_head.weight": model.lm_head.weight + 1.0})
    assert len(json.loads((tmp_path / "d" / "delta.json").read_text())["parent_weights"]) == 64
    load_model(tmp_path / "d")  # unchanged parent: loads
    with torch.no_grad():
        model.lm_head.weight.add_(0.5)
    save(model, tok, tmp_path / "base", writer="run-b")
    with pytest.raises(ValueError, match="field 'parent_weights'.*written by run run-b"):
        load_model(tmp_path / "d")
    with pytest.raises(ModelNotFound, match="parent_weights"):
        find_models(str(tmp_path / "d"))
    # the parent itself: its record names its weights; bytes changed under it are refused
    find_models(str(tmp_path / "base"))
    from safetensors.torch import load_file, save_file

    weights = tmp_path / "base" / "model.safetensors"
    state = load_file(weights)
    save_file({k: v + 1 for k, v in state.items()}, weights)
    with pytest.raises(ModelNotFound, match="not the ones run run-b saved there"):
        find_models(str(tmp_path / "base"))
