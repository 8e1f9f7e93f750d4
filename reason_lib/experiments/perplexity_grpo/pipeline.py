"""Experiment C (notebook 04), GRPO with a perplexity reward: one policy trained per reward type,
the metrics the run saves (`report.TABLES` reads `<reward type>.accuracy`,
`.accuracy_difference`, `.gold_nll_difference`) and the table of the reward types."""

from __future__ import annotations

import time

from transformers import set_seed

from reason_lib.fields import memory
from reason_lib.models import load_model
from reason_lib.models.keep import keep_model
from reason_lib.models.load import lora_config
from reason_lib.stats import paired_difference, paired_proportion_difference
from reason_lib.train.grpo import KeepFinal, PeriodicEval, grpo, reward_setup, vllm_settings

SCORES = ("accuracy", "no_answer", "gold_perplexity")


def train_policy(reward_type: str, params, run, policy_path, tokenizer, train_rows: list[dict],
                 scorer, curve_point) -> tuple:
    """GRPO from the start policy (`policy_path`) with one reward type, seeded alone; the final
    policy is kept in the run before anything evaluates it. `curve_point(model, step, points)`
    scores a model onto the training curve, at step 0 and every `eval_every` steps. Returns
    (policy, TRL's log history, curve points, seconds per step)."""
    set_seed(params.seed)
    policy = load_model(policy_path, dtype=params.dtype, device=params.device)
    points: list[dict] = []
    curve_point(policy, 0, points)
    funcs, weights = reward_setup(reward_type, scorer, params.hybrid_weights)
    started = time.perf_counter()
    policy, history = grpo(
        policy, tokenizer, train_rows, funcs, run.checkpoints / reward_type, run=run,
        reward_weights=weights, steps=params.steps, batch_size=params.batch_size,
        num_generations=params.num_generations, temperature=params.temperature, beta=params.beta,
        learning_rate=params.learning_rate, max_completion_length=params.max_completion_length,
        seed=params.seed, bf16=params.dtype == "bfloat16", log_prefix=f"{reward_type}/",
        **memory(params),
        peft_config=lora_config(params.lora_r, 2 * params.lora_r) if params.lora else None,
        **vllm_settings(params),  # TRL's vLLM rollouts when use_vllm (GPUs)
        callbacks=[KeepFinal(lambda m: keep_model(  # kept before it is evaluated
                       run, f"policy-{reward_type}", m, tokenizer, policy_path,
                       f"GRPO policy trained with the {reward_type} reward ({params.steps} steps).")),
                   PeriodicEval(params.eval_every, lambda m, s: curve_point(m, s, points))])
    return policy, history, points, (time.perf_counter() - started) / params.steps


def _interval(s: dict) -> str:
    return f"[{s['low']:.3f}, {s['high']:.3f}]"


def _signed(d: dict) -> str:
    return f"{d['value']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def summarise(before: dict, after: dict, seconds_per_step: dict) -> tuple[dict, dict]:
    """(metrics, table rows): the start policy's test scores (`before`, with its per-item
    `records` and gold-answer `nll`) and each reward type's (`after[reward_type]`, the same),
    each paired with the start policy on the same questions."""
    rows = {"before (start)": {"accuracy": before["accuracy"]["value"],
                               "acc 95%": _interval(before["accuracy"]),
                               "gold ppl": before["gold_perplexity"]["value"],
                               "ppl 95%": _interval(before["gold_perplexity"])}}
    metrics = {"before": {k: before[k] for k in SCORES}}
    for reward_type, r in after.items():
        d_acc = paired_proportion_difference([x["correct"] for x in r["records"]],
                                             [x["correct"] for x in before["records"]])
        d_nll = paired_difference(r["nll"], before["nll"])
        rows[reward_type] = {"accuracy": r["accuracy"]["value"], "acc 95%": _interval(r["accuracy"]),
                             "gold ppl": r["gold_perplexity"]["value"],
                             "ppl 95%": _interval(r["gold_perplexity"]),
                             "Δ accuracy": _signed(d_acc), "Δ gold NLL": _signed(d_nll),
                             "s / step": seconds_per_step[reward_type]}
        metrics[reward_type] = {**{k: r[k] for k in SCORES}, "accuracy_difference": d_acc,
                                "gold_nll_difference": d_nll,
                                "seconds_per_step": seconds_per_step[reward_type]}
    return metrics, rows
