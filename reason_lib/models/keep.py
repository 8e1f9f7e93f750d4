"""Every run keeps what it trained: a final policy saved in the run folder, with a card.

`keep_model(run, name, model, tokenizer, parent, description)` writes `<run>/models/<name>/` as soon
as training ends, before any evaluation (`record_evaluation` adds the run's measurements to the card
afterwards):
- a LoRA policy (a peft model) as a delta checkpoint on `parent` (`reason_lib.models.delta`):
  the adapter only, reloaded attached as the run evaluated it, so the reload reproduces the run's
  greedy replies exactly;
- a fully trained policy as an ordinary `save_pretrained` folder (safetensors);
- the tokenizer, and `MODEL.md`: what the model is, its run, how to load it with reason_lib or
  with transformers / peft alone, and what the run measured of it.

`python -m reason_lib.models.keep export <folder> <out>` (`make export`) writes a merged copy
(plain weights any `from_pretrained` loads).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from reason_lib.config import PROJ_ROOT
from reason_lib.disk import atomic_write
from reason_lib.make_args import with_make_args
from reason_lib.models.delta import DELTA, is_delta, lineage, save_delta
from reason_lib.models.load import load_model, load_tokenizer

CARD = "MODEL.md"


def is_peft(model) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model")


def keep_model(run, name: str, model, tokenizer, parent, description: str,
               evaluation: dict | None = None, kind: str = "causal") -> Path:
    """Save `model` (trained from `parent`, a path or Hub id) as `<run>/models/<name>`; its path.

    `evaluation`: what the run measured of this model (shown on the card); `kind`: `causal` (a
    policy) or `reward` (a sequence-classification reward model). A resumed run that keeps the
    same name again replaces its own earlier copy; the folder appears only once complete."""
    if kind not in ("causal", "reward"):
        raise ValueError(f"keep_model kind {kind!r}: expected 'causal' or 'reward'")
    folder = Path(run.dir) / "models" / name
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    lora = is_peft(model)
    if lora:  # tmp is folder's sibling: the parent's relative path is the same from either
        save_delta(tmp, parent, [model], merge=False)
    else:
        model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / CARD).write_text(card(folder, run, name, parent, description, lora, evaluation, kind))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def _shown(path) -> str:
    """A path as the card shows it: relative to the repository root when inside it
    (`outputs/...`, to run from there), else absolute; a Hub id stays an id."""
    local = Path(str(path))
    if not (local.is_absolute() or local.exists()):
        return str(path)

    local = local.resolve()
    return str(local.relative_to(PROJ_ROOT)) if local.is_relative_to(PROJ_ROOT) else str(local)


def card(folder: Path, run, name: str, parent, description: str, lora: bool,
         evaluation: dict | None, kind: str = "causal") -> str:
    """The model card: Markdown a person reads and can copy code from."""
    manifest = run.manifest
    here, base = _shown(folder), _shown(parent)
    root = lineage(parent)[0] if is_delta(parent) else None
    lines = [f"# {manifest['experiment']} / {name}", "", description, "",
             f"- run: `{run.id}` (profile `{manifest['profile']}`, commit "
             f"`{str(manifest.get('git_commit', 'unknown'))[:12]}`)",
             f"- trained from: `{base}`" + (f" (a delta checkpoint on `{_shown(root)}`)" if root else ""),
             "- saved as: " + (f"a LoRA adapter on that model ({DELTA}, adapter-0/)" if lora
                               else "full weights (model.safetensors)"),
             "", "## Load", ""]
    if kind == "reward":
        lines += ["```python", "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
                  "", f'reward_model = AutoModelForSequenceClassification.from_pretrained("{here}")',
                  f'tokenizer = AutoTokenizer.from_pretrained("{here}")',
                  "# reason_lib.models.reward_model.RewardModelScorer(reward_model, tokenizer) scores replies",
                  "```", ""]
    else:
        lines += ["```python", "from reason_lib.models import load_model, load_tokenizer", "",
                  f'model = load_model("{here}")  # as the run evaluated it'
                  + (" (adapter attached)" if lora else ""),
                  f'tokenizer = load_tokenizer("{here}")']
        lines += [f'merged = load_model("{here}", merge=True)  # plain weights'] if lora else []
        lines += ["```", ""]
        if lora and root is None:
            lines += ["With transformers and peft alone:", "", "```python",
                      "from peft import PeftModel",
                      "from transformers import AutoModelForCausalLM, AutoTokenizer", "",
                      f'base = AutoModelForCausalLM.from_pretrained("{base}")',
                      f'model = PeftModel.from_pretrained(base, "{here}/adapter-0")',
                      f'tokenizer = AutoTokenizer.from_pretrained("{here}")', "```", ""]
        elif not lora:
            lines += [f'With transformers alone: `AutoModelForCausalLM.from_pretrained("{here}")`.', ""]
        if lora:
            lines += [f"A merged copy (plain weights): `make export MODEL={here} OUT=<new folder>`.", ""]
    return "\n".join(lines) + (measured(evaluation) if evaluation else "")


MEASURED = "## What the run measured"


def measured(evaluation: dict) -> str:
    return "\n".join([MEASURED, "", "```json",
                      json.dumps(evaluation, indent=1, ensure_ascii=False, default=str), "```", ""])


def record_evaluation(folder, evaluation: dict) -> Path:
    """Add (or replace) what the run measured of a kept model on its card: a model is kept as
    soon as training ends, and its evaluation comes after."""
    path = Path(folder) / CARD
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model card (keep_model writes it)")
    text = path.read_text().split(MEASURED)[0]
    text = text if text.endswith("\n") else text + "\n"
    atomic_write(path, text + measured(evaluation))
    return Path(folder)


def export(source, out) -> Path:
    """A merged, plain copy of the kept (or any delta) model at `source` in `out`."""
    source, out = Path(source), Path(out)
    if (source / "pause_config.json").is_file():
        raise ValueError(f"{source}: a pause LM (pause_config.json); its pause embedding and head "
                         "are not part of a causal LM: load it with PauseLM.from_pretrained")
    if out.exists():
        raise FileExistsError(f"{out}: exists; export writes a new folder")
    model = load_model(str(source), merge=True)
    model.save_pretrained(out, safe_serialization=True)
    load_tokenizer(str(source)).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reason_lib.models.keep")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export", help="a merged copy of a kept model (plain weights)")
    p.add_argument("source")
    p.add_argument("out")
    args = parser.parse_args(with_make_args(sys.argv[1:] if argv is None else argv))
    try:
        print(f"merged copy: {export(args.source, args.out)}")
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
