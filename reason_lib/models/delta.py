"""Delta checkpoints: a fine-tuned model saved as what its training changed, on top of the model
it started from.

A LoRA fine-tune of a 7B model changes a few tens of millions of weights; saving the merged model
after every STaR loop writes ~15 GB each time (and a merge needs a second copy of the model). A
delta checkpoint is a folder holding only the change:
- `delta.json`: the `parent` (a Hub id, a path, or another delta checkpoint, relative to this
  folder when it is a local folder, so a run folder can move), the `adapters` merged onto the
  parent in order, and the `tensors` file;
- `adapter-<k>/`: peft adapters (`PeftModel.save_pretrained`);
- `weights.safetensors`: whole tensors that were trained outright (an LM head, the embeddings),
  in the dtype they trained in.

`load_model` walks a chain from its root: load the root, then at each link merge its adapters and
put back its tensors: the arithmetic the run did, in the order it did it, so a reloaded model
equals the model that was saved. A link saved with `merge=False` (a run's final LoRA policy,
evaluated with its adapter attached) comes back the same way, as a peft model, when it is the last
link: merged weights round differently from base + adapter, and a greedy reply can flip on that.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch

from reason_lib.config import resolve_path

DELTA = "delta.json"
TENSORS = "weights.safetensors"
# A shared model's record (`train.base.save`): the run that wrote it and its weights' digest.
WRITER = "writer.json"
_digests: dict = {}


def is_delta(path) -> bool:
    """Whether `path` is a delta checkpoint folder."""
    return (Path(str(path)) / DELTA).is_file()


def save_delta(path, parent, adapters=(), tensors: dict | None = None, merge: bool = True) -> None:
    """Write a delta checkpoint to `path` on top of `parent` (Hub id or path).

    `adapters`: peft models (saved with their `save_pretrained`: adapter weights only) or folders
    they were saved to (moved in), merged in this order on load; `tensors`: {parameter name:
    tensor} put back whole after the merge. `merge=False`: loaded as the last link, the last
    adapter stays attached (a peft model), as the model was when it was evaluated.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    names = []
    for k, adapter in enumerate(adapters):
        name, target = f"adapter-{k}", path / f"adapter-{k}"
        if isinstance(adapter, (str, Path)):
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(str(adapter), target)
        else:
            adapter.save_pretrained(target)
        # peft's placeholder card ("Model Card for Model ID", every field "More Information
        # Needed") says nothing: the delta's own record (below) and its run's card do
        (target / "README.md").unlink(missing_ok=True)
        names.append(name)
    if tensors:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, path / TENSORS)
    local = Path(str(parent))
    entry = {"parent": os.path.relpath(local.resolve(), path.resolve()) if local.is_dir()
             else str(parent), "parent_is_local": local.is_dir(),
             "parent_weights": recorded_digest(local) if local.is_dir() else None, "adapters": names,
             "tensors": TENSORS if tensors else None, "merge": merge,
             "load": "reason_lib.models.load_model(<this folder>) (or PauseLM.from_pretrained when "
                     "pause_config.json is here): loads the parent, merges each adapter in order "
                     "(peft: PeftModel.from_pretrained(parent, adapter).merge_and_unload()), then "
                     "copies the tensors in"}
    (path / DELTA).write_text(json.dumps(entry, indent=1))


def weights_digest(folder) -> str:
    """sha256 over what decides a model folder's weights: every safetensors file (adapters'
    included) and a delta's `delta.json`, by relative name and content. Kept per process while
    the files' sizes and times stay the same."""
    folder = Path(str(folder))
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and (p.suffix == ".safetensors" or p.name == DELTA))
    key = (str(folder.resolve()), tuple((str(p.relative_to(folder)), p.stat().st_size,
                                         p.stat().st_mtime_ns) for p in files))
    if key not in _digests:
        h = hashlib.sha256()
        for p in files:
            h.update(str(p.relative_to(folder)).encode() + b"\0")
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    h.update(block)
        _digests[key] = h.hexdigest()
    return _digests[key]


def writer_record(folder) -> dict:
    """The folder's `writer.json` ({run, weights}), or {} when it has none."""
    record = Path(str(folder)) / WRITER
    return json.loads(record.read_text()) if record.is_file() else {}


