"""The summary across runs: every run folder under outputs/, the study-style table of each
experiment from its succeeded runs (seeds of one configuration aggregated), and outputs/index.html.

A metric of one run is a {value, low, high} dict (its own 95 % interval); runs that differ only in
their seed are aggregated into the mean over seeds with a 95 % Student-t interval across seeds
(`reason_lib.stats`), and each seed's value is kept (`per_seed`) for the claims, which pair a
treatment with its control seed by seed.
"""

from __future__ import annotations

import functools
import html
import json
from pathlib import Path

from reason_lib import config, stats
from reason_lib.disk import atomic_write
from reason_lib.reports import CONFIGURATIONS, REPORTS
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
    for the list of an experiment's configurations (`reports.CONFIGURATIONS`: variants, runs,
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


# {table: (experiment, its spec)} from each experiment's report, in the order of REPORTS.
SPECS = {name: (experiment, spec) for experiment, report in REPORTS.items()
         for name, spec in report.TABLES.items()}


def table(name: str, runs: list[dict], raw: bool = False) -> list[dict]:
    """The rows of table `name` (an experiment, or reinforce_rm_level1 / _level2) from `runs`, as
    its report module specifies them: `columns`, `items`, `label`, `run_columns` (`_rows`), the
    runs it takes (`select`) and a last touch to its rows (`finish`)."""
    experiment, spec = SPECS[name]
    select, finish = spec.get("select"), spec.get("finish")
    rows = _rows([r for r in runs if select is None or select(r)], experiment, spec["columns"],
                 spec.get("items"), spec.get("label"), spec.get("run_columns"), raw)
    return finish(rows, raw) if finish else rows


TABLES = {name: functools.partial(table, name) for name in SPECS}


def headline(run: dict) -> str:
    """One number per run for the index: the experiment's main metric."""
    m, report = run.get("metrics"), REPORTS.get(run["experiment"])
    if not m or report is None:
        return ""
    try:
        return report.headline(m)
    except (KeyError, TypeError, ValueError):
        return "(metrics in an older format)"


INDEX_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} p.top{margin:.5em 0 1.5em}
table{border-collapse:collapse;font-size:.9em}
th,td{padding:4px 10px;text-align:left;border-bottom:1px solid #e4e4e4;white-space:nowrap}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0} th:hover{background:#e8e8e8}
td.headline{max-width:30em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.status{font-weight:600} tr.succeeded .status{color:#176b2c} tr.failed .status{color:#a00}
tr.interrupted .status{color:#b60} tr.running .status{color:#777}
"""

# Click a column's header to sort by it (again: the other way); no network, no library.
INDEX_SCRIPT = """
document.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0], rows = Array.from(body.rows);
  const up = th.dataset.up !== '1'; th.dataset.up = up ? '1' : '0';
  rows.sort((a, b) => a.cells[col].innerText.localeCompare(b.cells[col].innerText,
                                                           undefined, {numeric: true}) * (up ? 1 : -1));
  rows.forEach(r => body.appendChild(r));
}));
"""


def _link(report: Path, text: str, base: Path) -> str:
    if not report.is_file():
        return html.escape(text)
    return f'<a href="{html.escape(str(report.relative_to(base)))}">{html.escape(text)}</a>'


def write_index(runs: list[dict], path: Path | None = None) -> Path:
    """outputs/index.html: the newest succeeded summary among `runs` linked on top, then every
    other run (experiment, run id linked to its report, profile, seed, status, start, headline
    numbers), sortable by any column; a long headline is cut, in full on hover. The CLI rewrites
    it whenever a run ends (`refresh_index`), so the statuses are current."""
    root = Path(config.outputs_root())
    path = Path(path or root / "index.html")
    summaries = succeeded(runs, "summary")
    runs = [r for r in runs if r["experiment"] != "summary"]
    rows = []
    for r in runs:
        line = headline(r)
        seed = r["params"].get("seed", "")
        rows.append(f'<tr class="{html.escape(r["status"])}"><td>{html.escape(r["experiment"])}</td>'
                    f"<td>{_link(r['dir'] / 'report.html', r['run_id'], path.parent)}</td>"
                    f"<td>{html.escape(r['profile'])}</td><td>{html.escape(str(seed))}</td>"
                    f"<td class='status'>{html.escape(r['status'])}</td>"
                    f"<td>{html.escape(str(r.get('started') or '')[:19].replace('T', ' '))}</td>"
                    f"<td class='headline' title='{html.escape(line)}'>{html.escape(line)}</td></tr>")
    newest = summaries[0] if summaries else None
    report = _link(newest["dir"] / "report.html", "summary report", path.parent) if newest else ""
    top = (f"Every experiment's table: the {report} ({html.escape(newest['run_id'])})." if newest else
           "No summary yet: <code>make summary</code> writes one.")
    counts = ", ".join(f"{sum(r['status'] == s for r in runs)} {s}"
                       for s in ("succeeded", "failed", "interrupted", "running")
                       if any(r["status"] == s for r in runs))
    page = ("<!doctype html><meta charset='utf-8'><title>reason_lib runs</title>"
            f"<style>{INDEX_STYLE}</style><h1>reason_lib runs</h1>"
            f"<p class='top'>{top} {len(runs)} runs ({counts}), newest first; click a column to "
            "sort.</p><table><thead><tr><th>experiment</th><th>run</th><th>profile</th>"
            "<th>seed</th><th>status</th><th>started</th><th>headline</th></tr></thead><tbody>"
            + "".join(rows) + f"</tbody></table><script>{INDEX_SCRIPT}</script>")
    atomic_write(path, page)
    return path


def refresh_index(root: Path | None = None) -> Path:
    """Rewrite `<root>/index.html` from every run folder under `root` (outputs/ by default)."""
    root = Path(root or config.outputs_root())
    return write_index(collect(root), root / "index.html")
