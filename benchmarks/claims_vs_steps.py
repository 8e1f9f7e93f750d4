"""What fewer policy-gradient steps would cost experiment D's claims, measured on the reference's
own runs (no training).

A REINFORCE / RLOO run's learning rate is constant and every step's prompts and samples are seeded
by (seed, step) (`reason_lib.train.reinforce`), so a run of s steps is exactly the first s steps
of a longer one (tests/test_reinforce.py) and its final evaluation is the point the longer run's
curve logged at step s (the curve's last point is the final evaluation, value for value). This
script puts each reference run's curve point at s in place of its final values, recomputes every
claim of results/<profile>.json (Holm over all of them, as the reference does) and prints D's
verdicts for each step count, with the share of the policies' training time it would save.

    python benchmarks/claims_vs_steps.py [--profile cpu]

The reference's D runs must be under outputs/reinforce_rm/ (the machine that made them, or
`make claims EXPERIMENTS="reinforce-rm-1 reinforce-rm-2"` and `make reference MERGE=1`).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reason_lib import claims as claims_mod  # noqa: E402
from reason_lib.config import outputs_root  # noqa: E402
from reason_lib.experiments.reinforce_rm.report import TABLES  # noqa: E402


def _value(v):
    return v["value"] if isinstance(v, dict) else v


def d_runs(reference: dict) -> dict[str, list[str]]:
    """{table: run ids} of the configurations of D's tables that a claim compares (one run trains
    SFT, the reward model and every method, so those rows share their runs)."""
    out = {}
    for key, ids in reference["runs"].items():
        table, configuration = key.split(" | ")[:2]
        if table in TABLES and configuration in claims_mod.compared(table):
            out.setdefault(table, set()).update(ids)
    return {t: sorted(ids) for t, ids in out.items()}


def run_curves(run_id: str) -> tuple[str, dict]:
    """(seed, {method: {step: point}}) of one D run, from its folder under the outputs root."""
    folder = outputs_root() / "reinforce_rm" / run_id
    if not (folder / "metrics.json").is_file():
        raise FileNotFoundError(f"{folder}/metrics.json: the reference's run {run_id} is not on this "
                                "machine (see this script's docstring)")
    manifest = json.loads((folder / "manifest.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    seed = str(manifest["seed"])
    return seed, {m: {p["step"]: p for p in curve} for m, curve in metrics["curves"].items()}


def at_steps(reference: dict, steps: int, curves: dict) -> dict:
    """The reference's metrics with every D policy's per-seed values replaced by its curve point
    at `steps` (the SFT row, step 0, stays)."""
    metrics = copy.deepcopy(reference["metrics"])
    for table, runs in curves.items():
        columns = TABLES[table]["columns"]
        for seed, by_method in runs:
            for method, points in by_method.items():
                if steps not in points:
                    raise ValueError(f"{table} | {method}: no curve point at step {steps} "
                                     f"(points at {sorted(points)})")
                for column, key in columns.items():
                    name = f"{table} | {method} | {column}"
                    if name in metrics and seed in (metrics[name].get("per_seed") or {}):
                        metrics[name]["per_seed"][seed] = _value(points[steps][key])
    return metrics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="cpu")
    args = ap.parse_args(argv)
    reference = json.loads((ROOT / "results" / f"{args.profile}.json").read_text())
    curves = {t: [run_curves(r) for r in ids] for t, ids in d_runs(reference).items()}
    if not curves:
        raise SystemExit(f"results/{args.profile}.json has no reinforce_rm runs")
    full = min(max(points) for runs in curves.values() for _, by in runs for points in by.values())
    steps = sorted({s for runs in curves.values() for _, by in runs for points in by.values()
                    for s in points if s > 0})
    reference_verdicts = {r["id"]: r["verdict"] for r in reference["claims"]}
    print(f"D's claims ({args.profile}, {sum(len(r) for r in curves.values())} runs) if the "
          f"policies had trained s of their {full} steps; Holm over all "
          f"{len(reference['claims'])} claims")
    keeps = []
    for s in sorted(steps, reverse=True):
        rows = [r for r in claims_mod.evaluate(at_steps(reference, s, curves))
                if r["id"].startswith("D-")]
        lost = [r["id"] for r in rows if r["verdict"] != reference_verdicts.get(r["id"])]
        print(f"\n{s} steps (policy time {s / full:.2f}x):")
        for r in rows:
            e = r["effect"]
            print(f"  {r['id']:24s} {e['value']:+.3f} [{e['low']:+.3f}, {e['high']:+.3f}] "
                  f"Holm {r['p_holm']:.3f}  {r['verdict']}")
        print("  verdicts as the reference" if not lost else "  changed: " + ", ".join(
            f"{i} ({reference_verdicts.get(i)} -> {next(r['verdict'] for r in rows if r['id'] == i)})"
            for i in lost))
        if not lost:
            keeps.append(s)
    fewest = min((s for s in keeps if all(k in keeps for k in steps if k >= s)), default=full)
    print(f"\nfewest policy steps keeping every D verdict: {fewest} of {full} "
          f"(policy time {fewest / full:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
