"""Notebook 01's cost for the estimator (`reason_lib.estimate`): GPU memory by phase, disk and
time on one GPU, from its parameters (`reason_lib.cost.Costing`). Notebook 02 warms up the same
way (`warmup`)."""

from __future__ import annotations


def warmup(c) -> tuple[dict[str, dict], float, float]:
    """A pause warm-up's ({phase: {component: bytes}}, trained bytes in training, saved delta
    bytes): the pause embedding and head (2 x hidden + 1), LoRA, and any LM head or embeddings
    trained outright, in float32 (AdamW: 16 bytes each in training, 4 saved)."""
    p, arch = c.p, c.arch
    n_trained = c.lora + 2 * arch.hidden + 1 \
        + arch.vocab * arch.hidden * (getattr(p, "lm_head", False) + getattr(p, "lm_embeddings", False))
    trained = n_trained * 16
    phases = {"training": {"weights": c.weights, "trained weights + AdamW": trained,
                           "activations": c.activations(c.micro, p.max_length)},
              "rollouts": {"weights": c.weights, **c.generation_memory("gsm8k")}}
    return phases, trained, n_trained * 4


def memory(c) -> tuple[dict[str, dict], float]:
    phases, trained, delta = warmup(c)
    return phases, (delta if c.p.save_model else 0.0) + trained


def seconds(c) -> dict[str, float]:
    p = c.p
    return {"training": c.training_s(p.n_train * p.n_generated_samples_per_datapoint) * p.epochs,
            "evaluation": 2 * c.generation_s(p.n_test) + c.forward_s(p.n_test * p.max_length / 2)}
