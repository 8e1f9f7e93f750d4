"""GRPO through TRL's GRPOTrainer, with reason_lib rewards and the run's metrics log."""

from __future__ import annotations

from transformers import TrainerCallback

from reason_lib.rewards import gsm8k_correctness
from reason_lib.train.trainers import RunLogger, fit, trainer_settings


class PeriodicEval(TrainerCallback):
    """Calls `fn(model, step)` every `every` optimiser steps (for curves over training)."""

    def __init__(self, every: int, fn):
        self.every, self.fn = every, fn

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0:
            self.fn(model, state.global_step)


class KeepFinal(TrainerCallback):
    """Calls `fn(model)` once, after the last optimiser step and before the callbacks listed after
    it (a `PeriodicEval` on that step): the final model is on disk before anything evaluates it."""

    def __init__(self, fn):
        self.fn = fn

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == state.max_steps:
            self.fn(model)


def reward_setup(reward_type: str, scorer, hybrid_weights=(1.0, 1.0)) -> tuple[list, list[float]]:
    """(reward functions, weights) for `correctness`, `perplexity`, `hybrid` or
    `perplexity_visible` (the perplexity reward with the policy's own answer left in what the
    scorer reads: the leak ablation). Both functions are always passed (a weight of 0 leaves one
    out of the reward) so TRL logs every component."""
    weights = {"correctness": [1.0, 0.0], "perplexity": [0.0, 1.0],
               "hybrid": [float(w) for w in hybrid_weights], "perplexity_visible": [0.0, 1.0]}
    if reward_type not in weights:
        raise ValueError(f"reward type {reward_type!r}: expected one of {sorted(weights)}")
    return [gsm8k_correctness, scorer.visible() if reward_type == "perplexity_visible" else scorer], \
        weights[reward_type]


def vllm_settings(params) -> dict:
    """TRL's vLLM options from an experiment's parameters (`use_vllm`, `vllm_mode`,
    `vllm_gpu_memory_utilization`): none unless `use_vllm`."""
    if not params.use_vllm:
        return {}
    return {"use_vllm": True, "vllm_mode": params.vllm_mode,
            "vllm_gpu_memory_utilization": params.vllm_gpu_memory_utilization}


def grpo_args(output_dir, steps: int = 50, batch_size: int = 8, num_generations: int = 8,
              temperature: float = 1.0, beta: float = 0.0, learning_rate: float = 1e-5,
              max_completion_length: int = 128, seed: int = 0, bf16: bool = False,
              save_steps: int = 50, micro_batch_size: int = 0,
              gradient_checkpointing: bool = False, reward_weights: list[float] | None = None,
              **config_kwargs):
    """TRL's GRPOConfig for `grpo` (`config_kwargs` last: e.g. `vllm_settings`)."""
    from trl import GRPOConfig

    settings = dict(
        trainer_settings(output_dir, seed, bf16, batch_size, micro_batch_size,
                         gradient_checkpointing), max_steps=steps, num_generations=num_generations,
        temperature=temperature, beta=beta, learning_rate=learning_rate,
        max_completion_length=max_completion_length, reward_weights=reward_weights,
        logging_steps=1, save_strategy="steps", save_steps=save_steps, save_total_limit=1, top_k=0)
    return GRPOConfig(**{**settings, **config_kwargs})


def grpo(model, tokenizer, rows: list[dict], reward_funcs: list, output_dir, run=None,
         reward_weights: list[float] | None = None, steps: int = 50, batch_size: int = 8,
         num_generations: int = 8, temperature: float = 1.0, beta: float = 0.0,
         learning_rate: float = 1e-5, max_completion_length: int = 128, seed: int = 0,
         peft_config=None, bf16: bool = False, save_steps: int = 50, resume: bool = False,
         micro_batch_size: int = 0, gradient_checkpointing: bool = False,
         callbacks: list | None = None, log_prefix: str = "", **config_kwargs):
    """Train `model` with GRPO on `rows` (`prompt` messages plus reward columns such as `answer`);
    returns (trained model, log history). `batch_size` counts completions per step, so each step
    sees batch_size / num_generations prompts, generated together, their loss taken
    `micro_batch_size` completions at a time (`trainer_settings`). Reward components are logged
    per function by TRL (`rewards/<name>/mean`) and copied into the run's metrics.jsonl.
    `config_kwargs` reach TRL's GRPOConfig (`grpo_args`), e.g. its vLLM options."""
    from datasets import Dataset
    from trl import GRPOTrainer

    args = grpo_args(output_dir, steps, batch_size, num_generations, temperature, beta,
                     learning_rate, max_completion_length, seed, bf16, save_steps,
                     micro_batch_size, gradient_checkpointing, reward_weights, **config_kwargs)
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs, args=args,
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                          peft_config=peft_config,
                          callbacks=[RunLogger(run, log_prefix), *(callbacks or [])])
    return fit(trainer, output_dir, resume)
