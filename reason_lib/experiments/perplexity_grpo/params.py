"""Notebook 04, GRPO with a perplexity reward: its parameters and vocabulary. No heavy imports: the
command line reads them before anything runs."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from reason_lib.fields import (Experiment, ParamError, check_batch_fits, data_seed, device, dtype,
                               eval_batch_size, gradient_checkpointing, gsm8k_file, lora_rank,
                               micro_batch_size, param, procedural_operand,
                               procedural_steps, report_to, training_seed)


@dataclass
class PerplexityGRPOParams:
    """Notebook 04: GRPO with correctness, perplexity and hybrid rewards from a frozen scorer LM."""

    seed: int = training_seed("data order, rollouts and training")
    data_seed: int = data_seed()
    policy_model: str = param("outputs/models/base-cpu-seed{seed}", "Policy to start from (path or Hub id).")
    scorer_model: str = param("", "Frozen scorer LM (path or Hub id); empty: a frozen copy of "
                              "policy_model, as in the study.")
    reward_types: list[str] = param(["correctness", "perplexity", "hybrid"],
                                    "Reward types to train, one GRPO run each; perplexity_visible "
                                    "is the perplexity reward with the policy's own stated answer "
                                    "left in what the scorer reads (the leak ablation; the "
                                    "evaluation always removes it).",
                                    choices=["correctness", "perplexity", "hybrid",
                                             "perplexity_visible"])
    perplexity_form: str = param("prob", "Reward from the scorer's mean log-prob m of the gold "
                                 "answer: prob = exp(m), neg_perplexity = -exp(-m), logprob = m.",
                                 choices=["prob", "neg_perplexity", "logprob"])
    perplexity_target: str = param("final_line", "What the scorer predicts: the gold '#### N' "
                                   "line, or the answer number alone.",
                                   choices=["final_line", "answer_text"])
    hybrid_weights: list[float] = param([1.0, 1.0], "Hybrid reward weights: [correctness, "
                                        "perplexity].")
    train_data: str = gsm8k_file("train")
    test_data: str = gsm8k_file("test")
    n_train: int = param(1000, "Training prompts.", min=1)
    n_test: int = param(300, "Test questions for the before/after table.", min=1)
    problem_steps: int = procedural_steps()
    max_operand: int = procedural_operand()
    steps: int = param(40, "GRPO optimiser steps per reward type.", min=1)
    batch_size: int = param(32, "Completions per step (batch_size / num_generations prompts).",
                            min=2)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    num_generations: int = param(8, "Completions sampled per prompt (the GRPO group).", min=2)
    temperature: float = param(1.0, "Sampling temperature of the rollouts.", min=0.01)
    beta: float = param(0.0, "KL coefficient to the starting policy (0: no reference model).",
                        min=0.0)
    learning_rate: float = param(5e-5, "Learning rate.", min=0.0)
    max_completion_length: int = param(128, "Longest rollout in tokens.", min=8)
    lora: bool = param(False, "Train LoRA adapters instead of the full policy.")
    lora_r: int = lora_rank()
    eval_every: int = param(10, "Steps between evaluations on the curve subset.", min=1)
    n_curve: int = param(100, "Test questions evaluated every eval_every steps (the curves).",
                         min=1)
    max_new_tokens: int = param(160, "Generation budget at evaluation.", min=8)
    eval_batch_size: int = eval_batch_size(" at evaluation")
    use_vllm: bool = param(False, "Generate the GRPO rollouts with vLLM, through TRL's own "
                           "use_vllm (GPUs, an environment with vLLM: README, More than one GPU).")
    vllm_mode: str = param("colocate", "TRL's vLLM mode: colocate (vLLM inside each training "
                           "process) or server (a `trl vllm-serve` process on its own GPUs).",
                           choices=["colocate", "server"])
    vllm_gpu_memory_utilization: float = param(0.3, "Share of each GPU's memory vLLM takes in "
                                               "colocate mode.", min=0.05, max=0.95)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    def check(self) -> None:
        """vLLM asked for and not installed: one line naming the extra, before any work; the
        prompts of a step more than the training prompts."""
        if self.use_vllm and importlib.util.find_spec("vllm") is None:
            raise ParamError("key 'use_vllm' (value true): vLLM is not installed; it pins its own "
                             "torch and transformers, so it needs an environment of its own "
                             "(README, More than one GPU)")
        # a step's batch is batch_size completions, num_generations per prompt
        check_batch_fits(self.batch_size // self.num_generations, self.n_train,
                         "n_train prompts; batch_size / num_generations prompts per step")


EXPERIMENT = Experiment("04_perplexity_grpo.ipynb", PerplexityGRPOParams, model_field="policy_model")
