"""Statistics over training seeds: a finding is a claim about the training process, not one run.

A run's own intervals (Wilson, Newcombe: the last section below) cover only the sampling of test
items. Over
seeds, each run is one draw of the whole pipeline (initialisation, data order, rollouts), so the
interval of a mean over n seeds uses Student's t with n - 1 degrees of freedom: with 5 seeds the
normal z would be 1.4x too narrow. A treatment and its control are paired by seed (the same base
model, the same data order), so a claim's effect is the mean of per-seed differences. The claims
of one profile are tested together: Holm's step-down adjustment keeps the family-wise error at 5 %.
A claim of *no* difference is tested for equivalence (two one-sided tests against its margin), not
read from a difference that failed to be significant.
"""

from __future__ import annotations

import math


ALPHA = 0.05


def _t():
    """Student's t distribution from scipy, imported on first use: scipy takes most of a second
    to import, and every command-line call imports this module."""
    from scipy.stats import t

    return t


def t_quantile(df: int, alpha: float = ALPHA) -> float:
    """The two-sided (1 - alpha) quantile of Student's t with `df` degrees of freedom."""
    return float(_t().ppf(1 - alpha / 2, df))


def mean_sd(values) -> tuple[float, float, int]:
    """(mean, sample standard deviation, n); sd is 0 for one value."""
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("no values: a mean over seeds needs at least one run")
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd, n


def t_interval(values, alpha: float = ALPHA) -> dict:
    """Mean over seeds with its Student-t interval: {value, low, high, n, sd, p}; `p` is the
    two-sided p-value of mean = 0 (1.0 when it cannot be computed). One value: a zero-width
    interval would be a lie, so low and high are None."""
    mean, sd, n = mean_sd(values)
    if n < 2:
        return {"value": mean, "low": None, "high": None, "n": n, "sd": None, "p": None}
    se = sd / math.sqrt(n)
    half = t_quantile(n - 1, alpha) * se
    if se == 0:
        p = 1.0 if mean == 0 else 0.0
    else:
        p = float(2 * _t().sf(abs(mean) / se, n - 1))
    return {"value": mean, "low": mean - half, "high": mean + half, "n": n, "sd": sd, "p": p}


def equivalence_p(values, margin: float) -> float | None:
    """Two one-sided tests (TOST) of |mean| < margin: the larger of the one-sided t p-values of
    mean > -margin and mean < +margin. Small: the effect is shown to lie inside +-margin (its
    90 % t-interval does at p < 0.05). None with fewer than two values."""
    mean, sd, n = mean_sd(values)
    if n < 2:
        return None
    se = sd / math.sqrt(n)
    if se == 0:
        return 0.0 if abs(mean) < margin else 1.0
    above = _t().sf((mean + margin) / se, n - 1)  # H0: mean <= -margin
    below = _t().cdf((mean - margin) / se, n - 1)  # H0: mean >= +margin
    return float(max(above, below))


def differences(treatment: dict, control: dict) -> dict:
    """{seed: treatment - control} on the seeds both map (seed -> value), in treatment's order."""
    return {s: v - control[s] for s, v in treatment.items() if s in control}


def paired(treatment: dict, control: dict, alpha: float = ALPHA) -> dict:
    """The effect of a treatment over its control, paired by seed: `treatment` and `control` map
    seed -> value; only seeds present in both count (named in `seeds`)."""
    diffs = differences(treatment, control)
    if not diffs:
        raise ValueError("no seed in common between treatment and control")
    seeds = sorted(diffs, key=str)
    out = t_interval([diffs[s] for s in seeds], alpha)
    return {**out, "seeds": [str(s) for s in seeds]}


def prediction_p(values, new_values, slack: float = 0.0) -> float | None:
    """Two-sided p of the mean of `new_values` (m new seeds) under the seeds `values` (n) ran
    so far: t = (new mean - mean) / (sd sqrt(1/m + 1/n)) with n - 1 degrees of freedom. p >= 0.05
    is the new mean inside the 95 % prediction interval mean +- t sd sqrt(1/m + 1/n). A
    difference within `slack` (rounding) counts as none. None with fewer than two seeds."""
    mean, sd, n = mean_sd(values)
    new = [float(v) for v in new_values]
    if n < 2 or not new:
        return None
    gap = max(0.0, abs(sum(new) / len(new) - mean) - slack)
    scale = sd * math.sqrt(1 / len(new) + 1 / n)
    if scale == 0:
        return 1.0 if gap == 0 else 0.0
    return float(2 * _t().sf(gap / scale, n - 1))


