"""reason_lib.train.reinforce and the rollout helpers: REINFORCE / RLOO steps, checkpoints, eval."""

import copy
from unittest import mock

import pytest
import torch

from reason_lib.data import gold_scores, preference_splits
from reason_lib.evaluate import distinct_n, evaluate_policy
from reason_lib.generate import rollout, sequence_logprobs
from reason_lib.models import load_model
from reason_lib.train.reinforce import PolicyGradientConfig as Config, policy_gradient

TARGET = "7"  # digits are single tokens in the tiny tokenizer, so counting the character counts it


def _rows(n=8):
    return [{"prompt": r["prompt"], "topic": r["topic"]}
            for r in preference_splits(n, 1, 1, seed=0)["train"]]


def _target_prob(model, tok, rows):
    """Mean probability of TARGET as the first reply token."""
    from reason_lib.generate import encode_prompts, render_prompts

    enc = encode_prompts(tok, render_prompts(tok, [r["prompt"] for r in rows]))
    with torch.no_grad():
        probs = model(**enc).logits[:, -1].softmax(-1)
    return probs[:, tok.convert_tokens_to_ids(TARGET)].mean().item()


def count_target(prompts, completions, **_):
    return [float(c.count(TARGET)) for c in completions]


def test_rollout_masks_after_eos_and_logprobs_match_a_plain_forward(tiny):
    model, tok, _ = tiny
    torch.manual_seed(0)
    r = rollout(model, tok, [row["prompt"] for row in _rows(3)], k=2, max_new_tokens=12)
    assert r.ids.shape[0] == 6 and r.completion_mask.shape == (6, 12) and len(r.texts) == 6
    for row in range(6):
        new = r.ids[row, r.prompt_len:]
        eos = (new == tok.eos_token_id).nonzero()
        n = eos[0, 0].item() + 1 if len(eos) else 12
        assert r.completion_mask[row].tolist() == [True] * n + [False] * (12 - n)
    # one sequence alone, without padding, gives the same log-probability as inside the batch
    row = 1
    keep = r.attention_mask[row].bool()
    ids = r.ids[row][keep].unsqueeze(0)
    plen = int(r.attention_mask[row, :r.prompt_len].sum())
    with torch.no_grad():
        logits = model(ids).logits[0, plen - 1:-1].log_softmax(-1)
    alone = logits.gather(-1, ids[0, plen:].unsqueeze(-1)).sum().item()
    with torch.no_grad():
        assert sequence_logprobs(model, r)[row].item() == pytest.approx(alone, abs=1e-4)


@pytest.mark.parametrize("method", ["reinforce", "rloo"])
def test_a_reward_that_prefers_one_token_raises_its_probability(tiny, tmp_path, method):
    _, tok, path = tiny
    model = load_model(path)
    rows = _rows(8)
    before = _target_prob(model, tok, rows)
    policy_gradient(model, tok, rows, count_target, tmp_path,
                    Config(method=method, steps=6, prompts_per_step=8, k=8, learning_rate=1e-2,
                           max_new_tokens=16, save_every=0), progress=False)
    assert _target_prob(model, tok, rows) > 2 * before


def test_kl_penalty_is_logged_and_zero_at_the_reference(tiny, tmp_path):
    _, tok, path = tiny
    policy, ref = load_model(path), load_model(path).requires_grad_(False)
    by_length = lambda prompts, completions, **_: [float(len(c)) for c in completions]  # noqa: E731
    config = Config(method="rloo", kl_coef=0.5, steps=2, prompts_per_step=2, k=2,
                    learning_rate=1e-2, max_new_tokens=8, save_every=0)
    _, history = policy_gradient(policy, tok, _rows(4), by_length, tmp_path, config,
                                 ref_model=ref, progress=False, log_prefix="rloo/")
    assert history[0]["rloo/kl"] == pytest.approx(0.0, abs=1e-4)  # step 1 samples from pi = ref
    assert history[1]["rloo/kl"] != pytest.approx(0.0, abs=1e-6)


