"""reason_lib.models.reward_model and reason_lib.train.reward: both levels train through TRL's
RewardTrainer and score replies."""

import pytest
import torch

from reason_lib.data import preference_splits
from reason_lib.models.reward_model import RewardModelScorer, freeze_backbone, load_reward_model
from reason_lib.train.reward import train_reward_model


@pytest.fixture(scope="module")
def pairs():
    return preference_splits(96, 1, 16, seed=0)


@pytest.mark.parametrize("level", [1, 2])
def test_reward_model_loss_falls_and_scores(tiny, tmp_path, pairs, level):
    _, tok, path = tiny
    model = load_reward_model(path, level)
    assert model.config.num_labels == {1: 1, 2: 10}[level]
    _, history = train_reward_model(model, tok, pairs["train"], tmp_path / "rm", level=level,
                                    epochs=6, batch_size=16, learning_rate=3e-3,
                                    logging_steps=6, disable_tqdm=True,
                                    lr_scheduler_type="constant")
    losses = [h["loss"] for h in history if "loss" in h]
    assert losses[-1] < losses[0]
    scorer = RewardModelScorer(model, tok, batch_size=4)
    # longest first: the scorer batches by length, so its order differs from the input's
    rows = sorted(pairs["test"][:6], key=lambda r: -len(r["chosen"]))
    prompts, replies = [r["prompt"] for r in rows], [r["chosen"] for r in rows]
    batched = scorer(prompts, replies)
    single = [scorer([p], [c])[0] for p, c in zip(prompts, replies)]
    assert batched == pytest.approx(single, abs=1e-5)  # padding changes nothing
    if level == 2:
        dist = scorer.distribution(prompts, replies)
        assert dist.shape == (6, 10) and torch.allclose(dist.sum(-1), torch.ones(6))
        assert all(1.0 <= r <= 10.0 for r in batched)
    acc = scorer.pairwise_accuracy(pairs["test"])
    assert acc["n"] == 16 and acc["low"] <= acc["value"] <= acc["high"]


def test_unknown_level_is_refused(tiny):
    with pytest.raises(ValueError, match="level 3"):
        load_reward_model(tiny[2], 3)


def test_frozen_backbone_trains_only_the_top(tiny, tmp_path, pairs):
    _, tok, path = tiny
    model = freeze_backbone(load_reward_model(path, 1), 1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train_reward_model(model, tok, pairs["train"][:32], tmp_path / "rm", epochs=1, batch_size=16,
                       learning_rate=1e-2, disable_tqdm=True)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    n_blocks = model.config.num_hidden_layers
    top = f"model.layers.{n_blocks - 1}."
    assert "score.weight" in changed and "model.norm.weight" in changed
    assert any(n.startswith(top) for n in changed)
    assert all(n.startswith(top) or n in ("score.weight", "model.norm.weight") for n in changed)
    assert "model.embed_tokens.weight" not in changed
    with pytest.raises(ValueError, match="rm_trainable_layers=99"):
        freeze_backbone(load_reward_model(path, 1), 99)


def test_a_bfloat16_reward_model_trains_its_top_in_float32_and_scores(tiny, tmp_path, pairs):
    _, tok, path = tiny
    model = freeze_backbone(load_reward_model(path, 1, dtype="bfloat16"), 1)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    # what trains is float32 (bfloat16 would round small updates away), the frozen rest bfloat16
    assert all(p.dtype == (torch.float32 if n in trained else torch.bfloat16)
               for n, p in model.named_parameters())
    before = model.score.weight.detach().clone()
    _, history = train_reward_model(model, tok, pairs["train"][:32], tmp_path / "rm", epochs=1,
                                    batch_size=16, learning_rate=1e-4, bf16=True,
                                    disable_tqdm=True)
    assert model.score.weight.dtype == torch.float32
    assert not torch.equal(model.score.weight, before)
    rows = pairs["test"][:4]
    scores = RewardModelScorer(model, tok, batch_size=2)([r["prompt"] for r in rows],
                                                         [r["chosen"] for r in rows])
    assert len(scores) == 4 and all(torch.isfinite(torch.tensor(scores)))


def test_a_bfloat16_reward_model_trained_whole_keeps_float32_masters(tiny, tmp_path, pairs):
    """rm_trainable_layers -1 (the gpu profile's default) once returned before the float32
    masters: the whole bfloat16 model trained at 1e-5, below half a bfloat16 step for almost
    every weight, so only the new head moved. Now every weight trains in float32 and moves."""
    _, tok, path = tiny
    model = freeze_backbone(load_reward_model(path, 1, dtype="bfloat16"), -1)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    block = next(p for n, p in model.named_parameters() if "layers.0." in n and "weight" in n)
    before = block.detach().clone()
    train_reward_model(model, tok, pairs["train"][:32], tmp_path / "rm", epochs=1, batch_size=16,
                       learning_rate=1e-5, bf16=True, disable_tqdm=True)
    assert not torch.equal(block, before)


def test_a_dialogue_longer_than_the_scorer_keeps_its_reply(tiny):
    """Right truncation once cut the reply off a long dialogue (context_turns 0 on HH-RLHF): two
    different replies to it scored the same. The scorer now drops the dialogue's beginning."""
    _, tok, path = tiny
    scorer = RewardModelScorer(load_reward_model(path, 1), tok, max_length=24)
    prompt = [{"role": "user", "content": "tell me a long story about the sea " * 20}]
    a, b = scorer([prompt, prompt], ["yes, gladly", "no"])
    assert a != b
    ids = scorer._encode(scorer.texts([prompt], ["no"]))["input_ids"][0]
    assert tok.decode(ids).rstrip().endswith("no<|im_end|>") and len(ids) == 24
    assert tok.truncation_side == "right"  # the tokenizer is left as it was
