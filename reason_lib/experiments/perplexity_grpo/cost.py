"""Notebook 04's cost for the estimator (`reason_lib.estimate`): GPU memory by phase, disk and
time on one GPU, from its parameters (`reason_lib.cost.Costing`)."""

from __future__ import annotations

from reason_lib.cost import architecture


def memory(c) -> tuple[dict[str, dict], float]:
    p, arch = c.p, c.arch
    tokens = c.prompts["gsm8k"] + p.max_completion_length
    scorer = architecture(p.scorer_model) if p.scorer_model else arch
    step = {"policy weights": c.weights, "scorer weights": scorer.params * c.b,
            "LoRA + AdamW": c.lora * 16 if p.lora else arch.params * 16,
            **c.generation_memory("gsm8k", p.batch_size, p.max_completion_length),
            "activations": c.activations(c.micro, tokens, p.max_completion_length),
            "scorer logits": p.eval_batch_size * p.max_completion_length * scorer.vocab * 4}
    disk = len(p.reward_types) * (c.lora * 12 if p.lora else arch.params * 12)
    return {"GRPO step": step}, disk


def seconds(c) -> dict[str, float]:
    p = c.p
    length = c.prompts["gsm8k"] + p.max_completion_length
    step = c.generation_s(p.batch_size, p.max_completion_length, batch=p.batch_size) \
        + c.training_s(p.batch_size, length) + c.forward_s(p.batch_size * length)  # + the scorer
    evals = c.generation_s(p.n_test) * 2 + c.generation_s(p.n_curve) * (p.steps // p.eval_every + 1)
    return {"evaluation": c.generation_s(p.n_test) + len(p.reward_types) * evals,
            "GRPO steps": len(p.reward_types) * p.steps * step}
