"""Data: the offline world (GSM8K-format, MMLU-format in English and Yoruba, preference pairs)
and loaders for the real files and Hub datasets through the same interface."""

from reason_lib.data.files import DataError
from reason_lib.data.gsm8k import gold_answer, gsm8k_data, gsm8k_prompt, load_gsm8k
from reason_lib.data.mmlu import load_mmlu, mc_prompt, mc_target
from reason_lib.data.multichoice import mmlu_splits
from reason_lib.data.preferences import gold_reward, gold_scores, load_preferences, preference_splits
from reason_lib.data.synthetic import gsm8k_paraphrase, gsm8k_splits

__all__ = ["DataError", "gold_answer", "gold_reward", "gold_scores", "gsm8k_data",
           "gsm8k_paraphrase", "gsm8k_prompt", "gsm8k_splits", "load_gsm8k", "load_mmlu",
           "load_preferences", "mc_prompt", "mc_target", "mmlu_splits", "preference_splits"]
