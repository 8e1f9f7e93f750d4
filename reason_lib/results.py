"""Reference results: every experiment's headline metrics from a set of runs as one compact,
diff-friendly file, the reproduction check against a committed reference, and the README's
result tables generated from it.

    python -m reason_lib.results begin <id>                  # `make reproduce` starts: note the time
    python -m reason_lib.results finish <id> --profile cpu   # ... ends: results.json, check table
    python -m reason_lib.results reference --profile cpu --run <id>   # commit it as the reference
    python -m reason_lib.results reference --profile smol     # the smol runs that succeeded
    python -m reason_lib.results reference --profile smol --merge   # ... and the older tables they lack
    python -m reason_lib.results check <id | results.json> [--reference results/cpu.json]
    python -m reason_lib.results claims --profile cpu        # recompute a reference's claims
    python -m reason_lib.results readme [--check]            # README and docs/ blocks from results/*.json

A metric is named `table | configuration | column` (the summary's tables) and holds its value and
95 % interval (`{value, low, high}`, over seeds when there are several, with each seed's value in
`per_seed`) or a plain number (a loss, a mean count). Values are rounded to 4 decimals, so two runs
that computed the same numbers write the same file. `claims` holds the studies' claims measured on
these metrics (`reason_lib.claims`). The check judges a run on the reference's kind of CPU by
identical numbers, on another kind by the reference seeds' prediction interval (`verdict`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

from reason_lib import claims, config, disk, estimate, plots, runs, stats, studies, summary
from reason_lib.progress import duration
from reason_lib.stats import interval_text

RESULTS_DIR = config.PROJ_ROOT / "results"
README = config.PROJ_ROOT / "README.md"
DIGITS = 4
SEP = " | "


def _round(m):
    if isinstance(m, dict):
        out = {k: round(v, DIGITS) if isinstance(v, float) else v for k, v in m.items()
               if k in ("value", "low", "high", "n", "seeds")}
        if m.get("per_seed"):
            out["per_seed"] = {s: round(v, DIGITS) for s, v in m["per_seed"].items()}
        return out
    return round(m, DIGITS) if isinstance(m, float) else m


def select(all_runs: list[dict], profile: str, since: str = "") -> list[dict]:
    """The runs a result is made of: `profile`'s runs started at or after `since` (ISO time; empty:
    all), and for an experiment with none since then, its newest succeeded run before (a reused
    base model), marked `reused`. `make summary` and `make evaluate` runs are not results of the
    profile (an evaluation scores models the experiments made; its own table is its report)."""
    mine = [r for r in all_runs if r["profile"] == profile
            and r["experiment"] not in ("summary", "evaluate")]
    if not since:
        return mine
    start = dt.datetime.fromisoformat(since)
    recent = [r for r in mine if dt.datetime.fromisoformat(r["started"]) >= start]
    have = {r["experiment"] for r in recent}
    for experiment in sorted({r["experiment"] for r in mine} - have):
        older = summary.succeeded(mine, experiment)
        if older:
            recent.append({**older[0], "reused": True})
    return recent


def gather(selected: list[dict]) -> dict:
    """{metrics, runs, wall_s, failed, reused, commits, code, devices, processors, packages} of the
    selected runs."""
    metrics, run_ids = {}, {}
    for table, rows_of in summary.TABLES.items():
        for row in rows_of(selected, raw=True):
            run_ids[f"{table}{SEP}{row['configuration']}"] = row["run_ids"]
            for column, value in row.items():
                if column in ("configuration", "profile", "run_ids") or value is None:
                    continue
                metrics[SEP.join([table, row["configuration"], column])] = _round(value)
    ok = [r for r in selected if r["status"] == "succeeded"]
    wall: dict[str, float] = {}
    for r in ok:
        if r.get("ended") and not r.get("reused"):
            took = (dt.datetime.fromisoformat(r["ended"]) - dt.datetime.fromisoformat(r["started"]))
            wall[r["experiment"]] = round(wall.get(r["experiment"], 0) + took.total_seconds())
    return {"metrics": metrics, "claims": claims.compact(claims.evaluate(metrics)),
            "runs": run_ids, "wall_s": wall,
            "failed": sorted(r["run_id"] for r in selected if r["status"] != "succeeded"),
            "reused": sorted(r["run_id"] for r in selected if r.get("reused")),
            "commits": sorted({r.get("git_commit", "unknown") for r in ok}),
            "code": sorted({r.get("code_hash", "unknown") for r in ok}),
            "devices": sorted({r.get("device", "unknown") for r in ok}),
            "processors": sorted({r.get("processor", "unknown") for r in ok}),
            "packages": ok[0].get("packages", {}) if ok else {}}


def merge(result: dict, earlier: dict) -> dict:
    """`result` completed by `earlier`'s configurations that `result` lacks (experiments not
    rerun, and rows a `make claims` run leaves out: a table's configurations no claim compares),
    with their runs and wall times; commits, code, devices and processors become the union, so
    the file says that its tables were measured at more than one commit."""
    def configuration(name):
        return SEP.join(name.split(SEP)[:2])

    have = {configuration(name) for name in result["metrics"]}
    tables = {name.split(SEP)[0] for name in have}
    kept = {k: v for k, v in earlier["metrics"].items() if configuration(k) not in have}
    out = {**result, "metrics": {**result["metrics"], **kept},
           "runs": {**result.get("runs", {}), **{k: v for k, v in earlier.get("runs", {}).items()
                                                if k not in have}},
           "wall_s": {**{k: v for k, v in earlier.get("wall_s", {}).items()  # not a whole reproduction's
                         if k != "reproduce" and not any(t.startswith(k) for t in tables)},
                      **result.get("wall_s", {})}}
    if kept:
        for key in ("commits", "code", "devices", "processors"):
            out[key] = sorted(set(result.get(key, [])) | set(earlier.get(key, [])))
        out["merged"] = sorted({k.split(SEP)[0] for k in kept})
    out["claims"] = claims.compact(claims.evaluate(out["metrics"]))
    return out


def claims_forest(stored: list[dict], path, title: str = ""):
    """The forest plot of the measured claims (`plots.forest`): our effect over seeds beside the
    study's number."""
    rows = [(r["id"], r["effect"]["value"], r["effect"]["low"], r["effect"]["high"],
             r["study_number"]) for r in stored if r["effect"] is not None]
    return plots.forest(rows, path, title=title,
                        xlabel="effect, treatment − control (each claim's own units)")


