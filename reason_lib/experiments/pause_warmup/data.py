"""Notebook 01's data (notebook 04 draws the same splits): its GSM8K splits (the notebook, the
up-front check and `make evaluate`'s bench `run` call the same `splits`) and its test items as
the run decoded them."""

from __future__ import annotations

from reason_lib.data.gsm8k import checked_sources, gsm8k_data
from reason_lib.evaluate import ItemSet


def splits(p) -> dict[str, list[dict]]:
    """{"train", "test"} problems (real files, else procedural), drawn from data_seed + 1."""
    return gsm8k_data(p.train_data, p.test_data, p.n_train, 0, p.n_test, p.problem_steps,
                      p.max_operand, seed=p.data_seed + 1)


def check(p) -> dict[str, int]:
    return checked_sources(p, splits)


def test_sets(p, run=None) -> list[ItemSet]:
    """The test problems, decoded as the run decoded them (its temperature, seed and pauses)."""
    return [ItemSet("GSM8K test (run)", "gsm8k", splits(p)["test"], max_new_tokens=p.max_new_tokens,
                    batch_size=p.eval_batch_size, temperature=p.temperature, seed=p.seed,
                    options={"max_consecutive_pauses": p.max_consecutive_pauses,
                             "allow_pauses": p.use_pauses})]
