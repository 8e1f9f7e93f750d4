"""Notebook 02's data: its GSM8K splits (the notebook, the up-front check and `make evaluate`'s
bench `run` call the same `splits`) and its test items as the run decoded them."""

from __future__ import annotations

from reason_lib.data.gsm8k import checked_sources, gsm8k_data
from reason_lib.evaluate import ItemSet
from reason_lib.experiments.pause_star.params import conditioning_prefix, parse_variant


def splits(p) -> dict[str, list[dict]]:
    """{"train", "validation", "test"} problems (real files, else procedural), drawn from
    data_seed + 2."""
    return gsm8k_data(p.train_data, p.test_data, p.n_train, p.n_validation, p.n_test,
                      p.problem_steps, p.max_operand, seed=p.data_seed + 2)


def check(p) -> dict[str, int]:
    return checked_sources(p, splits)


def test_sets(p, run=None) -> list[ItemSet]:
    """The test problems once per variant (and warm-up) and decoding, each decoded as the run
    decoded it: greedy and at the variant's temperature, after its method's prompt prefix."""
    rows = splits(p)["test"]
    specs = [parse_variant(v) for v in p.variants]
    combos = {(s["pauses"], s["method"], t) for s in specs for t in (0.0, s["temperature"])}
    models = [(f"warmup-{'pause' if pa else 'no_pause'}", pa, me, t) for pa, me, t in combos] \
        + [(s["name"], s["pauses"], s["method"], t) for s in specs for t in (0.0, s["temperature"])]
    return [ItemSet(f"GSM8K test (run), {method} prompt, " + ("greedy" if t == 0 else f"T {t}"),
                    "gsm8k", rows, max_new_tokens=p.max_new_tokens, batch_size=p.eval_batch_size,
                    temperature=t, only=name, seed=p.seed,
                    options={"prefix": conditioning_prefix(method), "allow_pauses": pauses,
                             "max_consecutive_pauses": p.max_consecutive_pauses})
            for name, pauses, method, t in sorted(models)]
