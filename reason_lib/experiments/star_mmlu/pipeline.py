"""Experiment B (notebook 03), STaR on multiple choice in English and Yoruba: the metrics its run
saves (`report.TABLES` reads `runs.<name>.test_eval`, `.difference`, `.test.<lang>`) and
the table of its runs."""

from __future__ import annotations

from reason_lib.stats import interval_text, paired_proportion_difference
from reason_lib.train.star_tasks import overfit_check

SCORES = ("accuracy", "no_answer", "repeated_ngrams", "longest_run")
RUN_FIELDS = ("run_type", "strategy", "train_lang", "eval_lang", "best_loop", "history",
              "tested_loops")


def _scores(summary: dict) -> dict:
    return {k: summary[k] for k in SCORES}


def summarise(before: dict, before_records: dict, results: dict, single_batch: bool = False,
              target: float = 0.9) -> tuple[dict, dict]:
    """(metrics, table rows) of a run: the start model's test scores per language (`before`,
    with its per-item `before_records`) and each STaR run's (`results[name]`: its spec, best loop,
    history, tested loops, test summaries and records per language), each run's accuracy paired
    with the start model's on the same items in its evaluation language. `single_batch`: sanity
    mode, whose overfit verdict (each run must reach `target` on its batch) joins the metrics."""
    metrics = {"before": {lg: _scores(s) for lg, s in before.items()}, "runs": {}}
    rows = {f"start model ({lg})": {"run type": "-", "strategy": "-", "train": "-", "eval": lg,
                                    "accuracy (eval)": interval_text(s["accuracy"]),
                                    "no answer": round(s["no_answer"]["value"], 3),
                                    "longest run": round(s["longest_run"], 2)}
            for lg, s in before.items()}
    for name, r in results.items():
        lang = r["eval_lang"]
        t = r["test"][lang]
        other = "yo" if lang == "en" else "en"
        d = paired_proportion_difference([x["correct"] for x in r["records"][lang]],
                                         [x["correct"] for x in before_records[lang]])
        rows[name] = {"run type": r["run_type"], "strategy": r["strategy"],
                      "train": r["train_lang"], "eval": lang, "best loop": r["best_loop"],
                      "accuracy (eval)": interval_text(t["accuracy"]),
                      "Δ vs start": f"{d['value']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]",
                      "gained / lost": f"{d['gained']} / {d['lost']}",
                      "accuracy (other)": interval_text(r["test"][other]["accuracy"])
                      if other in r["test"] else "-",
                      "no answer": round(t["no_answer"]["value"], 3),
                      "longest run": round(t["longest_run"], 2),
                      "tested loops": ", ".join(f"{loop}: {v['accuracy']['value']:.3f}"
                                                for loop, v in r["tested_loops"].items())}
        metrics["runs"][name] = {**{k: r[k] for k in RUN_FIELDS},
                                 "trained_with": r.get("trained_with", name),  # its twin when shared
                                 "test": {lg: _scores(s) for lg, s in r["test"].items()},
                                 "test_eval": _scores(t), "difference": d}
    if single_batch:  # sanity mode: each run must fit the one batch it trained and is tested on
        metrics["overfit_check"] = overfit_check(
            {name: r["test"][r["eval_lang"]]["accuracy"]["value"] for name, r in results.items()},
            target)
    return metrics, rows
