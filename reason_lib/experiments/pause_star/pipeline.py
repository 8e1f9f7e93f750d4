"""Experiment A, second part (notebook 02), STaR and textual reward conditioning of pause LMs on
GSM8K: each variant's test results against its warm-up model, the metrics the run saves
(`report.TABLES` reads `variants.<name>.test`, `.difference`, `.tested_loops`) and
the table of its variants."""

from __future__ import annotations

from reason_lib.stats import change_text, interval_text, paired_proportion_difference

SCORES = ("accuracy", "no_answer", "pauses", "pauses_correct", "pauses_incorrect")
VARIANT_FIELDS = ("method", "pauses", "temperature", "best_loop", "history", "difference",
                  "difference_sampled")


def decodings(temperature: float, sampled: bool = True) -> tuple[float, ...]:
    """The temperatures a variant rolling out at `temperature` and its warm-up are tested at:
    greedy (0.0), and that temperature too when `sampled` (the `sampled_tests` parameter)."""
    return (0.0, temperature) if sampled else (0.0,)


def test_variant(out: dict, spec: dict, start: dict, start_records: dict, test_eval,
                 sampled: bool = True) -> dict:
    """A trained variant (`out`: `pause_star_run`'s result) on the test set, greedy and (when
    `sampled`) sampled at its rollout temperature, each paired with its warm-up model decoded the
    same way (`start`, `start_records`: keyed (pauses, method, temperature)); the `tested_best`
    best loops by validation accuracy (3, as the study) and the last are tested too (greedy).
    `test_eval(model, method, pauses, temperature) -> (summary, records)` scores a model; each
    is seeded alone, so leaving the sampled ones out changes no other number."""
    r = {**spec, "best_loop": out["best_loop"], "history": out["history"]}
    for suffix, t in zip(("", "_sampled"), decodings(spec["temperature"], sampled)):
        summary, records = test_eval(out["model"], spec["method"], spec["pauses"], t)
        before = start_records[(spec["pauses"], spec["method"], t)]
        r |= {f"test{suffix}": summary, f"records{suffix}": records,
              f"difference{suffix}": paired_proportion_difference(
                  [x["correct"] for x in records], [x["correct"] for x in before])}
    r["tested_loops"] = {}
    for loop in out["tested_loops"]:
        if loop == out["best_loop"]:
            s = r["test"]
        elif loop == 0:  # the warm-up model, tested already
            s = start[(spec["pauses"], spec["method"], 0.0)]
        else:
            s, _ = test_eval(out["load"](loop), spec["method"], spec["pauses"], 0.0)
        r["tested_loops"][loop] = {"validation_accuracy": out["history"][loop]["validation_accuracy"],
                                   "accuracy": s["accuracy"], "pauses": s["pauses"]}
    return r


def _warmup_row(start: dict, p: bool, m: str) -> dict:
    sampled = ", ".join(f"T {t}: {interval_text(s['accuracy'])}" for (p2, m2, t), s in start.items()
                        if (p2, m2) == (p, m) and t != 0) or "not tested"
    return {"test accuracy (greedy)": interval_text(start[(p, m, 0.0)]["accuracy"]),
            "test accuracy (sampled)": sampled,
            "pauses / reply": interval_text(start[(p, m, 0.0)]["pauses"], 2)}


def _variant_row(r: dict) -> dict:
    return {"method": r["method"], "pauses": r["pauses"], "T (rollouts)": r["temperature"],
            "best loop": r["best_loop"], "test accuracy (greedy)": interval_text(r["test"]["accuracy"]),
            "Δ greedy (gained / lost)": change_text(r["difference"]),
            "test accuracy (sampled)": interval_text(r["test_sampled"]["accuracy"])
            if "test_sampled" in r else "not tested",
            "Δ sampled (gained / lost)": change_text(r["difference_sampled"])
            if "difference_sampled" in r else "not tested",
            "pauses / reply": interval_text(r["test"]["pauses"], 2),
            "pauses (correct)": interval_text(r["test"]["pauses_correct"], 2),
            "pauses (incorrect)": interval_text(r["test"]["pauses_incorrect"], 2),
            "tested loops (greedy)": ", ".join(f"{loop}: {t['accuracy']['value']:.3f}"
                                               for loop, t in r["tested_loops"].items())}


def summarise(start: dict, results: dict) -> tuple[dict, dict]:
    """(metrics, table rows): the warm-up models' test scores (`start`, keyed (pauses, method,
    temperature)) and each variant's (`results[name]`: `test_variant`'s)."""
    metrics = {"start": {f"{'pause' if p else 'no_pause'}/{m}" + ("" if t == 0 else f"/t{t}"):
                         {k: s[k] for k in ("accuracy", "pauses")} for (p, m, t), s in start.items()},
               "variants": {}}
    table = {f"warm-up ({'pauses' if p else 'no pauses'}"
             f"{', reward prompt' if m == 'reward_cond' else ''})": _warmup_row(start, p, m)
             for p, m in sorted({k[:2] for k in start}, reverse=True)}
    for variant, r in results.items():
        table[variant] = _variant_row(r)
        metrics["variants"][variant] = {
            **{k: r[k] for k in VARIANT_FIELDS if k in r},
            "tested_loops": {str(k): v for k, v in r["tested_loops"].items()},
            **{key: {k: r[key][k] for k in SCORES} for key in ("test", "test_sampled") if key in r}}
    return metrics, table