def recorded_digest(folder) -> str:
    """The weights' digest its writer recorded when it saved them, else computed now."""
    return writer_record(folder).get("weights") or weights_digest(folder)


def check_writer_record(folder) -> None:
    """A ValueError naming the folder and its writer when the weights there are not the ones its
    `writer.json` records (rewritten in place, or half copied); nothing without a record."""
    record = writer_record(folder)
    if record.get("weights") and weights_digest(folder) != record["weights"]:
        raise ValueError(f"{Path(str(folder)) / WRITER}: field 'weights' ({record['weights'][:12]}): "
                         f"the weights in {folder} are not the ones run {record.get('run') or '?'} "
                         f"saved there (digest now {weights_digest(folder)[:12]})")


def lineage(path) -> tuple[str, list[Path]]:
    """(the root model's id or path, the delta folders from the root's child down to `path`)."""
    if not is_delta(path):
        return str(path), []
    links, here = [], Path(str(path)).resolve()
    while is_delta(here):
        links.append(here)
        entry = json.loads((here / DELTA).read_text())
        if not entry["parent_is_local"]:
            return entry["parent"], links[::-1]
        here = (here / entry["parent"]).resolve()
        if not here.is_dir():
            raise FileNotFoundError(f"{links[-1] / DELTA}: field 'parent': {entry['parent']!r} "
                                    f"is no folder ({here})")
        if here in links:
            raise ValueError(f"{links[-1] / DELTA}: field 'parent' loops back to {here}")
        expected = entry.get("parent_weights")
        if expected and recorded_digest(here) != expected:
            writer = writer_record(here).get("run")
            raise ValueError(f"{links[-1] / DELTA}: field 'parent_weights' ({expected[:12]}): the "
                             f"parent {here} now holds other weights ({recorded_digest(here)[:12]}"
                             f"{', written by run ' + writer if writer else ''}) than the ones this "
                             "delta was trained on")
    return str(here), links[::-1]


def apply_link(model, link, last: bool = False) -> object:
    """`model` with one delta folder applied: its adapters merged, its tensors copied in; the last
    link of a chain saved with `merge=False` keeps its last adapter attached (a peft model)."""
    from peft import PeftModel
    from safetensors.torch import load_file

    link = Path(link)
    entry = json.loads((link / DELTA).read_text())
    attach = last and not entry.get("merge", True) and entry["adapters"]
    for k, name in enumerate(entry["adapters"]):
        model = PeftModel.from_pretrained(model, link / name)
        if not (attach and k == len(entry["adapters"]) - 1):
            model = model.merge_and_unload()
    if entry["tensors"]:
        if attach:
            raise ValueError(f"{link / DELTA}: an attached adapter ('merge': false) with whole "
                             "tensors is not a layout save_delta writes")
        state = load_file(link / entry["tensors"])
        if any(n.endswith(("lm_head.weight", "embed_tokens.weight")) for n in state):
            untie_embeddings(model)
        params = dict(model.named_parameters())
        unknown = sorted(set(state) - set(params))
        if unknown:
            raise ValueError(f"{link / entry['tensors']}: tensors {unknown[:3]} are not parameters "
                             f"of the parent model ({type(model).__name__})")
        with torch.no_grad():
            for name, value in state.items():
                params[name].data = value.to(params[name].device)  # the dtype it trained in
    return model


def untie_embeddings(causal) -> None:
    """Give a causal LM whose LM head shares the input embedding matrix its own copy of it, so the
    two can train (and be saved) apart."""
    emb, head = causal.get_input_embeddings(), causal.get_output_embeddings()
    if head.weight is emb.weight:
        head.weight = torch.nn.Parameter(emb.weight.detach().clone())
        causal.config.tie_word_embeddings = False
        if hasattr(causal.config, "get_text_config"):
            causal.config.get_text_config().tie_word_embeddings = False


def ancestors(path) -> set[Path]:
    """Every local folder the delta checkpoint at `path` needs (itself included)."""
    return set(lineage(path)[1])


def writer_of(path) -> str | None:
    """The run that wrote the model at `path` (`save`), or None (none recorded, or no model)."""
    return writer_record(resolve_path(path)).get("run")
