"""Every benchmark in this folder, one after the other; the results go to
outputs/bench/<run_id>/bench.json (what `make bench` runs).

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

from reason_lib.config import outputs_root  # noqa: E402
from reason_lib.runs import atomic_write  # noqa: E402

BENCHMARKS = ["trl_overhead", "pause_decode", "rollouts"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    extra = ["--model", args.model] if args.model else []
    results = {}
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        results[name] = importlib.import_module(name).main(extra)
    run_id = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    path = outputs_root() / "bench" / run_id / "bench.json"
    atomic_write(path, json.dumps(results, indent=2))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
