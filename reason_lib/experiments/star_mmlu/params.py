"""Notebook 03, STaR on multiple choice in English and Yoruba: its parameters and vocabulary. No
heavy imports: the command line reads them before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from reason_lib.fields import (Experiment, data_seed, device, dtype, eval_batch_size,
                               gradient_checkpointing, lora_rank, micro_batch_size, param,
                               report_to, tested_best, training_seed)


STAR_MMLU_RUNS = [f"{t}{s}" for t in ("english", "yoruba", "translate_en_yo", "translate_yo_en")
                  for s in ("", "_dpo")]


@dataclass
class StarMMLUParams:
    """Notebook 03: STaR (no rationalization) on multiple choice in English and Yoruba, the
    translate setting, and the DPO variant."""

    seed: int = training_seed("rollouts, kept rationales, training")
    data_seed: int = data_seed()
    model: str = param("outputs/models/base-cpu-seed{seed}", "Model every run starts from (path or Hub id).")
    mmlu_english: str = param("", "English MMLU CSV (path) or Hub id (cais/mmlu); empty with "
                              "mmlu_yoruba empty: the offline world. With mmlu_yoruba it must "
                              "hold the same questions in the same order (MMMLU's: simple-evals' "
                              "mmlu.csv, not cais/mmlu), checked row by row.", path=True)
    mmlu_yoruba: str = param("", "Yoruba MMMLU CSV (path) or Hub id (openai/MMMLU, config YO_NG), "
                             "the same questions in the same order; empty with mmlu_english "
                             "set: English alone (runs in Yoruba are then refused).", path=True)
    mmlu_subjects: list[str] = param([], "Real MMLU subjects kept before the 80/10/10 split (e.g. "
                                     "[marketing, miscellaneous]); empty: all 57.")
    runs: list[str] = param(["english", "yoruba", "translate_en_yo", "translate_yo_en",
                             "yoruba_dpo"],
                            "Runs, each from `model`: english / yoruba train and evaluate in one "
                            "language; translate_<a>_<b> trains on a, evaluates on b; a _dpo "
                            "suffix trains DPO on (correct, incorrect) pairs instead of SFT.",
                            choices=STAR_MMLU_RUNS)
    n_train: int = param(300, "Training questions (rationales are sampled on these).", min=1)
    n_validation: int = param(150, "Validation questions per language (picks the best loop).",
                              min=1)
    n_test: int = param(400, "Test questions per language.", min=1)
    other_language: bool = param(True, "Also validate each loop and test each run's selected loop "
                                 "in the language the run is not evaluated in (the table's "
                                 "English / Yoruba columns, the validation curves of both "
                                 "languages); off: the evaluation language alone, the one every "
                                 "claim reads (a third less evaluation).")
    outer_loops: int = param(2, "STaR outer loops (sample, filter, fine-tune, validate).", min=1)
    tested_best: int = tested_best()
    samples_per_question: int = param(4, "Rationales sampled per training question per loop.",
                                      min=1)
    sample_batch_size: int = param(0, "Sequences generated together when sampling rationales "
                                   "(prompts x samples_per_question; what the KV cache holds); "
                                   "0: eval_batch_size prompts at a time.", min=0)
    one_per_question: bool = param(False, "Keep at most one correct rationale per question.")
    temperature: float = param(1.0, "Sampling temperature of the rollouts.", min=0.01)
    restart_each_loop: bool = param(False, "Fine-tune from `model` every loop (as the STaR paper) "
                                    "instead of continuing from the previous loop.")
    epochs: float = param(1.0, "Fine-tuning epochs per outer loop.", min=0.0)
    learning_rate: float = param(3e-4, "Fine-tuning learning rate (SFT).", min=0.0)
    warmup_ratio: float = param(0.05, "Learning-rate warm-up of each fine-tune (SFT and DPO), "
                                "as a share of its steps; the study sets it (0 for its "
                                "single-batch check).", min=0.0, max=1.0)
    batch_size: int = param(16, "Fine-tuning batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    dpo_beta: float = param(0.1, "DPO beta (strength of the tie to the reference).", min=0.0)
    dpo_learning_rate: float = param(5e-5, "DPO learning rate.", min=0.0)
    dpo_sft_first: bool = param(False, "Before DPO, SFT on the winners (the study considered it).")
    single_batch: bool = param(False, "Sanity mode: train and evaluate on one batch of "
                               "`batch_size` questions, which the model must fit.")
    single_batch_target: float = param(0.9, "Sanity mode's pass mark: each run's best loop must "
                                       "reach this accuracy on the batch it trained on, or the "
                                       "overfit check fails (recorded and printed).", min=0.0,
                                       max=1.0)
    single_batch_epochs: float = param(20.0, "Fine-tuning epochs per loop in sanity mode.",
                                       min=0.0)
    max_length: int = param(384, "Longest training sequence (tokens).", min=32)
    max_new_tokens: int = param(96, "Generation budget per reply.", min=8)
    eval_batch_size: int = eval_batch_size()
    lora: bool = param(False, "Fine-tune LoRA adapters (merged after each loop).")
    lora_r: int = lora_rank()
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()


# What `method_overrides` may set for one policy-gradient method (reason_lib.train.reinforce).


EXPERIMENT = Experiment("03_star_mmlu.ipynb", StarMMLUParams, ("outer_loops",), model_field="model")
