"""Notebook 03's data: its multiple-choice splits (the notebook, the up-front check and
`make evaluate`'s bench `run` call the same `splits`) and its test items."""

from __future__ import annotations

from reason_lib.config import resolve_source
from reason_lib.data.mmlu import mmlu_data
from reason_lib.evaluate import ItemSet


def splits(p) -> dict[str, dict[str, list[dict]]]:
    """{"train", "validation", "test"}: {language: items} (real MMLU files, else the offline
    world), drawn from data_seed."""
    return mmlu_data(resolve_source(p.mmlu_english) if p.mmlu_english else "",
                     resolve_source(p.mmlu_yoruba) if p.mmlu_yoruba else "",
                     p.n_train, p.n_validation, p.n_test, seed=p.data_seed, subjects=p.mmlu_subjects)


def check(p) -> dict[str, int]:
    """The MMLU files the run names, loaded and checked: {"<parameter> <file>": rows used}."""
    if not (p.mmlu_english or p.mmlu_yoruba):
        return {}
    data = splits(p)
    return {f"{key} {value}": sum(len(split[lg]) for split in data.values())
            for key, value, lg in (("mmlu_english", p.mmlu_english, "en"),
                                   ("mmlu_yoruba", p.mmlu_yoruba, "yo")) if value}


def test_sets(p, run=None) -> list[ItemSet]:
    """The test questions per language (sanity mode: the one training batch it overfits)."""
    data = splits(p)
    test = {lg: rows[:p.batch_size] for lg, rows in data["train"].items()} if p.single_batch \
        else data["test"]
    return [ItemSet(f"MC test {lg} (run)", "choice", rows, lg, max_new_tokens=p.max_new_tokens,
                    batch_size=p.eval_batch_size) for lg, rows in test.items()]
