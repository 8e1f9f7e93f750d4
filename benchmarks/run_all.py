"""Every benchmark in this folder, one after the other; the results go to
outputs/bench/<run_id>/bench.json, and their ratios to results.json in the format of the reference
results (what `make bench` runs; `make reference PROFILE=bench RUN=outputs/bench/<run_id>/results.json`
makes them the README's benchmark table).

    python benchmarks/run_all.py [--model PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reason_lib import results as reference  # noqa: E402
from reason_lib.config import outputs_root  # noqa: E402
from reason_lib.runs import _git_commit, _now, atomic_write  # noqa: E402

BENCHMARKS = ["trl_overhead", "pause_decode", "rollouts"]
# (benchmark, key in its result, what the ratio compares): the rows of the README's table
RATIOS = [("trl_overhead", "ratio", "s/step of reason_lib's GRPO entry point / bare GRPOTrainer"),
          ("pause_decode", "ratio", "tokens/s of pause-LM decoding / generate"),
          ("rollouts", "ratio_vs_direct", "tokens/s of reason_lib.generate / generate called directly"),
          ("rollouts", "ratio_vs_one_at_a_time", "tokens/s of batched / one question at a time")]


def as_reference(results: dict, started: str) -> dict:
    """The ratios as a results file (`reason_lib.results`): one metric per ratio."""
    return {"profile": "bench", "started": started, "ended": _now(),
            "metrics": {reference.SEP.join(["benchmarks", f"{name}: {what}", "ratio"]):
                        round(results[name][key], 2) for name, key, what in RATIOS},
            "commits": [_git_commit()], "devices": sorted({r["device"] for r in results.values()})}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    extra = ["--model", args.model] if args.model else []
    results, started = {}, _now()
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        results[name] = importlib.import_module(name).main(extra)
    run_id = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    path = outputs_root() / "bench" / run_id / "bench.json"
    atomic_write(path, json.dumps(results, indent=2))
    reference.write_result(as_reference(results, started), path.parent, "results")
    print(f"written: {path} and results.json (`make reference PROFILE=bench RUN={path.parent}/results.json`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