def test_resume_continues_from_the_last_checkpoint(tiny, tmp_path):
    _, tok, path = tiny

    def thirds(prompts, completions, **_):  # rewards a float32 baseline cannot hold exactly
        return [(len(c) % 7) / 3 + 0.1 for c in completions]

    config = Config(method="reinforce", steps=4, prompts_per_step=2, k=2, learning_rate=1e-2,
                    max_new_tokens=8, save_every=2)
    full, _ = policy_gradient(load_model(path), tok, _rows(), thirds, tmp_path / "a", config,
                              progress=False)
    assert (tmp_path / "a" / "checkpoint-2").is_dir()
    # a run killed after step 2 leaves checkpoint-2; resuming it redoes steps 3-4 exactly
    (tmp_path / "b").mkdir()
    import shutil

    shutil.copytree(tmp_path / "a" / "checkpoint-2", tmp_path / "b" / "checkpoint-2")
    resumed, history = policy_gradient(load_model(path), tok, _rows(), thirds, tmp_path / "b",
                                       config, resume=True, progress=False)
    assert [h["step"] for h in history] == [3, 4]
    # exactly: the moving baseline is checkpointed in float64 (as float32 the weights once
    # differed by up to 4e-9 after the resumed steps)
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_method_and_baseline_are_checked(tiny, tmp_path):
    model, tok, _ = tiny
    with pytest.raises(ValueError, match="method 'ppo'"):
        Config(method="ppo")
    with pytest.raises(ValueError, match="k >= 2"):
        Config(method="rloo", k=1)
    with pytest.raises(ValueError, match="baseline 'mean'"):
        Config(baseline="mean")
    with mock.patch("reason_lib.distributed.world_size", return_value=2), \
            pytest.raises(ValueError, match="prompts_per_step 3 cannot be split over 2"):
        policy_gradient(model, tok, _rows(), count_target, tmp_path, Config(prompts_per_step=3))


def test_evaluate_policy_reports_reward_gold_kl_and_diversity(tiny):
    model, tok, _ = tiny
    rows = _rows(6)
    summary, records = evaluate_policy(model, tok, rows, count_target, ref_model=copy.deepcopy(model),
                                       gold_fn=gold_scores, max_new_tokens=8, batch_size=4,
                                       progress=False)
    assert len(records) == 6 and summary["kl"]["value"] == pytest.approx(0.0, abs=1e-4)
    assert summary["gold"]["n"] == 6 and 0.0 <= summary["distinct_2"] <= 1.0
    assert [r["gold"] for r in records] == gold_scores(rows, [r["reply"] for r in records])


def test_distinct_n():
    assert distinct_n(["a b a b"], 1) == 0.5
    assert distinct_n(["a b c", "a b d"], 2) == 0.75
    assert distinct_n([""], 2) == 0.0


class SavedTensors:
    """Bytes of the tensors autograd keeps for the backward pass: now and at the peak."""

    def __init__(self):
        self.now = self.peak = 0

    def pack(self, t):
        size = t.numel() * t.element_size()
        self.now += size
        self.peak = max(self.peak, self.now)
        return _Held(t, size, self)

    @staticmethod
    def unpack(held):
        return held.tensor


class _Held:
    def __init__(self, tensor, size, counter):
        self.tensor, self.size, self.counter = tensor, size, counter

    def __del__(self):
        self.counter.now -= self.size


def _one_step_gradients(model, tok, r, advantages, micro):
    from reason_lib.train.reinforce import policy_loss_backward

    model.zero_grad(set_to_none=True)
    saved = SavedTensors()
    with torch.autograd.graph.saved_tensors_hooks(saved.pack, saved.unpack):
        loss = policy_loss_backward(model, r, advantages, micro_batch_size=micro)
    return loss, {n: p.grad.clone() for n, p in model.named_parameters()}, saved.peak


def test_a_micro_batched_reinforce_step_has_the_same_gradient_and_a_peak_memory_of_one_part(tiny):
    model, tok, _ = tiny
    model = copy.deepcopy(model).requires_grad_(True).train()
    torch.manual_seed(0)
    r = rollout(model, tok, [row["prompt"] for row in _rows(8)], k=4, max_new_tokens=12)
    advantages = torch.linspace(-1, 1, len(r))
    loss, grads, peak = _one_step_gradients(model, tok, r, advantages, 0)
    loss_4, grads_4, peak_4 = _one_step_gradients(model, tok, r, advantages, 4)
    assert loss_4 == pytest.approx(loss, abs=1e-5)
    for name, g in grads.items():
        torch.testing.assert_close(grads_4[name], g, rtol=1e-4, atol=1e-6)
    # 32 sequences at once against 4 at a time: what autograd keeps shrinks with the part
    assert peak_4 < peak / 4, (peak_4, peak)


