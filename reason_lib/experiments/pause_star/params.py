"""Notebook 02, STaR and textual reward conditioning of pause LMs: its parameters and vocabulary.
No heavy imports: the command line reads them before anything runs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reason_lib.fields import (Experiment, data_seed, device, dtype, eval_batch_size,
                               gradient_checkpointing, gsm8k_file, lora_rank, micro_batch_size,
                               param, procedural_operand, procedural_steps, report_to,
                               tested_best, training_seed, warmup_batch_fits)
from reason_lib.experiments.pause_warmup.params import (max_consecutive_pauses, pause_reply_budget,
                                                        start_epochs, trains)

PAUSE_STAR_VARIANTS = [f"{m}_{p}_t{t}" for m in ("star", "reward_cond") for p in ("pause", "no_pause")
                       for t in ("1.0", "1.5")]
# ... and cooler rollouts, which a small model needs to keep its correct replies clean.
PAUSE_STAR_CHOICES = PAUSE_STAR_VARIANTS + [f"{m}_{p}_t{t}" for m in ("star", "reward_cond")
                                            for p in ("pause", "no_pause") for t in ("0.5", "0.7")]


def parse_variant(name: str) -> dict:
    """'star_pause_t1.0' / 'reward_cond_no_pause_t1.5' -> method, pauses, temperature."""
    m = re.fullmatch(r"(star|reward_cond)_(pause|no_pause)_t(\d+(?:\.\d+)?)", name)
    if not m:
        raise ValueError(f"pause STaR variant {name!r}: expected <star|reward_cond>_<pause|no_pause>"
                         "_t<temperature>")
    return {"name": name, "method": m[1], "pauses": m[2] == "pause", "temperature": float(m[3])}


# Reward conditioning's textual tags: a reply trained after its correctness tag, decoded after
# the high-reward one.
REWARD_TAGS = {True: "[reward: 1]", False: "[reward: 0]"}


def conditioning_prefix(method: str) -> str:
    """Text the reply is generated after: the high-reward tag for reward conditioning, else none."""
    return REWARD_TAGS[True] + "\n" if method == "reward_cond" else ""


@dataclass
class PauseStarParams:
    """Notebook 02: offline STaR and constant textual reward conditioning on GSM8K, with and
    without pauses, at two sampling temperatures, from warmed-up pause LMs."""

    seed: int = training_seed("pause injection into training answers, rollouts, training")
    data_seed: int = data_seed()
    model: str = param("outputs/models/base-cpu-seed{seed}", "Base model (trained without pauses).")
    start_epochs: float = start_epochs()
    variants: list[str] = param(PAUSE_STAR_VARIANTS, "Variants: <method>_<pauses>_t<temperature>; "
                                "method star (keep correct replies) or reward_cond (keep all, "
                                "prefixed with their reward; generate after the high-reward "
                                "prefix).", choices=PAUSE_STAR_CHOICES)
    # Warm-up (as notebook 01), once per pause setting.
    pause_embedding: bool = trains("pause_embedding")
    pause_head: bool = trains("pause_head")
    lm_head: bool = trains("lm_head")
    lm_embeddings: bool = trains("lm_embeddings")
    lora: bool = param(True, "LoRA adapters on the transformer blocks.")
    lora_r: int = lora_rank()
    n_random_pauses: int = param(3, "Most random pauses per warm-up answer.", min=0)
    n_generated_samples_per_datapoint: int = param(1, "Pause-augmented copies of each warm-up "
                                                   "answer (the pause warm-up only).", min=1)
    n_pauses_per_patterns: dict = param({}, "Warm-up pauses after every occurrence of a pattern, "
                                        "e.g. {'=': 1}: a pause the head can learn to predict.")
    warmup_epochs: float = param(1.0, "Warm-up epochs on the random-pause training set.", min=0.0)
    # STaR.
    train_data: str = gsm8k_file("train")
    test_data: str = gsm8k_file("test")
    n_train: int = param(600, "Training problems (rolled out every outer loop).", min=1)
    n_validation: int = param(150, "Validation problems (pick the best loop).", min=1)
    n_test: int = param(400, "Test problems.", min=1)
    problem_steps: int = procedural_steps()
    max_operand: int = procedural_operand()
    outer_loops: int = param(2, "STaR outer loops.", min=1)
    tested_best: int = tested_best()
    sampled_tests: bool = param(True, "Also test each variant and its warm-up sampled at the "
                                "variant's rollout temperature (besides greedy). `--claims` turns "
                                "it off: every claim reads greedy accuracy.")
    samples_per_problem: int = param(1, "Replies sampled per training problem each loop (the "
                                     "study: 1; more finds correct replies to harder problems).",
                                     min=1)
    epochs: float = param(1.0, "Fine-tuning epochs per outer loop.", min=0.0)
    learning_rate: float = param(1e-3, "Learning rate (warm-up and STaR).", min=0.0)
    batch_size: int = param(16, "Training batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    max_length: int = param(320, "Longest training sequence (tokens).", min=32)
    greedy_eval: bool = param(True, "Greedy decoding at validation, which picks the best loop "
                              "(the study found greedy better); false samples at the variant's "
                              "temperature. The test is reported both ways.")
    max_consecutive_pauses: int = max_consecutive_pauses()
    max_new_tokens: int = pause_reply_budget()
    eval_batch_size: int = eval_batch_size()
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    check = warmup_batch_fits


EXPERIMENT = Experiment("02_pause_star.ipynb", PauseStarParams, ("outer_loops",), model_field="model")
