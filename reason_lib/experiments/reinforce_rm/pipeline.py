"""Experiment D (notebook 05), REINFORCE with reward models ("Back to Basics"): the reward model
(kept or trained), its held-out accuracy, and each policy-gradient method trained from the SFT
policy against it."""

from __future__ import annotations

import copy

from peft import get_peft_model
from transformers import set_seed

from reason_lib.fields import memory
from reason_lib.models import count_parameters
from reason_lib.models.find import find_reward_model
from reason_lib.models.keep import keep_model
from reason_lib.models.reward_model import freeze_backbone, load_reward_model
from reason_lib.stats import proportion
from reason_lib.train.reinforce import method_settings, policy_gradient
from reason_lib.train.reward import train_reward_model


def reward_model(params, run, tokenizer, train: list[dict], sft_path, base_path) -> tuple:
    """(reward model, its training log): a kept one (`reward_model_path`, as the study's
    --skip_reward_training; it must be of this run's level) or one trained on the `train` pairs
    from the SFT policy or the base model (`rm_init`), kept in the run."""
    if params.reward_model_path:
        rm_path, rm_level = find_reward_model(params.reward_model_path)
        if rm_level != params.level:
            raise ValueError(f"reward_model_path {params.reward_model_path!r} is a level-{rm_level} "
                             f"reward model; this run is level {params.level}")
        print("reward model loaded from", rm_path)
        return load_reward_model(rm_path, params.level, dtype=params.dtype,
                                 device=params.device), []
    init = sft_path if params.rm_init == "sft" else base_path
    model = load_reward_model(init, params.level, dtype=params.dtype, device=params.device)
    freeze_backbone(model, params.rm_trainable_layers)
    print("reward model:", count_parameters(model))
    model, history = train_reward_model(
        model, tokenizer, train, run.checkpoints / "reward_model", level=params.level, run=run,
        epochs=params.rm_epochs, batch_size=params.batch_size, learning_rate=params.rm_learning_rate,
        max_length=params.max_length, seed=params.seed, bf16=params.dtype == "bfloat16",
        resume=True, **memory(params))
    keep_model(run, "reward_model", model, tokenizer, init,
               f"Level-{params.level} reward model trained on {len(train)} preference pairs.",
               kind="reward")
    return model, history


def reward_model_metrics(scorer, test: list[dict], gold_fn=None) -> dict:
    """The reward model's held-out pairwise accuracy on the labelled pairs and, where a hidden gold
    reward exists (the offline world), on the pairs ordered by it, and how often the labels agree
    with the gold order."""
    out = {"accuracy": scorer.pairwise_accuracy(test)}
    if gold_fn is not None:
        gold_order = [r if r["gold_chosen"] > r["gold_rejected"] else
                      {**r, "chosen": r["rejected"], "rejected": r["chosen"]} for r in test]
        out["gold_accuracy"] = scorer.pairwise_accuracy(gold_order)
        out["label_agreement_with_gold"] = proportion(r["gold_chosen"] > r["gold_rejected"]
                                                      for r in test)
    return out


def train_method(method: str, params, run, sft_policy, sft_path, tokenizer,
                 train_prompts: list[dict], scorer, peft=None, diagnostics=None, on_step=None):
    """One of the study's methods (`method_settings`) from a fresh copy of the SFT policy, seeded
    alone, against `scorer`; the final policy is kept in the run as soon as training ends, before
    anything evaluates it. Returns (policy, its PolicyGradientConfig)."""
    set_seed(params.seed)
    policy = copy.deepcopy(sft_policy).requires_grad_(True).train()
    if params.lora:
        policy = get_peft_model(policy, peft)
    settings = method_settings(method, params)  # shared values, or the method's own overrides

    def keep(model):
        keep_model(run, f"policy-{method}", model, tokenizer, sft_path,
                   f"{method} policy ({settings.steps} steps against the level-{params.level} "
                   "reward model).")

    policy, _ = policy_gradient(policy, tokenizer, train_prompts, scorer, run.checkpoints / method,
                                settings, ref_model=sft_policy, run=run, log_prefix=f"{method}/",
                                diagnostics=diagnostics, on_step=on_step, resume=True, keep=keep)
    return policy, settings


def logged_curve(run, method: str, start: dict) -> list[dict]:
    """A method's curve from the run's log (every point, those before a resume too), after its
    starting point (the SFT policy's scores)."""
    return [{"step": 0, **start}] + [{"step": h["step"], **h[f"{method}/curve"]}
                                     for h in run.history() if f"{method}/curve" in h]
