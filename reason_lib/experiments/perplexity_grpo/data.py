"""Notebook 04's data: its GSM8K splits (the notebook, the up-front check and `make evaluate`'s
bench `run` call the same `splits`) and its test items with the scorer that reads them."""

from __future__ import annotations

from reason_lib.config import resolve_source
from reason_lib.evaluate import ItemSet
# notebook 04 draws the same GSM8K splits as notebook 01 (data_seed + 1), checked the same way
from reason_lib.experiments.pause_warmup.data import check, splits

__all__ = ["check", "splits", "test_sets"]


def test_sets(p, run=None) -> list[ItemSet]:
    """The test problems, with the gold-answer perplexity of the run's frozen scorer."""
    scorer = {"model": resolve_source(p.scorer_model or p.policy_model), "form": p.perplexity_form,
              "target": p.perplexity_target, "dtype": p.dtype}
    return [ItemSet("GSM8K test (run)", "gsm8k", splits(p)["test"], max_new_tokens=p.max_new_tokens,
                    batch_size=p.eval_batch_size, needs={"perplexity": scorer})]
