"""Notebook 00's item sets (the offline world's test splits and the real GSM8K and MMLU it scores
its base model on; `make evaluate` scores any model on the same ones) and its up-front check."""

from __future__ import annotations

from reason_lib.config import resolve_source
from reason_lib.data import gsm8k_paraphrase, gsm8k_splits, load_gsm8k, mmlu_splits
from reason_lib.data.mmlu import load_mmlu, stratified
from reason_lib.evaluate import ItemSet
from reason_lib.experiments.base_model.params import OFFLINE_SETS


def offline_sets(p, names=OFFLINE_SETS) -> list[ItemSet]:
    """The base model's offline item sets from parameters shaped like BaseModelParams (seed,
    n_eval, n_eval_mc, max_steps, max_operand, ...): notebook 00 scores these (`test_sets`; a
    split's items depend only on the seed and their own count)."""
    gen = dict(max_new_tokens=p.max_new_tokens, batch_size=p.eval_batch_size)
    out = []
    if "gsm8k_format" in names:
        rows = gsm8k_splits(0, 0, p.n_eval, p.max_steps, p.max_operand, seed=p.data_seed)["test"]
        out.append(ItemSet("GSM8K-format", "gsm8k", rows, **gen))
    if "paraphrase" in names:
        rows = gsm8k_paraphrase(p.n_eval, p.max_steps, p.max_operand, seed=p.data_seed)
        out.append(ItemSet("GSM8K-format paraphrase", "gsm8k", rows, **gen))
    langs = [(lang, label) for lang, label, name in [("en", "MC English", "mc_english"),
                                                      ("yo", "MC Yoruba", "mc_yoruba")] if name in names]
    if langs:
        mc = mmlu_splits(0, 0, p.n_eval_mc, seed=p.data_seed)["test"]
        out += [ItemSet(label, "choice", mc[lang], lang, **gen) for lang, label in langs]
    return out


def real_sets(p, names=("gsm8k", "mmlu")) -> list[ItemSet]:
    """Real GSM8K and MMLU as notebook 00 scores them (the same files, counts and seed)."""
    out = []
    if "gsm8k" in names and p.real_gsm8k_test:
        rows = load_gsm8k(resolve_source(p.real_gsm8k_test), "test", limit=p.n_real_gsm8k)
        out.append(ItemSet("GSM8K (real)", "gsm8k", rows, max_new_tokens=p.max_new_tokens,
                           batch_size=p.eval_batch_size))
    if "mmlu" in names and p.real_mmlu:
        rows = stratified(load_mmlu(resolve_source(p.real_mmlu)), p.n_real_mmlu, seed=p.data_seed)
        out += [ItemSet("MMLU (real, letter log-prob)", "logprob", rows, batch_size=p.eval_batch_size),
                ItemSet("MMLU (real, generated)", "choice", rows,
                        max_new_tokens=p.mmlu_max_new_tokens, batch_size=p.eval_batch_size)]
    return out


def test_sets(p, run=None) -> list[ItemSet]:
    """What notebook 00 scores its base model on: the offline sets (when `offline_eval`) and the
    real GSM8K and MMLU (when given)."""
    return (offline_sets(p, p.offline_sets) if p.offline_eval else []) + real_sets(p)


def check(p) -> dict[str, int]:
    """The real test files the run names, read and checked: {"<parameter> <file>": rows}."""
    out = {}
    if p.real_gsm8k_test:
        rows = load_gsm8k(resolve_source(p.real_gsm8k_test), "test", limit=p.n_real_gsm8k)
        out[f"real_gsm8k_test {p.real_gsm8k_test}"] = len(rows)
    if p.real_mmlu:
        out[f"real_mmlu {p.real_mmlu}"] = len(load_mmlu(resolve_source(p.real_mmlu)))
    return out
