"""Notebook 05's cost for the estimator (`reason_lib.estimate`): GPU memory by phase, disk and
time on one GPU, from its parameters (`reason_lib.cost.Costing`). Memory: the method with the
largest step, each at its own overrides."""

from __future__ import annotations

from reason_lib.cost import reward_model_bytes
from reason_lib.experiments.reinforce_rm.params import method_values


def memory(c) -> tuple[dict[str, dict], float]:
    p, arch = c.p, c.arch
    own = [method_values(p, m) for m in p.methods]
    new_tokens = max(int(v["max_new_tokens"]) for v in own)
    tokens = c.prompts["hh"] + new_tokens
    sampled = max(int(v["prompts_per_step"]) * int(v["k"]) for v in own)
    labels = 10 if p.level == 2 else 1
    step = {"policy and reference (SFT)": 2 * c.weights,
            "reward model (float32 where it trained)":
                reward_model_bytes(arch, c.b, p.rm_trainable_layers, labels, training=False),
            "LoRA + AdamW": c.lora * 16 if p.lora else arch.params * 16,
            **c.generation_memory("hh", sampled, new_tokens),
            "activations": c.activations(c.micro, tokens, new_tokens)}
    rm = {"SFT policy": c.weights,
          "reward model + AdamW (full-parameter)" if p.rm_trainable_layers < 0 else
          f"reward model + AdamW (top {p.rm_trainable_layers} blocks)":
              reward_model_bytes(arch, c.b, p.rm_trainable_layers, labels, training=True),
          "activations (chosen + rejected)": c.activations(2 * c.micro, p.max_length, 1)}
    disk = 2 * c.weights + len(p.methods) * (c.lora * 12 if p.lora else arch.params * 12)
    return {"REINFORCE step": step, "reward-model training": rm}, disk


def seconds(c) -> dict[str, float]:
    p, hh = c.p, c.prompts["hh"]
    rm_trains = "full" if p.rm_trainable_layers < 0 else "lora"  # a few blocks: about LoRA's cost

    def method_s(v):  # one method's training and evaluations, at its own settings
        sampled, new = int(v["prompts_per_step"]) * int(v["k"]), int(v["max_new_tokens"])
        step = c.generation_s(sampled, task="hh", new=new, batch=sampled) \
            + c.training_s(sampled, hh + new) + 2 * c.forward_s(sampled * (hh + new))
        return int(v["steps"]) * step \
            + c.generation_s(p.n_eval_prompts, task="hh") * (int(v["steps"]) // p.eval_every + 1)

    return {"SFT and reward model": c.training_s(p.n_train) * p.sft_epochs
            + c.training_s(2 * p.n_train, how=rm_trains) * p.rm_epochs
            + c.forward_s(2 * p.n_test * p.max_length / 2),
            "policies": sum(method_s(method_values(p, m)) for m in p.methods)}
