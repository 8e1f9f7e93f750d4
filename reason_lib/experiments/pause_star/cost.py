"""Notebook 02's cost for the estimator (`reason_lib.estimate`): GPU memory by phase, disk and
time on one GPU, from its parameters (`reason_lib.cost.Costing`)."""

from __future__ import annotations

from reason_lib.experiments.pause_star.params import parse_variant
from reason_lib.experiments.pause_warmup.cost import warmup


def memory(c) -> tuple[dict[str, dict], float]:
    p = c.p
    phases, trained, delta = warmup(c)
    # testing a variant's other tested loops beside its best (notebook 02; the best is also
    # reloaded beside the last at the end of `train.star`)
    phases["testing other loops (two models)"] = {"weights (two models)": 2 * c.weights,
                                                  **c.generation_memory("gsm8k")}
    # two warm-ups, then each variant's best and last loop (`train.star`), as deltas
    disk = delta * (2 + len(p.variants) * min(2, p.outer_loops))
    return phases, disk + trained


def seconds(c) -> dict[str, float]:
    p = c.p
    settings = {parse_variant(v)["pauses"] for v in p.variants}
    loops, rolled = p.outer_loops, p.n_train * p.samples_per_problem
    per_variant = c.generation_s(p.n_validation) * (loops + 1) + 2 * c.generation_s(p.n_test) \
        + loops * (c.generation_s(rolled) + c.training_s(rolled) * p.epochs)
    return {"warm-ups": len(settings) * (c.training_s(p.n_train) * p.warmup_epochs
                                         + 2 * c.generation_s(p.n_test)),
            "STaR loops": len(p.variants) * per_variant}