def test_log_probs_apply_the_lm_head_only_where_a_completion_token_is_predicted(tiny):
    model, tok, _ = tiny
    torch.manual_seed(0)
    r = rollout(model, tok, [row["prompt"] for row in _rows(3)], k=2, max_new_tokens=12)
    shapes = []
    hook = model.get_output_embeddings().register_forward_hook(
        lambda module, args, out: shapes.append(tuple(args[0].shape)))
    try:
        sequence_logprobs(model, r)
    finally:
        hook.remove()
    new = r.ids.shape[1] - r.prompt_len
    assert r.prompt_len > 10 and shapes == [(6, new + 1, model.config.hidden_size)]


def test_a_run_killed_while_evaluating_its_final_policy_has_already_kept_it(tiny, tmp_path, outputs):
    """`keep` runs after the last update and before that step's evaluation: a kill inside the
    final evaluation (here an interrupt raised by it) leaves the trained policy loadable on disk."""
    from conftest import write_run
    from peft import get_peft_model

    from reason_lib.models.keep import keep_model
    from reason_lib.models.load import lora_config
    from reason_lib.runs import Run

    _, tok, path = tiny
    run = Run(write_run(outputs, "reinforce_rm", "20261204-000001-ci-dddd", "running", {}, None))
    policy = get_peft_model(load_model(path), lora_config(4, 8))
    before = {n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad}

    def by_length(prompts, completions, **_):
        return [float(len(c)) for c in completions]

    def evaluate(model, step):
        if step == 3:
            raise KeyboardInterrupt("killed during the final evaluation")

    with pytest.raises(KeyboardInterrupt):
        policy_gradient(policy, tok, _rows(), by_length, tmp_path,
                        Config(method="rloo", steps=3, prompts_per_step=2, k=2, learning_rate=1e-2,
                               max_new_tokens=8, save_every=0, every=1),
                        progress=False, on_step=evaluate,
                        keep=lambda m: keep_model(run, "policy-reinforce", m, tok, path, "final"))
    kept = load_model(run.dir / "models" / "policy-reinforce")
    trained = dict(policy.named_parameters())
    assert any(not torch.equal(trained[n], b) for n, b in before.items())  # it did train
    for name, p in kept.named_parameters():
        if "lora_" in name:
            assert torch.equal(p, trained[name]), name


def test_each_method_takes_its_own_settings_and_reinforce_kl_ties_to_the_sft_policy():
    from reason_lib.config import ParamError, load_params
    from reason_lib.train.reinforce import method_settings

    p = load_params("reinforce_rm", "cpu", {
        "methods": ["reinforce", "reinforce_rep_penalty", "reinforce_kl"],
        "method_overrides": {"reinforce": {"steps": 75, "prompts_per_step": 32},
                             "reinforce_rep_penalty": {"steps": 50, "prompts_per_step": 64,
                                                       "repetition_penalty": 1.2}}})
    got = {m: method_settings(m, p) for m in p.methods}
    assert (got["reinforce"].steps, got["reinforce"].prompts_per_step) == (75, 32)
    assert (got["reinforce_rep_penalty"].steps, got["reinforce_rep_penalty"].repetition_penalty) == (50, 1.2)
    assert got["reinforce_kl"].steps == p.steps and got["reinforce_kl"].kl_coef == p.kl_coef > 0
    assert got["reinforce_kl"].method == "reinforce" and got["reinforce"].kl_coef == 0.0
    with pytest.raises(ParamError, match=r"method_overrides' \(reinforce.stepz\): unknown"):
        load_params("reinforce_rm", "cpu", {"method_overrides": {"reinforce": {"stepz": 1}}})
    with pytest.raises(ParamError, match=r"'ppo'\): not one of the methods run"):
        load_params("reinforce_rm", "cpu", {"method_overrides": {"ppo": {"steps": 1}}})