def dumps(result: dict) -> str:
    """JSON with one metric (and one run list) per line: a changed number is a one-line diff."""
    lines = ["{"]
    keys = list(result)
    for i, key in enumerate(keys):
        value, comma = result[key], "," if i < len(keys) - 1 else ""
        if isinstance(value, dict) and value and key in ("metrics", "runs", "wall_s"):
            inner = [f"    {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                     for k, v in value.items()]
            lines.append(f"  {json.dumps(key)}: {{\n" + ",\n".join(inner) + f"\n  }}{comma}")
        elif isinstance(value, list) and value and key == "claims":
            inner = [f"    {json.dumps(v, ensure_ascii=False)}" for v in value]
            lines.append(f"  {json.dumps(key)}: [\n" + ",\n".join(inner) + f"\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join(lines + ["}"]) + "\n"


def load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no results file")
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(result.get("metrics"), dict):
        raise ValueError(f"{path}: no 'metrics' mapping")
    return result


# -- the reproduction check -----------------------------------------------------------------------
# Columns whose values are fixed only up to a shift: a Bradley-Terry reward model's scores move by
# a constant from one trained reward model to the next, so across CPU kinds they are compared as
# gains over the named row of the same table and seed, never as levels.
SHIFT_ONLY = {"RM score": "sft"}
# What may fail a reproduction: a metric off its reference, missing, or a claim's verdict flipped.
FAILING = ("differs", "outside", "missing", "flipped")


def _cell(m, digits: int = 4) -> str:
    if m is None:
        return "-"
    if isinstance(m, dict) and m.get("low") is None:
        return f"{m['value']:.{digits}f}"
    return interval_text(m, digits) if isinstance(m, dict) else f"{m:g}"


def relative(metrics: dict) -> dict:
    """`metrics` with every SHIFT_ONLY column replaced by its gain over the named row, seed by
    seed (the row itself dropped: its gain is 0 by definition)."""
    out = {}
    for name, m in metrics.items():
        parts = name.split(SEP)
        table, configuration, column = parts if len(parts) == 3 else ("", "", "")
        base_row = SHIFT_ONLY.get(column)
        if base_row is None or not isinstance(m, dict):
            out[name] = m
            continue
        if configuration == base_row:
            continue
        base = claims.per_seed(metrics, SEP.join([table, base_row, column]))
        if base is None:
            continue
        gains = stats.differences(claims.seed_values(m), base)
        if gains:
            out[SEP.join([table, configuration, f"{column} gain over {base_row}"])] = _seeded(gains)
    return out


def _seeded(values: dict) -> dict:
    """A metric made of per-seed values ({seed: value}): their mean and the values."""
    return {"value": sum(values.values()) / len(values), "per_seed": values}


def with_claim_effects(result: dict) -> dict:
    """The metrics of a results file plus each measured claim's per-seed effect as a metric
    (`claims | <id> | effect`), so a reproduction judges a claim's size like any number."""
    out = dict(result["metrics"])
    for c in result.get("claims") or claims.compact(claims.evaluate(result["metrics"])):
        if c.get("per_seed"):
            out[SEP.join(["claims", c["id"], "effect"])] = _seeded(c["per_seed"])
    return out


def same_kind(result: dict, reference: dict) -> bool:
    """Where identical numbers are expected: both measured on the same kind of CPU (and torch's
    kernels for it), by the same code (every code hash of `result` among the reference's; a file
    that records none counts as the same). Code changed since the reference (a faster batching,
    say) computes other floats even where it means the same: its numbers are judged, as on
    another kind of CPU, by the reference seeds' prediction interval."""
    mine, theirs = result.get("code"), reference.get("code")
    same_code = not mine or not theirs or set(mine) <= set(theirs)
    return result.get("processors") == reference.get("processors") and same_code


def verdict(this, reference, same: bool = True) -> str:
    """One metric's verdict. On the reference's kind of CPU: identical (every seed both ran gives
    the same number) or differs. On another kind: predicted (this run's mean lies inside the
    reference seeds' 95 % prediction interval for a mean of as many seeds, t with n - 1 degrees
    of freedom), outside, or unjudged (the reference has one seed: no spread to predict from);
    `compare` then adjusts for the many metrics judged at once. Either way: missing (the
    reference has it, this run not) or new."""
    if reference is None:
        return "new"
    if this is None:
        return "missing"
    if not isinstance(reference, dict) or not isinstance(this, dict):
        return "identical" if this == reference else ("differs" if same else "unjudged")
    ref_seeds, this_seeds = claims.seed_values(reference), claims.seed_values(this)
    common = [s for s in this_seeds if s in ref_seeds]
    if same and common:
        return "identical" if all(this_seeds[s] == ref_seeds[s] for s in common) else "differs"
    p = _prediction_p(this, reference)
    if p is None:
        return "unjudged"
    return "predicted" if p >= stats.ALPHA else "outside"


def prediction_ps(mine: dict, theirs: dict) -> dict:
    """{metric: p} of every metric judged by prediction (another kind of CPU): how surprising
    this run's mean is under the reference's seeds (`stats.prediction_p`)."""
    ps = {k: _prediction_p(mine.get(k), ref) for k, ref in theirs.items()
          if isinstance(ref, dict) and isinstance(mine.get(k), dict)}
    return {k: p for k, p in ps.items() if p is not None}


def _prediction_p(this: dict, reference: dict) -> float | None:
    """`stats.prediction_p` of this run's seeds under the reference's, within rounding."""
    return stats.prediction_p(claims.seed_values(reference).values(),
                              claims.seed_values(this).values(), slack=10 ** -DIGITS)


def compare(result: dict, reference: dict) -> list[dict]:
    """One row per metric of either file (SHIFT_ONLY columns as gains on another kind of CPU),
    then one per claim whose verdict both files give: reference, this run, verdict.

    On another kind of CPU every metric with seeds is a test of "this run comes from the same
    process", and a reference has a hundred or more: at 95 % each, about one in twenty of an
    honest rerun's numbers would fall outside by chance, and the check would almost never pass.
    So the prediction p-values are Holm-adjusted over the metrics judged (family-wise 5 %): a
    number is **outside** only when it stays significant after the adjustment."""
    same = same_kind(result, reference)
    mine, theirs = with_claim_effects(result), with_claim_effects(reference)
    if not same:
        mine, theirs = relative(mine), relative(theirs)
    names = list(theirs) + [k for k in mine if k not in theirs]
    rows = [{"metric": k, "reference": theirs.get(k), "this": mine.get(k),
             "verdict": verdict(mine.get(k), theirs.get(k), same)} for k in names]
    if not same:
        adjusted = stats.holm(prediction_ps(mine, theirs))
        for r in rows:
            if r["metric"] in adjusted:
                r["p_holm"] = adjusted[r["metric"]]
                r["verdict"] = "predicted" if adjusted[r["metric"]] >= stats.ALPHA else "outside"
    if result.get("claims_only"):  # make claims: the configurations and the measurements no
        # claim reads were cut (`claims.claims_overrides`); a number a claim reads stays missing
        read = {}
        for r in rows:
            table, configuration, column = (r["metric"].split(SEP) + ["", ""])[:3]
            if r["verdict"] == "missing" and (configuration, column) not in read.setdefault(
                    table, claims.read(table)):
                r["verdict"] = "left out"
    ours = {c["id"]: c["verdict"] for c in result.get("claims") or []}
    for c in reference.get("claims") or []:
        a, b = c["verdict"], ours.get(c["id"])
        if a in ("reproduced", "opposite", "null") and b in ("reproduced", "opposite", "null"):
            rows.append({"metric": SEP.join(["claims", c["id"], "verdict"]), "reference": a,
                         "this": b, "verdict": "same verdict" if a == b else "flipped"})
    return rows


def check_table(rows: list[dict], result: dict, reference: dict) -> str:
    """The comparison as a markdown table, with the counts per verdict and what differs in setup."""
    kinds = ("identical", "differs", "predicted", "outside", "unjudged", "missing", "left out", "new",
             "same verdict", "flipped")
    counts = {v: sum(r["verdict"] == v for r in rows) for v in kinds}
    out = ["| metric | reference | this run | verdict |", "|---|---|---|---|"]
    out += [f"| {r['metric']} | {r['reference'] if isinstance(r['reference'], str) else _cell(r['reference'])} | "
            f"{r['this'] if isinstance(r['this'], str) else _cell(r['this'])} | "
            f"{'**' + r['verdict'] + '**' if r['verdict'] in FAILING else r['verdict']} |"
            for r in rows]
    out.append("")
    same = same_kind(result, reference)
    where = ("another kind of CPU than the reference's"
             if result.get("processors") != reference.get("processors")
             else "code other than the reference's")
    out.append(("judged on the reference's kind of CPU and code: every seed both ran must give "
                "identical numbers" if same else
                f"judged on {where}: each number against the reference seeds' prediction "
                "interval, Holm-adjusted over the numbers judged (reward-model scores as gains "
                "over SFT)"))
    out.append("reproduction check: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n))
    if counts["left out"]:
        out.append(f"  {counts['left out']} left out: configurations and measurements no claim "
                   "reads, which a `make claims` run does not run")
    if counts["unjudged"]:
        out.append(f"  {counts['unjudged']} unjudged: the reference has one seed for them, so "
                   "there is no spread to predict another kind of CPU from (`make claims` "
                   "makes a reference over seeds)")
    for key in ("commits", "code", "devices", "processors", "packages"):
        if result.get(key) != reference.get(key):
            out.append(f"  {key} differ: reference {reference.get(key)}, this run {result.get(key)}")
    if result.get("failed"):
        out.append(f"  failed runs: {', '.join(result['failed'])}")
    return "\n".join(out) + "\n"


def passed(rows: list[dict]) -> bool:
    return not any(r["verdict"] in FAILING for r in rows)


# -- markdown: results/<profile>.md and the README blocks ------------------------------------------
def markdown(result: dict, with_claims: bool = True) -> str:
    """Every table of a results file in markdown: one row per configuration; its claims first
    (`with_claims`; the README shows them in a block of their own)."""
    tables: dict[str, dict[str, dict]] = {}
    for name, m in result["metrics"].items():
        table, configuration, column = name.split(SEP)
        tables.setdefault(table, {}).setdefault(configuration, {})[column] = m
    intervals = any(isinstance(m, dict) for m in result["metrics"].values())
    out = [f"Profile `{result.get('profile', '?')}`; commit "
           f"{', '.join(c[:12] + ('-dirty' if c.endswith('-dirty') else '') for c in result.get('commits', []))}; "
           f"{', '.join(result.get('devices', []))}"
           + (f"; reproduction {result['reproduction']}" if result.get("reproduction") else "")
           + (". 95 % intervals; Δ are paired changes (gained / lost items in the run reports)."
              if intervals else ".")]
    if result.get("wall_s"):
        out += ["", "Wall time (each experiment's runs summed): "
                + ", ".join(f"{k} {duration(v)}" for k, v in result["wall_s"].items())
                + (" (runs side by side share the cores)" if "reproduce" in result["wall_s"] else "")
                + "."]
    if with_claims and result.get("claims"):
        out += ["", "**claims** (reason_lib/studies/claims.yaml; effects paired by seed, Holm over "
                "the claims with two or more seeds)", "", claims.table(result["claims"]).rstrip()]
    for table, rows in tables.items():
        columns = list(dict.fromkeys(c for row in rows.values() for c in row))
        out += ["", f"**{table}**", "", "| configuration | " + " | ".join(columns) + " | runs |",
                "|---" * (len(columns) + 2) + "|"]
        for configuration, row in rows.items():
            ids = result.get("runs", {}).get(f"{table}{SEP}{configuration}", [])
            cells = [_cell(row.get(c), 3) for c in columns]
            out.append(f"| {configuration} | " + " | ".join(cells) + f" | {', '.join(ids)} |")
    return "\n".join(out) + "\n"


BLOCK = re.compile(r"(<!-- results:(\w+) begin[^>]*-->\n)(.*?)(<!-- results:\2 end -->)", re.S)


def documents() -> list[Path]:
    """README.md and the docs/ pages beside it: where generated blocks live."""
    return [README, *sorted((README.parent / "docs").glob("*.md"))]


def readme_text(text: str, results_dir: Path = RESULTS_DIR, root: str = "") -> str:
    """A document (README.md or a docs/ page) with every `<!-- results:<profile> begin -->` block
    regenerated from `results/<profile>.json`, the `results:estimate` block from
    `reason_lib.estimate` and the `results:studies` block (the study-to-parameter map) from
    `reason_lib.studies`; `root`: the path from the document to the project ("../" in docs/)."""
    generated = {"estimate": estimate.table, "studies": studies.settings_map}

    def block(m):
        name = m.group(2)
        if name in generated:
            body = generated[name]()
        elif name.startswith("claims_"):
            body = claims_block(name.removeprefix("claims_"), results_dir, root)
        else:
            body = markdown(load(results_dir / f"{name}.json"), with_claims=False)
        return m.group(1) + body + m.group(4)

    return BLOCK.sub(block, text)


def regenerate(check: bool = False) -> list[Path]:
    """Every document's generated blocks made current (`check`: nothing written); the documents
    whose blocks were not."""
    stale = []
    for path in documents():
        text = path.read_text()
        root = "" if path.parent == README.parent else "../"
        new = readme_text(text, root=root)
        if new != text:
            stale.append(path)
            if not check:
                disk.atomic_write(path, new)
    return stale


def claims_block(profile: str, results_dir: Path = RESULTS_DIR, root: str = "") -> str:
    """A claims block of a profile: its claims table and forest plot."""
    result = load(results_dir / f"{profile}.json")
    stored = result.get("claims") or claims.compact(claims.evaluate(result["metrics"]))
    seeds = max((c["effect"]["n"] for c in stored if c["effect"]), default=0)
    return (f"Profile `{profile}`, at most {seeds} seed{'s' * (seeds != 1)} per claim "
            f"(`results/{profile}.json`).\n\n" + claims.table(stored)
            + f"\n![claims, {profile}]({root}results/{profile}-claims.png)\n")


def write_result(result: dict, folder: Path, name: str) -> Path:
    """`<folder>/<name>.json`, its rendering `<folder>/<name>.md` and its claims' forest plot
    `<folder>/<name>-claims.png`."""
    disk.atomic_write(folder / f"{name}.json", dumps(result))
    disk.atomic_write(folder / f"{name}.md", markdown(result))
    if result.get("claims"):
        claims_forest(result["claims"], folder / f"{name}-claims.png",
                      title=f"The studies' claims, profile {result.get('profile', name)}")
    return folder / f"{name}.json"


def reproduction_dir(rid: str) -> Path:
    return config.outputs_root() / "reproduce" / rid


def _resolve(target: str) -> Path:
    """A reproduction id (outputs/reproduce/<id>) or a results file."""
    folder = reproduction_dir(target)
    return folder / "results.json" if folder.is_dir() else Path(target)


def check(target: str, reference: str) -> bool:
    result, ref = load(_resolve(target)), load(reference)
    rows = compare(result, ref)
    text = check_table(rows, result, ref)
    folder = _resolve(target).parent
    if folder.is_dir() and os.access(folder, os.W_OK):
        disk.atomic_write(folder / "check.md", text)
    print(text)
    return passed(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reason_lib.results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("begin", help="note the start of a reproduction")
    p.add_argument("id")
    p.add_argument("--claims", action="store_true", help="a `make claims` run: only the "
                   "configurations the claims compare")
    p = sub.add_parser("finish", help="results of a reproduction and its check")
    p.add_argument("id")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--reference", default="")
    p = sub.add_parser("reference", help="make a reproduction's results (or, without --run, those "
                       "of the profile's newest runs) the committed reference, then the README")
    p.add_argument("--profile", required=True)
    p.add_argument("--run", default="", help="a reproduction id (outputs/reproduce/<id>)")
    p.add_argument("--merge", action="store_true", help="keep the committed reference's tables "
                   "of experiments these runs do not have (rerun part of a profile)")
    p = sub.add_parser("check", help="compare a reproduction or results file with a reference")
    p.add_argument("target")
    p.add_argument("--reference", default=str(RESULTS_DIR / "cpu.json"))
    p = sub.add_parser("claims", help="recompute the claims of results/<profile>.json from its "
                       "metrics (after reason_lib/studies/claims.yaml changed), then the README")
    p.add_argument("--profile", required=True)
    p = sub.add_parser("readme", help="regenerate the README's result blocks")
    p.add_argument("--check", action="store_true", help="only say whether they are current")
    args = parser.parse_args(argv)
    try:
        return _command(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _begin(args) -> int:
    folder = reproduction_dir(args.id)
    folder.mkdir(parents=True, exist_ok=False)  # a reproduction never overwrites another
    disk.atomic_write(folder / "reproduction.json", json.dumps(
        {"id": args.id, "started": runs._now(), "git_commit": runs._git_commit(),
         "threads": os.environ.get("OMP_NUM_THREADS"), "claims_only": args.claims}, indent=2))
    print(f"reproduction {args.id}: {folder}")
    return 0


def _finish(args) -> int:
    folder = reproduction_dir(args.id)
    info = json.loads((folder / "reproduction.json").read_text())
    result = {"profile": args.profile, "reproduction": args.id, "started": info["started"],
              "ended": runs._now(), **({"claims_only": True} if info.get("claims_only") else {}),
              **gather(select(summary.collect(), args.profile, info["started"]))}
    result["wall_s"]["reproduce"] = round((dt.datetime.fromisoformat(result["ended"]) -
                                           dt.datetime.fromisoformat(info["started"])).total_seconds())
    path = write_result(result, folder, "results")
    print(f"results: {path}")
    reference = Path(args.reference or RESULTS_DIR / f"{args.profile}.json")
    if not reference.is_file():
        print(f"no reference {reference} yet: `make reference RUN={args.id}` makes this one it")
        return 0
    return 0 if check(args.id, str(reference)) else 1


def _reference(args) -> int:
    if args.run:
        result = load(_resolve(args.run))
        if result.get("profile") != args.profile:
            raise ValueError(f"{args.run}: a {result.get('profile')} reproduction, not {args.profile}")
    else:  # a reference is made of finished runs: a failed or still running one is left out
        chosen = select(summary.collect(), args.profile)
        for r in chosen:
            if r["status"] != "succeeded":
                print(f"left out: {r['experiment']} {r['run_id']} ({r['status']})")
        result = {"profile": args.profile,
                  **gather([r for r in chosen if r["status"] == "succeeded"])}
    earlier = RESULTS_DIR / f"{args.profile}.json"
    if args.merge and earlier.is_file():
        result = merge(result, load(earlier))
        print(f"kept from {earlier.name}: {', '.join(result.get('merged', [])) or 'nothing'}")
    print(f"reference: {write_result(result, RESULTS_DIR, args.profile)}")
    regenerate()
    print("README.md and docs/: result blocks regenerated")
    return 0


def _claims(args) -> int:
    path = RESULTS_DIR / f"{args.profile}.json"
    result = load(path)
    result["claims"] = claims.compact(claims.evaluate(result["metrics"]))
    write_result(result, RESULTS_DIR, args.profile)
    print(claims.table(result["claims"]), end="")
    regenerate()
    print(f"{path}: claims recomputed; README.md and docs/: result blocks regenerated")
    return 0


def _readme(args) -> int:
    stale = regenerate(check=args.check)
    if args.check:
        for path in stale:
            print(f"{path.name}'s result blocks differ from results/*.json: run `make readme`")
        if not stale:
            print("README.md's and docs/'s result blocks are current")
        return 1 if stale else 0
    print("README.md and docs/: result blocks regenerated from results/*.json")
    return 0


COMMANDS = {"begin": _begin, "finish": _finish, "reference": _reference,
            "check": lambda args: 0 if check(args.target, args.reference) else 1,
            "claims": _claims, "readme": _readme}


def _command(args) -> int:
    return COMMANDS[args.command](args) if args.command in COMMANDS else 2

if __name__ == "__main__":
    sys.exit(main())
