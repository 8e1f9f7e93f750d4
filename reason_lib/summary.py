"""The summary across runs: every run folder under outputs/, the study-style table of each
experiment from its succeeded runs (seeds of one configuration aggregated), and outputs/index.html.

A metric of one run is a {value, low, high} dict (its own 95 % interval); runs that differ only in
their seed are aggregated into the mean over seeds with a 95 % Student-t interval across seeds
(`reason_lib.stats`), and each seed's value is kept (`per_seed`) for the claims, which pair a
treatment with its control seed by seed.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from reason_lib import config, stats, studies
from reason_lib.claims import CONFIGURATIONS
from reason_lib.disk import atomic_write
from reason_lib.runs import run_manifest
from reason_lib.stats import interval_text

def collect(root: Path | None = None) -> list[dict]:
    """Every run folder (`<root>/<experiment>/<run_id>/manifest.json`), newest first, with its
    params and, when present, its final metrics."""
    root = Path(root or config.outputs_root())
    found = []
    for manifest in root.glob("*/*/manifest.json"):
        folder = manifest.parent
        if (info := run_manifest(folder)) is None:
            continue  # not a run: e.g. outputs/models/<name>/manifest.json of `make smol-model`
        metrics = folder / "metrics.json"
        params = folder / "params.yaml"
        found.append({**info, "dir": folder,
                      "params": config.read_yaml(params.read_text()) if params.is_file() else {},
                      "metrics": json.loads(metrics.read_text()) if metrics.is_file() else None})
    return sorted(found, key=lambda r: r.get("started") or "", reverse=True)


def succeeded(runs: list[dict], experiment: str) -> list[dict]:
    return [r for r in runs if r["experiment"] == experiment and r["status"] == "succeeded"
            and r["metrics"] is not None]


def seed_groups(runs: list[dict]) -> list[list[dict]]:
    """Runs grouped by configuration: same experiment, profile and params but for the seed and
    for the list of an experiment's configurations (`claims.CONFIGURATIONS`: variants, runs,
    reward types, methods, each seeded alone, so a `make claims` run of some of them belongs
    with a full run of all). A seed run again (a rerun, e.g. a second `make reproduce`) counts
    once, by its newest run: a repeat is not another seed."""
    groups: dict[str, dict] = {}
    for r in sorted(runs, key=lambda r: r.get("started") or "", reverse=True):
        listed = CONFIGURATIONS.get(r["experiment"])
        params = {k: v for k, v in config.seed_free(r["params"]).items() if k != listed}
        key = json.dumps([r["experiment"], r["profile"], params], sort_keys=True, default=str)
        groups.setdefault(key, {}).setdefault(r["params"].get("seed"), r)
    return [list(by_seed.values()) for by_seed in groups.values()]


def _differing(a: dict, b: dict, listed: str | None = None) -> list[str]:
    """The parameters two runs differ in, but for the seed and the configuration list (neither
    sets a configuration apart: `seed_groups`)."""
    keys = sorted((set(a) | set(b)) - {"seed", listed})
    return [k for k in keys if a.get(k) != b.get(k)][:6]


def combine(metrics: list[dict | None], seeds: list | None = None) -> dict | None:
    """One run's {value, low, high}; several seeds: their mean with a Student-t interval across
    seeds. Either way `per_seed` holds each seed's value ({seed: value}; `seeds` names them, in
    the order of `metrics`)."""
    seeds = seeds if seeds is not None else list(range(len(metrics)))
    pairs = [(s, m) for s, m in zip(seeds, metrics) if m is not None]
    if not pairs:
        return None
    per_seed = {str(s): m["value"] for s, m in pairs}
    if len(pairs) == 1:
        return {**pairs[0][1], "seeds": 1, "per_seed": per_seed}
    across = stats.t_interval(m["value"] for _, m in pairs)
    return {"value": across["value"], "low": across["low"], "high": across["high"],
            "n": pairs[0][1].get("n"), "seeds": len(pairs), "per_seed": per_seed}


def cell(m: dict | None, digits: int = 3) -> str:
    if m is None:
        return "-"
    seeds = f" ({m['seeds']} seeds)" if m.get("seeds", 1) > 1 else ""
    return interval_text(m, digits) + seeds


def _get(metrics: dict, path: str):
    for part in path.split("."):
        if not isinstance(metrics, dict) or part not in metrics:
            return None
        metrics = metrics[part]
    return metrics


def _column(values: list, raw: bool = False, seeds: list | None = None) -> str | float | dict | None:
    """One table cell from the same metric of every seed (`seeds`: theirs, in order): intervals
    as `cell` (`raw`: the combined {value, low, high, per_seed, ...} dict), plain numbers (e.g. a
    loss) as their mean."""
    seeds = seeds if seeds is not None else list(range(len(values)))
    pairs = [(s, v) for s, v in zip(seeds, values) if v is not None]
    values = [v for _, v in pairs]
    if values and all(isinstance(v, (int, float)) for v in values):
        return round(sum(values) / len(values), 4)
    combined = combine(values, [s for s, _ in pairs])
    return combined if raw else cell(combined)


def _rows(runs: list[dict], experiment: str, columns: dict[str, str], items=None,
          label=None, run_columns: dict[str, str] | None = None, raw: bool = False) -> list[dict]:
    """One row per configuration and item of its metrics.json (variants, methods, ... ;
    `items(metrics) -> {name: metrics}`, by default the whole file as one item).

    `columns` maps a column name to the dotted path of a metric inside an item, `run_columns` to
    one of the whole run; `label(run, item)` names the row (default: the item's name). Each row
    also lists its runs (`run_ids`); `raw` keeps cells as numbers and interval dicts."""
    items = items or (lambda m: {"": m})
    label = label or (lambda run, item: item)
    rows, made_by = [], {}
    for group in seed_groups(succeeded(runs, experiment)):
        of = {r["run_id"]: items(r["metrics"]) for r in group}  # each run's items, built once
        fullest = sorted(group, key=lambda r: -len(of[r["run_id"]]))  # its order first
        names = list(dict.fromkeys(name for r in fullest for name in of[r["run_id"]]))
        for item in names:
            # the seeds of this group that ran this item (a claims run has some of them)
            have = [r for r in group if item in of[r["run_id"]]]
            row = {"configuration": label(have[0], item), "profile": group[0]["profile"]}
            earlier = made_by.setdefault((row["profile"], row["configuration"]), have[0])
            if not any(earlier is r for r in group):
                raise ValueError(
                    f"{experiment}: two configurations give the row {row['configuration']!r}: "
                    f"runs {earlier['run_id']} and {have[0]['run_id']} differ in "
                    f"{_differing(earlier['params'], have[0]['params'], CONFIGURATIONS.get(experiment))}; "
                    "a table row comes from "
                    "one configuration (move an exploratory run out of outputs/<experiment>/, "
                    "e.g. to outputs/explorations/)")
            if raw:
                row["run_ids"] = [r["run_id"] for r in have]
            seeds = [r["params"].get("seed", 0) for r in have]
            for name, path in (run_columns or {}).items():
                row[name] = _column([_get(r["metrics"], path) for r in have], raw, seeds)
            for name, path in columns.items():
                row[name] = _column([_get(of[r["run_id"]][item], path) for r in have], raw, seeds)
            rows.append(row)
    return rows


def base_model_table(runs, raw=False):
    return _rows(runs, "base_model",
                 {"GSM8K-format": "GSM8K-format.accuracy",
                  "GSM8K-format paraphrase": "GSM8K-format paraphrase.accuracy",
                  "MC English": "MC English.accuracy",
                  "MC Yoruba": "MC Yoruba.accuracy", "GSM8K (real)": "GSM8K (real).accuracy",
                  "MMLU (letter log-prob)": "MMLU (real, letter log-prob).accuracy",
                  "MMLU (generated)": "MMLU (real, generated).accuracy"},
                 label=lambda r, _: r["params"].get("init_model") or "tiny (offline)", raw=raw)


# The study's published numbers shown beside ours (reason_lib/studies/pause_warmup_grid.csv).
STUDY_WARMUP_COLUMNS = {"study: test accuracy": "test_accuracy", "study: eval loss": "eval_loss",
                        "study: pauses / reply": "pauses",
                        "study: pauses (correct)": "pauses_correct",
                        "study: pauses (incorrect)": "pauses_incorrect"}


def pause_warmup_table(runs, raw=False):
    """The warm-up grid: accuracy before and after the warm-up and its paired change, pauses per
    reply (all / correct / incorrect), eval loss; and the study's own numbers for the
    configuration of the same name (Mistral-7B on real GSM8K: a different scale, shown for the
    pattern across rows, not to be matched)."""
    rows = _rows(runs, "pause_warmup",
                 {"before warm-up": "before", "test accuracy": "accuracy",
                  "Δ vs before": "difference", "pauses / reply": "pauses",
                  "pauses (correct)": "pauses_correct", "pauses (incorrect)": "pauses_incorrect",
                  "eval loss": "eval_loss.loss"},
                 label=lambda r, _: r["params"].get("config_name", "?"), raw=raw)
    study = studies.table("pause_warmup_grid")
    for row in rows:
        published = study.get(row["configuration"], {})
        for column, key in STUDY_WARMUP_COLUMNS.items():
            value = published.get(key)
            row[column] = value if raw or value is not None else "-"
    return rows


def _last_loop(item: dict) -> dict | None:
    """The last STaR loop's greedy test result (`tested_loops` always holds it), or None."""
    tested = item.get("tested_loops") or {}
    return tested[max(tested, key=int)] if tested else None


def _star_variant(metrics: dict, item: dict) -> dict:
    """A pause-STaR variant with its warm-up's greedy test result and its last loop's beside it:
    the best loop by validation may be loop 0, the warm-up itself (a Δ of 0 by construction), so
    the last loop against the warm-up is reported too."""
    warmup = (metrics.get("start") or {}).get(
        f"{'pause' if item.get('pauses') else 'no_pause'}/{item.get('method')}")
    return {**item, "warmup": warmup, "last_loop": _last_loop(item)}


def pause_star_table(runs, raw=False):
    """Per variant: its selected (best by validation) loop's greedy and sampled test accuracy
    and paired change against the warm-up, and its last loop's greedy accuracy beside the
    warm-up's (the claims compare those two over seeds)."""
    return _rows(runs, "pause_star",
                 {"test accuracy (greedy)": "test.accuracy", "Δ greedy vs warm-up": "difference",
                  "test accuracy (sampled)": "test_sampled.accuracy",
                  "Δ sampled vs warm-up": "difference_sampled", "pauses / reply": "test.pauses",
                  "warm-up (greedy)": "warmup.accuracy", "last loop (greedy)": "last_loop.accuracy"},
                 items=lambda m: {k: _star_variant(m, v) for k, v in m.get("variants", {}).items()},
                 raw=raw)


def star_mmlu_table(runs, raw=False):
    """Per run: the selected loop's test accuracy and paired change against the start model, and
    the last loop's accuracy beside the start model's (loop 0 of `tested_loops`)."""
    def item(v):
        return {**v, "start": (v.get("tested_loops") or {}).get("0"), "last_loop": _last_loop(v)}

    return _rows(runs, "star_mmlu",
                 {"test accuracy (eval language)": "test_eval.accuracy",
                  "Δ vs start": "difference", "English": "test.en.accuracy",
                  "Yoruba": "test.yo.accuracy", "start (eval language)": "start.accuracy",
                  "last loop (eval language)": "last_loop.accuracy"},
                 items=lambda m: {k: item(v) for k, v in m.get("runs", {}).items()}, raw=raw)


def perplexity_grpo_table(runs, raw=False):
    """One row per reward type (and the starting policy's row has no differences)."""
    return _rows(runs, "perplexity_grpo",
                 {"accuracy": "accuracy", "gold-answer perplexity": "gold_perplexity",
                  "Δ accuracy": "accuracy_difference", "Δ gold NLL": "gold_nll_difference"},
                 items=lambda m: {k: v for k, v in m.items()
                                  if isinstance(v, dict) and "gold_perplexity" in v}, raw=raw)


def reinforce_table(runs, level: int, raw=False):
    """One row per policy (SFT and each method) of the runs at reward-model `level`."""
    return _rows([r for r in runs if r["params"].get("level") == level], "reinforce_rm",
                 {"RM score": "reward", "gold score": "gold", "KL to SFT": "kl",
                  "repeated 3-grams": "repeated_ngrams"},
                 items=lambda m: m.get("policies", {}),
                 run_columns={"RM accuracy": "reward_model.accuracy"}, raw=raw)


# Every experiment's table, in the order of the summary and the reference results.
TABLES = {"base_model": base_model_table, "pause_warmup": pause_warmup_table,
          "pause_star": pause_star_table, "star_mmlu": star_mmlu_table,
          "perplexity_grpo": perplexity_grpo_table,
          "reinforce_rm_level1": lambda runs, raw=False: reinforce_table(runs, 1, raw),
          "reinforce_rm_level2": lambda runs, raw=False: reinforce_table(runs, 2, raw)}


def headline(run: dict) -> str:
    """One number per run for the index: the experiment's main metric."""
    m = run.get("metrics")
    if not m:
        return ""
    exp = run["experiment"]
    try:
        if exp == "base_model":
            return f"GSM8K-format {m['GSM8K-format']['accuracy']['value']:.3f}"
        if exp == "pause_warmup":
            return f"{m['config_name']}: accuracy {m['accuracy']['value']:.3f}"
        if exp == "pause_star":
            best = max(m["variants"].items(), key=lambda kv: kv[1]["test"]["accuracy"]["value"])
            return f"best {best[0]}: {best[1]['test']['accuracy']['value']:.3f}"
        if exp == "star_mmlu":
            return ", ".join(f"{k} {v['test_eval']['accuracy']['value']:.3f}" for k, v in m["runs"].items())
        if exp == "perplexity_grpo":
            return ", ".join(f"{k} acc {v['accuracy']['value']:.3f}" for k, v in m.items()
                             if isinstance(v, dict) and "gold_perplexity" in v)
        if exp == "evaluate":
            return "; ".join(f"{label}: " + ", ".join(f"{name} {v['accuracy']['value']:.3f}"
                                                      for name, v in by_set.items())
                             for label, by_set in m["models"].items())
        if exp == "reinforce_rm":
            return f"level {m['level']}: " + ", ".join(
                f"{k} RM {v['reward']['value']:.2f}" for k, v in m["policies"].items())
    except (KeyError, TypeError, ValueError):
        return "(metrics in an older format)"
    return ""


def write_index(runs: list[dict], path: Path | None = None) -> Path:
    """outputs/index.html: every run (experiment, profile, status, start, headline metric), linked
    to its HTML report."""
    root = Path(config.outputs_root())
    path = Path(path or root / "index.html")
    rows = []
    for r in runs:
        report = r["dir"] / "report.html"
        link = (f'<a href="{html.escape(str(report.relative_to(path.parent)))}">{html.escape(r["run_id"])}</a>'
                if report.is_file() else html.escape(r["run_id"]))
        rows.append(f'<tr class="{html.escape(r["status"])}"><td>{html.escape(r["experiment"])}</td>'
                    f"<td>{link}</td><td>{html.escape(r['profile'])}</td>"
                    f"<td>{html.escape(r['status'])}</td><td>{html.escape(str(r.get('started')))}</td>"
                    f"<td>{html.escape(headline(r))}</td></tr>")
    page = ("<!doctype html><meta charset='utf-8'><title>reason_lib runs</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}"
            "tr.failed{color:#a00}tr.interrupted{color:#b60}tr.running{color:#777}</style><h1>reason_lib runs</h1>"
            "<table><tr><th>experiment</th><th>run</th><th>profile</th><th>status</th>"
            "<th>started</th><th>headline</th></tr>" + "".join(rows) + "</table>")

    atomic_write(path, page)
    return path