def test_level_settings_sit_between_the_shared_and_the_methods_own():
    from reason_lib.config import ParamError, load_params
    from reason_lib.train.reinforce import method_settings

    study = {"level_overrides": {2: {"steps": 150, "prompts_per_step": 16}},
             "method_overrides": {"reinforce_rep_penalty": {"steps": 50}}}
    two = load_params("reinforce_rm", "cpu", {**study, "level": 2})
    assert (method_settings("reinforce", two).steps, method_settings("reinforce", two).prompts_per_step) == (150, 16)
    assert (method_settings("reinforce_rep_penalty", two).steps,
            method_settings("reinforce_rep_penalty", two).prompts_per_step) == (50, 16)
    one = load_params("reinforce_rm", "cpu", {**study, "level": 1})
    assert method_settings("reinforce", one).steps == one.steps == 50  # params/reinforce_rm/cpu.yaml
    gpu = {lv: load_params("reinforce_rm", "gpu", {"level": lv}) for lv in (1, 2)}
    assert method_settings("reinforce", gpu[1]).steps == 75 and method_settings("reinforce", gpu[2]).steps == 150
    assert method_settings("reinforce_rep_penalty", gpu[1]).repetition_penalty == 1.2
    with pytest.raises(ParamError, match=r"'level_overrides' \(value 3\): levels are 1 and 2"):
        load_params("reinforce_rm", "cpu", {"level_overrides": {3: {"steps": 1}}})
    with pytest.raises(ParamError, match=r"'level_overrides' \(2.stepz\): unknown"):
        load_params("reinforce_rm", "cpu", {"level_overrides": {2: {"stepz": 1}}})


def test_a_resumed_run_logs_each_step_once_as_the_uninterrupted_one(tiny, tmp_path, outputs):
    """Killed after step 3 (its checkpoint at step 2, step 3 already logged), a resumed run
    once logged step 3 twice and lost the curve points before the kill; now its metrics.jsonl
    holds steps 1-4 once each, with the uninterrupted run's values, and the notebook rebuilds
    its curves from it."""
    import shutil

    from reason_lib import runs
    from reason_lib.config import load_params

    _, tok, path = tiny
    config = Config(method="reinforce", steps=4, prompts_per_step=2, k=2, learning_rate=1e-2,
                    max_new_tokens=8, save_every=2)
    kwargs = dict(progress=False, log_prefix="m/")
    params = load_params("reinforce_rm", "ci")
    a = runs.Run.create("reinforce_rm", params, "ci")
    policy_gradient(load_model(path), tok, _rows(), count_target, tmp_path / "a", config, run=a,
                    **kwargs)
    b = runs.Run.create("reinforce_rm", params, "ci")
    shutil.copytree(tmp_path / "a" / "checkpoint-2", tmp_path / "b" / "checkpoint-2")
    for h in a.history()[:3]:  # what b logged before it was killed during step 4
        b.log(h["step"], **{k: v for k, v in h.items() if k not in ("step", "time")})
    _, history = policy_gradient(load_model(path), tok, _rows(), count_target, tmp_path / "b",
                                 config, run=b, resume=True, **kwargs)
    strip = [{k: v for k, v in h.items() if k != "time"} for h in b.history()]
    assert [h["step"] for h in strip] == [1, 2, 3, 4]
    assert strip == [{k: v for k, v in h.items() if k != "time"} for h in a.history()]
    assert [h["step"] for h in history] == [1, 2, 3, 4]
    # stopped before its first checkpoint (or after its last step, which keeps none): every step
    # it logged is taken again, and logged once
    c = runs.Run.create("reinforce_rm", params, "ci")
    for h in a.history()[:1]:
        c.log(h["step"], **{k: v for k, v in h.items() if k not in ("step", "time")})
    policy_gradient(load_model(path), tok, _rows(), count_target, tmp_path / "c", config, run=c,
                    resume=True, **kwargs)
    assert [h["step"] for h in c.history()] == [1, 2, 3, 4]


def test_the_moving_baseline_comes_back_from_a_checkpoint_exactly(tiny, tmp_path):
    """Checkpointed as float32, a baseline of 1/30 came back 1/30 + 3e-10, and the resumed steps'
    advantages (and weights, by up to 4e-9) drifted from the uninterrupted run's."""
    from reason_lib.train.reinforce import load_checkpoint, save_checkpoint

    model = load_model(tiny[2])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    save_checkpoint(tmp_path / "checkpoint-3", model, optimizer, 3, 1 / 30)
    assert load_checkpoint(tmp_path / "checkpoint-3", model, optimizer) == (3, 1 / 30)


