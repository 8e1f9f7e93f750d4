"""The base model every cpu-profile experiment starts from: built from scratch or loaded."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from reason_lib import distributed
from reason_lib.config import PROJ_ROOT, resolve_path, resolve_source
from reason_lib.data.world import corpus
from reason_lib.models import load_model, load_tokenizer
from reason_lib.models.delta import WRITER, weights_digest
from reason_lib.models.tiny import build_model, train_tokenizer


def build_or_load(params, rows: list[dict], mc_rows: dict) -> tuple[object, object]:
    """(model, tokenizer): `params.init_model` loaded by path or Hub id, or else a tiny model with a
    tokenizer trained on the training mixture."""
    if params.init_model:
        path = resolve_source(params.init_model)
        return (load_model(path, dtype=params.dtype, device=params.device),
                load_tokenizer(path))
    tok = train_tokenizer(corpus(rows, mc_rows), params.vocab_size)
    model = build_model(tok, params.hidden_size, params.n_layers, params.n_heads,
                        params.intermediate_size, max_position=2 * params.max_length,
                        seed=params.seed)
    return model, tok


def card(model, path, writer: str = "") -> str:
    """The base model's card: what it is, the run that wrote it, how to load it."""
    path = Path(path)
    shown = path.relative_to(PROJ_ROOT) if path.is_relative_to(PROJ_ROOT) else path
    n = sum(p.numel() for p in model.parameters())
    return (f"# Base model `{path.name}`\n\n"
            f"A {type(model).__name__} of {n:,} parameters written by run `{writer or 'unknown'}` "
            "(notebook 00 of reason_lib): trained from scratch on the offline world, or the "
            "pretrained model the run loaded and scored (its `params.yaml`, `init_model`). Every "
            "experiment of this seed starts from it; the run's report holds its scores.\n\n"
            "```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
            f'model = AutoModelForCausalLM.from_pretrained("{shown}")\n'
            f'tokenizer = AutoTokenizer.from_pretrained("{shown}")\n```\n\n'
            "`writer.json` names the run that wrote it and the digest of its weights: a run that "
            "trained on it can tell when it was replaced.\n")


def save(model, tokenizer, path, writer: str = "") -> str:
    """Save model (safetensors) and tokenizer where experiments load them by path; the path.
    Written beside it, then moved into place whole, with `writer.json` naming the run that wrote
    it and the digest of its weights: a reader never loads one run's weights with another's
    tokenizer, `--reuse` can tell whose model is there, and a delta trained on it can tell when
    it was replaced (`models.delta.lineage`). With several processes the main one saves and the others wait for it
    (`distributed`)."""
    path = resolve_path(path)
    if distributed.is_main():
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / WRITER).write_text(json.dumps({"run": writer, "weights": weights_digest(tmp)}))
        (tmp / "MODEL.md").write_text(card(model, path, writer))
        old = path.with_name(f"{path.name}.old-{os.getpid()}")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    distributed.barrier()
    return str(path)


