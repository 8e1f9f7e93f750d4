"""The summary across runs: every run folder under outputs/, the study-style table of each
experiment from its succeeded runs (seeds of one configuration aggregated), and outputs/index.html.

A metric of one run is a {value, low, high} dict (its own 95 % interval); runs that differ only in
their seed are aggregated into the mean over seeds with a 95 % interval across seeds.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import yaml

from reason_lib import config
from reason_lib.evaluate import mean_interval


def collect(root: Path | None = None) -> list[dict]:
    """Every run folder (`<root>/<experiment>/<run_id>/manifest.json`), newest first, with its
    params and, when present, its final metrics."""
    root = Path(root or config.outputs_root())
    found = []
    for manifest in root.glob("*/*/manifest.json"):
        folder = manifest.parent
        try:
            info = json.loads(manifest.read_text())
        except json.JSONDecodeError:
            continue
        metrics = folder / "metrics.json"
        params = folder / "params.yaml"
        found.append({**info, "dir": folder,
                      "params": yaml.safe_load(params.read_text()) if params.is_file() else {},
                      "metrics": json.loads(metrics.read_text()) if metrics.is_file() else None})
    return sorted(found, key=lambda r: r.get("started") or "", reverse=True)


def succeeded(runs: list[dict], experiment: str) -> list[dict]:
    return [r for r in runs if r["experiment"] == experiment and r["status"] == "succeeded"
            and r["metrics"] is not None]


def seed_groups(runs: list[dict]) -> list[list[dict]]:
    """Runs grouped by configuration: same experiment, profile and params but for the seed."""
    groups: dict[str, list[dict]] = {}
    for r in runs:
        key = json.dumps([r["experiment"], r["profile"],
                          {k: v for k, v in r["params"].items() if k != "seed"}], sort_keys=True,
                         default=str)
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def combine(metrics: list[dict | None]) -> dict | None:
    """One run's {value, low, high}; several seeds: their mean with an interval across seeds."""
    metrics = [m for m in metrics if m is not None]
    if not metrics:
        return None
    if len(metrics) == 1:
        return {**metrics[0], "seeds": 1}
    return {**mean_interval(m["value"] for m in metrics), "seeds": len(metrics)}


def cell(m: dict | None, digits: int = 3) -> str:
    if m is None:
        return "-"
    seeds = f" ({m['seeds']} seeds)" if m.get("seeds", 1) > 1 else ""
    return f"{m['value']:.{digits}f} [{m['low']:.{digits}f}, {m['high']:.{digits}f}]{seeds}"


def _get(metrics: dict, path: str):
    for part in path.split("."):
        if not isinstance(metrics, dict) or part not in metrics:
            return None
        metrics = metrics[part]
    return metrics


def _table(runs: list[dict], experiment: str, label, columns: dict[str, str]) -> list[dict]:
    """One row per configuration: `label(run)` names it; `columns` maps a column name to the
    dotted path of a {value, low, high} metric in metrics.json."""
    rows = []
    for group in seed_groups(succeeded(runs, experiment)):
        row = {"configuration": label(group[0]), "profile": group[0]["profile"]}
        for name, path in columns.items():
            row[name] = cell(combine([_get(r["metrics"], path) for r in group]))
        rows.append(row)
    return rows


def base_model_table(runs):
    return _table(runs, "base_model", lambda r: r["params"].get("init_model") or "tiny (offline)",
                  {"GSM8K-format": "GSM8K-format.accuracy", "MC English": "MC English.accuracy",
                   "MC Yoruba": "MC Yoruba.accuracy", "GSM8K (real)": "GSM8K (real).accuracy"})


def pause_warmup_table(runs):
    """The warm-up grid: accuracy, eval loss, pauses per reply (all / correct / incorrect)."""
    rows = _table(runs, "pause_warmup", lambda r: r["params"].get("config_name", "?"),
                  {"test accuracy": "accuracy", "pauses / reply": "pauses",
                   "pauses (correct)": "pauses_correct", "pauses (incorrect)": "pauses_incorrect"})
    losses = {}
    for group in seed_groups(succeeded(runs, "pause_warmup")):
        vals = [r["metrics"]["eval_loss"]["loss"] for r in group]
        losses[group[0]["params"].get("config_name", "?")] = sum(vals) / len(vals)
    for row in rows:
        row["eval loss"] = round(losses.get(row["configuration"], float("nan")), 4)
    return rows


def _per_item(runs, experiment, key, label, columns):
    """Rows for experiments whose metrics.json holds several items (variants, methods, runs)."""
    rows = []
    for group in seed_groups(succeeded(runs, experiment)):
        items = group[0]["metrics"].get(key, {})
        for item in items:
            row = {"configuration": label(group[0], item), "profile": group[0]["profile"]}
            for name, path in columns.items():
                row[name] = cell(combine([_get(r["metrics"].get(key, {}).get(item, {}), path)
                                          for r in group]))
            rows.append(row)
    return rows


def pause_star_table(runs):
    return _per_item(runs, "pause_star", "variants", lambda r, v: v,
                     {"test accuracy": "test.accuracy", "Δ vs warm-up": "difference",
                      "pauses / reply": "test.pauses"})


def star_mmlu_table(runs):
    return _per_item(runs, "star_mmlu", "runs", lambda r, v: v,
                     {"test accuracy (eval language)": "test_eval.accuracy",
                      "Δ vs start": "difference", "English": "test.en.accuracy",
                      "Yoruba": "test.yo.accuracy"})


def perplexity_grpo_table(runs):
    out = []
    for group in seed_groups(succeeded(runs, "perplexity_grpo")):
        for name, m in group[0]["metrics"].items():
            if not isinstance(m, dict) or "gold_perplexity" not in m:
                continue
            ms = [r["metrics"].get(name, {}) for r in group]
            out.append({"configuration": name, "profile": group[0]["profile"],
                        "accuracy": cell(combine([x.get("accuracy") for x in ms])),
                        "gold-answer perplexity": cell(combine([x.get("gold_perplexity") for x in ms])),
                        "Δ accuracy": cell(combine([x.get("accuracy_difference") for x in ms])),
                        "Δ gold NLL": cell(combine([x.get("gold_nll_difference") for x in ms]))})
    return out


def reinforce_table(runs, level: int):
    level_runs = [r for r in runs if r["params"].get("level") == level]
    rows = []
    for group in seed_groups(succeeded(level_runs, "reinforce_rm")):
        rm = combine([_get(r["metrics"], "reward_model.accuracy") for r in group])
        for policy in group[0]["metrics"].get("policies", {}):
            ps = [r["metrics"]["policies"].get(policy, {}) for r in group]
            rows.append({"configuration": policy, "profile": group[0]["profile"],
                         "RM accuracy": cell(rm),
                         "RM score": cell(combine([p.get("reward") for p in ps])),
                         "gold score": cell(combine([p.get("gold") for p in ps])),
                         "KL to SFT": cell(combine([p.get("kl") for p in ps])),
                         "repeated 3-grams": cell(combine([p.get("repeated_ngrams") for p in ps]))})
    return rows


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
            "tr.failed{color:#a00}tr.running{color:#777}</style><h1>reason_lib runs</h1>"
            "<table><tr><th>experiment</th><th>run</th><th>profile</th><th>status</th>"
            "<th>started</th><th>headline</th></tr>" + "".join(rows) + "</table>")
    from reason_lib.runs import atomic_write

    atomic_write(path, page)
    return path
