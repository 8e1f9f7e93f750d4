"""The studies' own published tables, copied verbatim, so a summary can show their numbers beside
ours and a test can hold our configurations to theirs.

- `pause_warmup_grid.csv`: the pause study's warm-up ablation (its experiments README, "Warming up
  the pause token on random pauses on GSM8K": the table of what each configuration unfreezes and
  its Results table; Mistral-7B, GSM8K test set). Flags: 1 = trainable. Its two no-pause
  baselines, "baseline (model w/out pause; peft) 1 epoch / 2 epoch", are named
  `baseline_peft_1_epoch` / `baseline_peft_2_epochs` here; they have no eval loss. The study's
  row `sft_fr_pembed` repeats the pause counts of `sft_fr_phead_unfr_lm_head_embed` (365.44 /
  56.37 / 391.62) in its own table, most likely a copying slip there; copied as published.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from reason_lib import config

HERE = Path(__file__).parent
FLAGS = ("pause_embedding", "pause_head", "lm_head", "lm_embeddings", "lora")


def table(name: str) -> dict[str, dict]:
    """A study table by file stem, as {row name: {column: value}}: flags as bools, numbers as
    floats, an empty cell (not reported) as None."""
    path = HERE / f"{name}.csv"
    if not path.is_file():
        known = sorted(p.stem for p in HERE.glob("*.csv"))
        raise FileNotFoundError(f"no study table {name!r} ({path}); known: {known}")
    rows = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            label = row.pop("name")
            rows[label] = {k: (v == "1") if k in FLAGS else (float(v) if v else None)
                          for k, v in row.items()}
    return rows


def settings_map() -> str:
    """The study-to-parameter map as markdown: one table per study (settings.yaml), each setting's
    value in the study beside our parameter's value in the cpu, smol and gpu profiles (read from
    params/, so the README never drifts from them)."""
    studies = yaml.safe_load((HERE / "settings.yaml").read_text())
    out = []
    for experiment, study in studies.items():
        profiles = {p: config.load_params(experiment, p)
                    for p in ("cpu", "smol", "gpu")}
        out += ["", f"**{study['title']}**", "",
                "| setting | study | parameter | cpu | smol | gpu | why ours differs |",
                "|---|---|---|---|---|---|---|"]
        for row in study["rows"]:
            values = [_shown(getattr(profiles[p], row["param"])) for p in profiles]
            out.append(f"| {row['setting']} | {row['study']} | `{row['param']}` | "
                       + " | ".join(values) + f" | {row.get('why', '')} |")
    return "\n".join(out[1:]) + "\n"


def _shown(value) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    if text == "":
        return "-"
    text = text.replace("|", "\\|")
    return f"`{text}`" if len(text) < 60 else f"`{text[:57]}...`"
