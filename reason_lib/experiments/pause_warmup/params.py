"""Notebook 01, the pause warm-up and its ablation grid: its parameters and vocabulary. No heavy
imports: the command line reads them before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from reason_lib.fields import (Experiment, data_seed, device, dtype, eval_batch_size,
                               gradient_checkpointing, gsm8k_file, lora_rank, micro_batch_size,
                               param, procedural_operand, procedural_steps, report_to,
                               training_seed, warmup_batch_fits)


# The warm-up's fields notebook 02 shares (it warms up its pause LMs as notebook 01 does).
_TRAINS = {"pause_embedding": (True, "Train the pause token's embedding."),
           "pause_head": (True, "Train the pause head (frozen: its random init decides)."),
           "lm_head": (False, "Train the LM head (output embeddings)."),
           "lm_embeddings": (False, "Train the input embeddings of the ordinary tokens.")}


def trains(part: str):
    """Whether the warm-up trains `part` (pause_embedding, pause_head, lm_head, lm_embeddings)."""
    default, help = _TRAINS[part]
    return param(default, help)


def start_epochs():
    return param(1.0, "Epochs of plain SFT (no pauses, LoRA merged) a warm-up starts from: the "
                 "study's step 1, trained once per setting and reused when identical "
                 "(reason_lib.train.start); 0 starts from `model` itself.", min=0.0)


def max_consecutive_pauses():
    return param(8, "Most pauses in a row at decoding.", min=0)


def pause_reply_budget():
    return param(160, "Generation budget per reply (pauses count).", min=8)


@dataclass
class PauseWarmupParams:
    """Notebook 01: warm-up of a pause LM (pause embedding + pause head) on random-pause GSM8K,
    one configuration of the ablation grid (what is trainable, LoRA or not)."""

    seed: int = training_seed("pause injection into training answers, initialisation, data order")
    data_seed: int = data_seed()
    config_name: str = param("sft_peft", "Label of this configuration in the grid's table (the "
                             "study's names: params/pause_warmup/grids/warmup.yaml).")
    model: str = param("outputs/models/base-cpu-seed{seed}", "Base model (trained without pauses; path or "
                       "Hub id).")
    start_epochs: float = start_epochs()
    use_pauses: bool = param(True, "Train with pauses; false gives the no-pause baseline (same "
                             "data without pauses, decoding never pauses).")
    pause_embedding: bool = trains("pause_embedding")
    pause_head: bool = trains("pause_head")
    lm_head: bool = trains("lm_head")
    lm_embeddings: bool = trains("lm_embeddings")
    lora: bool = param(True, "Train LoRA adapters on the transformer blocks.")
    lora_r: int = lora_rank()
    pause_weight: float = param(1.0, "Weight of the pause head's loss beside the LM loss.",
                                min=0.0)
    n_random_pauses: int = param(3, "Most random pauses inserted per answer (0..n per copy).",
                                 min=0)
    n_generated_samples_per_datapoint: int = param(1, "Pause-augmented copies of each example.",
                                                   min=1)
    n_pauses_per_patterns: dict = param({}, "Pauses inserted after every occurrence of a pattern, "
                                        "e.g. {'=': 1, '\\n': 2}.")
    train_data: str = gsm8k_file("train")
    test_data: str = gsm8k_file("test")
    n_train: int = param(1000, "Training problems.", min=1)
    n_test: int = param(300, "Test problems (accuracy, pauses, eval loss).", min=1)
    problem_steps: int = procedural_steps()
    max_operand: int = procedural_operand()
    epochs: float = param(1.0, "Training epochs.", min=0.0)
    learning_rate: float = param(1e-3, "Peak learning rate (warm-up, cosine decay).", min=0.0)
    batch_size: int = param(16, "Training batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    max_length: int = param(320, "Longest training sequence (tokens).", min=32)
    temperature: float = param(0.0, "Test decoding temperature; 0 = greedy (argmax token, pause "
                               "when the head's probability > 0.5).", min=0.0)
    max_consecutive_pauses: int = max_consecutive_pauses()
    max_new_tokens: int = pause_reply_budget()
    eval_batch_size: int = eval_batch_size()
    sweep_temperatures: list[float] = param([], "The sampling playground: test accuracy and pauses "
                                            "of the warmed-up model sampled at each of these "
                                            "temperatures (how the study chose STaR's 1.0 and "
                                            "1.5); empty: skipped.")
    before_eval: bool = param(True, "Test the model before the warm-up too (the 'before warm-up' "
                              "column and the paired change). `--claims` turns it off: the claims "
                              "pair configurations with each other, seed by seed.")
    eval_loss: bool = param(True, "The eval loss on held-out answers with pauses. `--claims` turns "
                            "it off: no claim reads it.")
    save_model: bool = param(True, "Save the trained pause LM into the run folder.")
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    check = warmup_batch_fits


# The study's eight variants (rollouts at temperature 1.0 and 1.5), the default ...


EXPERIMENT = Experiment("01_pause_warmup.ipynb", PauseWarmupParams, model_field="model")