def holm(p_values: dict) -> dict:
    """Holm's step-down adjustment of {name: p}: {name: adjusted p} (monotone, at most 1). A name
    whose p is None (one seed) is left out of the family and gets None."""
    known = sorted(((p, k) for k, p in p_values.items() if p is not None))
    m = len(known)
    adjusted, running = {}, 0.0
    for i, (p, k) in enumerate(known):
        running = max(running, min(1.0, (m - i) * p))
        adjusted[k] = running
    return {k: adjusted.get(k) for k in p_values}


def verdict(effect: dict, direction: int, adjusted_p: float | None, alpha: float = ALPHA) -> str:
    """reproduced (significant after Holm, in the study's `direction`: +1 up, -1 down), opposite
    (significant the other way), null (not significant), or one seed (no verdict)."""
    if adjusted_p is None:
        return "one seed"
    if adjusted_p >= alpha:
        return "null"
    return "reproduced" if effect["value"] * direction > 0 else "opposite"


# -- one run's intervals: over its test items --------------------------------------------------
Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (95 % by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # clamp: rounding can put an endpoint a hair on the wrong side of p at k = 0 or k = n
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def proportion(flags) -> dict:
    """Share of true flags with its 95 % Wilson interval: {value, low, high, k, n}."""
    flags = [bool(f) for f in flags]
    return counted(sum(flags), len(flags))


def counted(k: int, n: int) -> dict:
    """`proportion` from its counts: k successes out of n."""
    lo, hi = wilson(k, n)
    return {"value": k / n if n else float("nan"), "low": lo, "high": hi, "k": k, "n": n}


def difference(after: dict, before: dict) -> dict:
    """Difference of two independent proportions (after - before), Newcombe's 95 % interval."""
    p1, p2 = after["k"] / after["n"], before["k"] / before["n"]
    l1, u1 = wilson(after["k"], after["n"])
    l2, u2 = wilson(before["k"], before["n"])
    d = p1 - p2
    return {"value": d, "low": d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            "high": d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)}


def paired_proportion_difference(after, before) -> dict:
    """Difference of two proportions measured on the *same* items (after - before, e.g. one test
    set scored before and after training), Newcombe's (1998) paired interval, method 10: Wilson
    limits of each share, combined with the phi correlation of the 2x2 agreement table. Narrower
    than `difference` when the two agree on most items, as models scored on one test set do.
    `after` and `before` are per-item correctness flags in the same order."""
    after, before = [bool(x) for x in after], [bool(x) for x in before]
    if len(after) != len(before) or not after:
        raise ValueError(f"paired flags must be non-empty and aligned: {len(after)} after, "
                         f"{len(before)} before")
    n = len(after)
    a = sum(x and y for x, y in zip(after, before))
    b = sum(x and not y for x, y in zip(after, before))
    c = sum(y and not x for x, y in zip(after, before))
    d = n - a - b - c
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n)
    l2, u2 = wilson(a + c, n)
    # phi as Newcombe defines it for method 10: a*d - b*c shrunk by n/2 when positive
    cross = a * d - b * c
    cross = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    phi = cross / math.sqrt(denom) if denom else 0.0
    delta = p1 - p2
    low = delta - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = delta + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return {"value": delta, "low": max(-1.0, low), "high": min(1.0, high), "n": n,
            "gained": b, "lost": c, "paired": True}


def interval_text(m: dict | None, digits: int = 3, signed: bool = False) -> str:
    """`value [low, high]` of a metric with its interval, "-" when it is missing; `signed` writes
    the sign of each number (a change)."""
    if m is None:
        return "-"
    f = f"+.{digits}f" if signed else f".{digits}f"
    return f"{m['value']:{f}} [{m['low']:{f}}, {m['high']:{f}}]"


def change_text(d: dict) -> str:
    """A paired change of proportions (`paired_proportion_difference`): the signed interval and
    the items gained / lost."""
    return f"{interval_text(d, signed=True)} ({d['gained']} / {d['lost']})"


def mean_interval(values) -> dict:
    """Mean with a 95 % normal-approximation interval: {value, low, high, n}."""
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    half = Z95 * sd / math.sqrt(n) if n else float("nan")
    return {"value": mean, "low": mean - half, "high": mean + half, "n": n}


def paired_difference(after: list[float], before: list[float]) -> dict:
    """Mean of per-item differences (after - before) with a 95 % interval."""
    return mean_interval([a - b for a, b in zip(after, before)])


# Columns of an interval table that count items (successes k, items n, pairs gained and lost).
COUNTS = ("k", "n", "gained", "lost")


def interval_frame(results: dict[str, dict]):
    """{label: {value, low, high, n, ...}} as a table to show, one row per label, rounded to 3
    places, counts as integers."""
    import pandas as pd

    table = pd.DataFrame(results).T.round(3)
    return table.astype({c: int for c in COUNTS if c in table})
