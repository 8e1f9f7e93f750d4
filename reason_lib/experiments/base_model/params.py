"""Notebook 00, the base model every experiment starts from: its parameters and vocabulary. No
heavy imports: the command line reads them before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from reason_lib.fields import (Experiment, data_seed, device, dtype, eval_batch_size,
                               gradient_checkpointing, micro_batch_size, param, report_to,
                               training_seed)

# The offline world's test sets notebook 00 can score (`data.offline_sets`).
OFFLINE_SETS = ("gsm8k_format", "paraphrase", "mc_english", "mc_yoruba")


@dataclass
class BaseModelParams:
    """Notebook 00: train (or load) the base model and measure where it starts."""

    seed: int = training_seed("initialisation, the training mixture's order, sampling")
    data_seed: int = data_seed()
    init_model: str = param("", "Path or Hub id of a pretrained model to start from; empty trains "
                            "the tiny model (and its tokenizer) from scratch.")
    train: bool = param(True, "Train on the offline world; false only evaluates (pretrained models).")
    save_to: str = param("outputs/models/base-cpu-seed{seed}", "Where the base model is saved; every "
                         "experiment's cpu profile loads it from here.")
    # Tiny model shape (ignored when init_model is set).
    vocab_size: int = param(1024, "Tokenizer vocabulary size (BPE trained on the offline world).",
                            min=300, max=65536)
    hidden_size: int = param(192, "Transformer width.", min=16)
    n_layers: int = param(4, "Transformer blocks.", min=1)
    n_heads: int = param(4, "Attention heads (must divide hidden_size).", min=1)
    intermediate_size: int = param(576, "MLP width.", min=16)
    max_length: int = param(256, "Longest training sequence in tokens; longer ones are truncated.",
                            min=32)
    # Offline world.
    n_gsm8k_train: int = param(4000, "Procedural GSM8K-format training problems.", min=1)
    n_mmlu_train: int = param(5000, "Procedural multiple-choice training items (per language).", min=1)
    yoruba_share: float = param(0.03, "Share of Yoruba items in the multiple-choice training mix; "
                                "small, so the model starts weaker in Yoruba.", min=0.0, max=1.0)
    max_steps: int = param(3, "Most arithmetic steps in a GSM8K-format problem.", min=1, max=8)
    max_operand: int = param(10, "Largest operand of an addition or subtraction.", min=2)
    # Training.
    epochs: float = param(3.0, "Passes over the training mix.", min=0.0)
    batch_size: int = param(16, "Training batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    learning_rate: float = param(2e-3, "Peak learning rate (cosine decay, short warm-up).", min=0.0)
    # Evaluation.
    n_eval: int = param(400, "Held-out GSM8K-format problems.", min=1)
    n_eval_mc: int = param(1500, "Held-out multiple-choice items per language (many: the "
                           "English-Yoruba gap is a few points and its intervals must separate).",
                           min=1)
    eval_batch_size: int = eval_batch_size()
    max_new_tokens: int = param(160, "Generation budget per reply.", min=1)
    offline_eval: bool = param(True, "Score the offline world too (GSM8K-format test and "
                               "paraphrase, multiple choice in English and Yoruba); off at paper "
                               "scale, where the real test sets are what counts.")
    offline_sets: list[str] = param(list(OFFLINE_SETS), "The offline sets scored (when "
                                    "`offline_eval`). `--claims` keeps the two GSM8K-format ones, "
                                    "the only ones a claim reads (STaR on multiple choice scores "
                                    "its start model itself).", choices=list(OFFLINE_SETS))
    real_gsm8k_test: str = param("", "Real GSM8K test file (jsonl) or Hub id; empty skips it. "
                                 "E.g. $REASON_LIB_DATA/gsm8k/test.jsonl.", path=True)
    n_real_gsm8k: int = param(200, "Questions evaluated from the real GSM8K test set.", min=1)
    real_mmlu: str = param("", "Real MMLU CSV (`Question, A, B, C, D, Answer, Subject`) or Hub id "
                           "(cais/mmlu); empty skips it. E.g. $REASON_LIB_DATA/mmlu/test.csv.",
                           path=True)
    n_real_mmlu: int = param(1140, "Real MMLU questions, spread evenly over the subjects (1,140 = "
                             "20 for each of the 57).", min=1)
    mmlu_max_new_tokens: int = param(64, "Generation budget for the real MMLU 'Answer: X' replies "
                                     "(the letter log-prob score needs none).", min=1)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()


EXPERIMENT = Experiment("00_base_model.ipynb", BaseModelParams, model_field="init_model")
