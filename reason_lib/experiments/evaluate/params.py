"""Notebook 06, scoring any model on the benches: its parameters and vocabulary. No heavy imports:
the command line reads them before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from reason_lib.fields import (Experiment, data_seed, device, dtype, eval_batch_size, param,
                               preference_subset, report_to)


@dataclass
class EvaluateParams:
    """Notebook 06: score any model (a run's, a folder, a Hub id) on the project's benchmarks, with
    the experiments' prompts, extraction and intervals; optionally paired against a baseline.
    The item-set sizes default to the base model's (notebook 00), so the same profile scores the
    same items."""

    seed: int = param(0, "Seed of sampling (temperature > 0).", min=0)
    data_seed: int = data_seed()
    model: str = param("", "What to score: a run id (every model it kept), <run id>/<name>, "
                       "<experiment>/latest[/<name>], a model folder or a Hub id.")
    baseline: str = param("", "A second model scored on the same items; each table then shows "
                          "the paired change (gained / lost items). Empty: none.")
    benches: list[str] = param(["gsm8k_format", "paraphrase", "mc_english", "mc_yoruba"],
                               "Benches to score (reason_lib.benches.BENCHES).",
                               choices=["gsm8k_format", "paraphrase", "mc_english", "mc_yoruba",
                                        "gsm8k", "mmlu", "mmmlu", "hh", "run"])
    max_steps: int = param(3, "Most steps of a procedural GSM8K-format problem.", min=1, max=8)
    max_operand: int = param(10, "Largest procedural operand.", min=2)
    n_eval: int = param(400, "Procedural GSM8K-format problems (test and paraphrase).", min=1)
    n_eval_mc: int = param(1500, "Offline multiple-choice items per language.", min=1)
    real_gsm8k_test: str = param("", "Real GSM8K test file (jsonl) or Hub id, for bench gsm8k.",
                                 path=True)
    n_real_gsm8k: int = param(200, "Real GSM8K questions (the first ones of the file).", min=1)
    real_mmlu: str = param("", "Real MMLU CSV or Hub id, for bench mmlu.", path=True)
    n_real_mmlu: int = param(1140, "MMLU / MMMLU questions, spread evenly over the subjects.", min=1)
    mmmlu: str = param("", "MMMLU CSV or Hub id (openai/MMMLU), for bench mmmlu.", path=True)
    mmmlu_language: str = param("YO_NG", "MMMLU language config (e.g. YO_NG, FR_FR).")
    mmlu_max_new_tokens: int = param(64, "Generation budget of a multiple-choice 'Answer: X' reply.",
                                     min=1)
    reward_model: str = param("", "For bench hh: a kept reward model (<run id>, <run id>/reward_model "
                              "or its folder); level 1 or 2 is read from it.")
    preference_data: str = param("", "For bench hh: HH-RLHF pairs (jsonl[.gz] or Anthropic/hh-rlhf); "
                                 "empty: the offline preference world, whose gold reward is known.",
                                 path=True)
    preference_subset: str = preference_subset()
    n_prompts: int = param(64, "Bench hh: held-out prompts, one reply each (the first of the file "
                           "shuffled by seed: a reinforce_rm run's own evaluation prompts).", min=1)
    context_turns: int = param(0, "Bench hh: keep the last this many prompt turns (0: all).", min=0)
    skip_malformed: bool = param(False, "Bench hh: skip rows whose dialogues cannot be paired.")
    reply_max_new_tokens: int = param(48, "Bench hh: generation budget of a reply.", min=1)
    temperature: float = param(0.0, "Sampling temperature; 0 is greedy (the experiments' tables).",
                               min=0.0)
    max_new_tokens: int = param(160, "Generation budget of a GSM8K reply.", min=1)
    eval_batch_size: int = eval_batch_size()
    n_samples: int = param(20, "Replies per model and item set shown in the report.", min=0)
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()
    trust_remote_code: bool = param(False, "Let a Hub model run its own code (off: never by default).")


EXPERIMENT = Experiment("06_evaluate.ipynb", EvaluateParams)
