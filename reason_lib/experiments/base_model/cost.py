"""Notebook 00's cost for the estimator (`reason_lib.estimate`): GPU memory by phase, disk and
time on one GPU, from its parameters (`reason_lib.cost.Costing`)."""

from __future__ import annotations


def memory(c) -> tuple[dict[str, dict], float]:
    """({phase: {component: bytes}}, disk bytes): scoring the model; the model saved."""
    p = c.p
    tasks = ["gsm8k"] + (["mmlu"] if getattr(p, "real_mmlu", "") else [])
    task = max(tasks, key=c.longest)
    return {"evaluation": {"weights": c.weights, **c.generation_memory(task)}}, \
        c.weights if p.save_to else 0.0


def seconds(c) -> dict[str, float]:
    """{phase: seconds}: training in full on the offline world, then the evaluations."""
    p = c.p
    t = {"training": c.training_s(p.n_gsm8k_train + p.n_mmlu_train, how="full") * p.epochs
         if p.train else 0.0,
         "evaluation": (c.generation_s(2 * p.n_eval) + c.generation_s(2 * p.n_eval_mc, task="mmlu")
                        if p.offline_eval else 0)
         + (c.generation_s(p.n_real_gsm8k) if p.real_gsm8k_test else 0)}
    if p.real_mmlu:
        t["evaluation"] += c.forward_s(p.n_real_mmlu * c.prompts["mmlu"]) \
            + c.generation_s(p.n_real_mmlu, p.mmlu_max_new_tokens, "mmlu")
    return t
