"""Notebook 03's cost for the estimator (`reason_lib.estimate`): GPU memory by phase, disk and
time on one GPU, from its parameters (`reason_lib.cost.Costing`)."""

from __future__ import annotations


def memory(c) -> tuple[dict[str, dict], float]:
    p = c.p
    train = {"weights": c.weights, "LoRA + AdamW": c.lora * 16,
             "activations (DPO: chosen + rejected)": c.activations(2 * c.micro, p.max_length)}
    sampled = p.sample_batch_size or p.eval_batch_size * p.samples_per_question
    phases = {"training": train, "rollouts": {"weights": c.weights,
                                              **c.generation_memory("mmlu", sampled)},
              "testing other loops (two models)": {"weights (two models)": 2 * c.weights,
                                                   **c.generation_memory("mmlu")}}
    # with LoRA every loop keeps its adapters (each loop's model builds on the one before; an
    # SFT then a DPO adapter when dpo_sft_first), else the best and the last loop in full
    per_run = c.lora * 4 * p.outer_loops * (1 + p.dpo_sft_first) if p.lora \
        else c.weights * min(2, p.outer_loops)
    return phases, per_run * len(p.runs) + c.lora * 16


def seconds(c) -> dict[str, float]:
    p = c.p
    langs = 2 if p.mmlu_yoruba else 1
    k, loops = p.samples_per_question, p.outer_loops
    kept = p.n_train * (1 if p.one_per_question else k)
    batch = p.sample_batch_size or p.eval_batch_size * k
    per_run = c.generation_s(langs * p.n_validation, task="mmlu") * (loops + 1) \
        + c.generation_s(langs * p.n_test, task="mmlu") \
        + loops * (c.generation_s(p.n_train * k, task="mmlu", batch=batch)
                   + c.training_s(kept) * p.epochs)
    return {"start evaluation": c.generation_s(langs * p.n_test, task="mmlu"),
            "STaR runs": len(p.runs) * per_run}