@pytest.mark.parametrize("method", ["reinforce", "rloo"])
def test_a_run_of_fewer_steps_is_exactly_the_first_steps_of_a_longer_one(tiny, tmp_path, method):
    """benchmarks/claims_vs_steps.py reads a run of s steps off a longer run's curve at step s:
    the learning rate is constant and each step's prompts and samples are seeded by (seed, step),
    so the policy after s steps is the same whether the run goes on or stops there."""
    import dataclasses

    _, tok, path = tiny
    seen = {}
    by_length = lambda prompts, completions, **_: [(len(c) % 7) / 3 for c in completions]  # noqa: E731

    def on_step(policy, step):
        seen[step] = {k: v.clone() for k, v in policy.state_dict().items()}

    longer = Config(method=method, steps=4, prompts_per_step=2, k=2, learning_rate=1e-2,
                    kl_coef=0.1, max_new_tokens=8, every=2, save_every=0)
    policy_gradient(load_model(path), tok, _rows(), by_length, tmp_path / "a", longer,
                    ref_model=load_model(path).requires_grad_(False), on_step=on_step,
                    progress=False)
    shorter, _ = policy_gradient(load_model(path), tok, _rows(), by_length, tmp_path / "b",
                                 dataclasses.replace(longer, steps=2),
                                 ref_model=load_model(path).requires_grad_(False), progress=False)
    start = load_model(path).state_dict()
    assert any(not torch.equal(start[k], v) for k, v in seen[2].items())  # the first steps moved it
    for name, value in shorter.state_dict().items():
        assert torch.equal(value, seen[2][name]), name
    assert any(not torch.equal(seen[2][k], v) for k, v in seen[4].items())  # the longer one went on


def test_the_other_level_copies_the_sft_policy_and_draws_next_what_training_it_would_have(
        tiny, outputs):
    """reinforce_rm.sft_policy: the first run trains the SFT policy and shares it with the state
    of the random generators its training left; a second run with the same base model, rows and
    settings (the other reward-model level) copies it, its weights and log the same, and draws
    next exactly what the first run drew after training; other settings train again."""
    import random

    import numpy as np
    from transformers import set_seed

    from reason_lib import runs
    from reason_lib.config import load_params
    from reason_lib.experiments.reinforce_rm import pipeline as reinforce_rm
    from reason_lib.experiments.reinforce_rm.data import splits

    _, tok, path = tiny
    params = load_params("reinforce_rm", "ci", {"base_model": str(path)})
    train = splits(params, {})[0]

    def level(params, level):
        run = runs.Run.create("reinforce_rm", params, "ci")
        policy = load_model(path)
        set_seed(1000 + level)  # whatever came before: what follows is the SFT policy's
        policy, sft_path, history = reinforce_rm.sft_policy(params, run, tok, policy, train, path)
        return run, policy, sft_path, history, (torch.rand(4).tolist(), random.random(),
                                                np.random.rand())

    a, a_policy, a_path, a_history, a_next = level(params, 1)
    b, b_policy, b_path, b_history, b_next = level(params, 2)
    assert (a.manifest["sft_model_reused"], b.manifest["sft_model_reused"]) == (False, True)
    assert a.manifest["sft_model"] == b.manifest["sft_model"]
    assert b_path == str(b.checkpoints / "sft-model") and b_path != a_path
    assert a_next == b_next  # e.g. the reward model's new head: the same draws
    assert b_history == a_history and any("sft/loss" in h for h in b.history()) is False
    for (name, x), y in zip(a_policy.state_dict().items(), b_policy.state_dict().values()):
        assert torch.equal(x, y), name
    assert not any(torch.equal(x, y) for x, y in zip(load_model(path).parameters(),
                                                     b_policy.parameters()))  # it was trained
    c = level(load_params("reinforce_rm", "ci", {"base_model": str(path),
                                                 "sft_learning_rate": 1e-3}), 1)[0]
    assert c.manifest["sft_model_reused"] is False
