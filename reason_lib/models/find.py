"""Which model a user means: a run id, a run's kept model, a folder, or a Hub id.

`make evaluate MODEL=...` and `make infer MODEL=...` accept
- a run id (`20261204-101500-cpu-ab12`) or run folder: every model the run kept
  (`<run>/models/<name>`, a pause warm-up's `model/`, a base-model run's saved model);
- `<run id>/<name>`: one of them; `<experiment>/latest[/<name>]`: the newest succeeded run's;
- a model folder (`save_pretrained`, a delta checkpoint or a saved pause LM);
- a Hub id, or its copy in the local mirror (`$REASON_LIB_HUB_MIRROR`) or the Hub cache.

Each is checked at once, without loading weights: an unknown name stops with one line naming it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from reason_lib import config
from reason_lib.models.delta import check_writer_record, is_delta, lineage, writer_record
from reason_lib.models.load import load_model, load_tokenizer
from reason_lib.models.pause_lm import PauseLM
from reason_lib.runs import Run, is_plain_name, run_manifest

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelNotFound(config.ParamError):
    """A model name that is no run, no folder and no reachable Hub id."""


@dataclass(frozen=True)
class Found:
    """One model: `label` for tables, `path` for `load_model` (a folder or Hub id), `run` (the run
    folder it came from, if any) and `pause` (a saved pause LM, loaded with `PauseLM`)."""

    label: str
    path: str
    run: Path | None = None
    pause: bool = False


def is_pause(path) -> bool:
    return (Path(str(path)) / "pause_config.json").is_file()


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() or is_delta(path) or is_pause(path)


def _run_folder(spec: str) -> Path | None:
    """The run folder `spec` names (a path to one, a run id, or `<experiment>/latest`)."""
    local = config.resolve_path(spec)
    if run_manifest(local) is not None:
        return local
    root = config.outputs_root()
    experiment, _, rest = spec.partition("/")
    if rest == "latest" and experiment in config.EXPERIMENTS:
        done = [Run(m.parent) for m in sorted((root / experiment).glob("*/manifest.json"), reverse=True)]
        done = [r for r in done if r.status == "succeeded"]
        if not done:
            raise ModelNotFound(f"model {spec!r}: no succeeded {experiment} run under {root}")
        return done[0].dir
    if is_plain_name(spec):
        hits = [root / e / spec for e in config.EXPERIMENTS if (root / e / spec / "manifest.json").is_file()]
        if hits:  # a run id is one folder name: taken as typed, never as a pattern
            return hits[0]
    return None


def _is_classifier(path: Path) -> bool:
    """A kept reward model (a sequence classifier): scored through the policies, not generated from."""
    cfg = path / "config.json"
    return cfg.is_file() and any(a.endswith("ForSequenceClassification")
                                 for a in json.loads(cfg.read_text()).get("architectures") or [])


def kept_models(run_dir: Path) -> list[Found]:
    """Every model a run left: its `models/<name>` (policies; a reward model is not one), a REINFORCE
    run's SFT policy (`sft`), a pause warm-up's `model/`, a STaR run's best loop per run type (or
    pause-STaR variant, and its warm-ups), a base-model run's saved (or pretrained) model."""
    run = Run(run_dir)
    found = [Found(f"{run.id}/{p.name}", str(p), run.dir, is_pause(p))
             for p in sorted((run.dir / "models").glob("*"))
             if p.is_dir() and _is_model_folder(p) and not _is_classifier(p)]
    if run.manifest["experiment"] == "reinforce_rm":  # the SFT policy the methods start from
        params = run.params()
        sft = run.checkpoints / "sft-model"
        found.insert(0, Found(f"{run.id}/sft", str(sft) if params.sft_epochs > 0 and sft.is_dir()
                              else config.resolve_source(params.base_model), run.dir))
    if (run.dir / "model").is_dir():
        found.append(Found(f"{run.id}/model", str(run.dir / "model"), run.dir,
                           is_pause(run.dir / "model")))
    if run.manifest["experiment"] == "star_mmlu" and (run.dir / "metrics.json").is_file():
        start = config.resolve_source(run.params().model)
        for name, r in json.loads((run.dir / "metrics.json").read_text())["runs"].items():
            # twins share the checkpoints of the run that trained them (loop 0: the start model)
            loop = run.checkpoints / r.get("trained_with", name) / f"loop-{r['best_loop']}"
            found.append(Found(f"{run.id}/{name}", str(loop) if _is_model_folder(loop) else start,
                               run.dir))
    if run.manifest["experiment"] == "pause_star" and (run.dir / "metrics.json").is_file():
        for tag in ("pause", "no_pause"):  # the warm-ups the variants start from
            warm = run.checkpoints / f"warmup-{tag}"
            if is_pause(warm):
                found.append(Found(f"{run.id}/warmup-{tag}", str(warm), run.dir, True))
        for name, r in json.loads((run.dir / "metrics.json").read_text())["variants"].items():
            loop = run.checkpoints / name / f"loop-{r['best_loop']}"  # loop 0 is the warm-up
            warm = run.checkpoints / f"warmup-{'pause' if r['pauses'] else 'no_pause'}"
            found.append(Found(f"{run.id}/{name}", str(loop if is_pause(loop) else warm), run.dir, True))
    if run.manifest["experiment"] == "base_model":
        params = run.params()
        saved = config.resolve_path(params.save_to) if params.save_to else None
        if saved is not None and saved.is_dir():
            writer = writer_record(saved).get("run")
            if writer and writer != run.id:  # the shared path holds a later run's model now
                raise ModelNotFound(f"model {run.id!r}: the base model it saved at {saved} was "
                                    f"replaced by run {writer}'s; evaluate that run, or rerun "
                                    "this one (`--resume <id> --force`)")
            found.append(Found(f"{run.id}/base", str(saved), run.dir))
        elif params.init_model:
            found.append(Found(f"{run.id}/base", config.resolve_source(params.init_model), run.dir))
    return found


def _hub_reachable(repo_id: str) -> bool:
    """A Hub id whose files can be had: in the local mirror, the Hub cache, or online."""
    if config.hub_mirror(repo_id) is not None:
        return True
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, "config.json"), str):
        return True
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    from huggingface_hub import model_info

    try:
        model_info(repo_id)
        return True
    except Exception:  # noqa: BLE001 - any failure (unknown repo, no network) means not reachable
        return False


def find_models(spec: str) -> list[Found]:
    """The model(s) `spec` names, checked to exist; ModelNotFound otherwise (one line)."""
    spec = str(spec).strip()
    if not spec:
        raise ModelNotFound("no model named: give MODEL=<run id | run id/name | folder | Hub id>")
    head, _, name = spec.rpartition("/")
    run_dir = _run_folder(spec)
    if run_dir is None and head:
        parent = _run_folder(head)
        if parent is not None:
            hits = [f for f in kept_models(parent) if f.label.endswith(f"/{name}")]
            if not hits:
                names = ", ".join(f.label.split("/")[-1] for f in kept_models(parent)) or "none"
                raise ModelNotFound(f"model {spec!r}: run {parent.name} keeps no model {name!r} "
                                    f"(it keeps: {names})")
            return hits
    if run_dir is not None:
        found = kept_models(run_dir)
        if not found:
            status = Run(run_dir).status
            raise ModelNotFound(f"model {spec!r}: run {run_dir.name} keeps no model (status {status})")
        return found
    local = config.resolve_path(spec)
    if local.is_dir():
        if not _is_model_folder(local):
            raise ModelNotFound(f"model {spec!r}: {local} holds no model (no config.json, "
                                "delta.json or pause_config.json)")
        try:  # a delta whose parent is gone or was replaced fails here, naming it
            check_writer_record(local)
            if is_delta(local):
                lineage(local)
        except ValueError as e:
            raise ModelNotFound(f"model {spec!r}: {e}") from None
        return [Found(local.name, str(local), None, is_pause(local))]
    looks_local = spec.startswith((".", "/", "~", "outputs/")) or local.exists()
    if not looks_local and HUB_ID.match(spec) and _hub_reachable(spec):
        return [Found(spec, config.resolve_source(spec))]
    raise ModelNotFound(f"model {spec!r}: no such run, model folder ({local}) or reachable Hub id")


def _tokenizer_source(path: str) -> str:
    """Where a model's tokenizer is: its own folder, else (a delta saved without one) its root."""
    local = Path(path)
    if local.is_dir() and not any((local / n).is_file() for n in ("tokenizer.json", "tokenizer_config.json")):
        return lineage(local)[0] if is_delta(local) else path
    return path


def load_found(found: Found, dtype: str = "float32", device: str = "auto",
               trust_remote_code: bool = False):
    """(model, tokenizer) of a found model, in eval mode: a saved pause LM as a `PauseLM` (decoded
    with its pause head), anything else with `load_model` (a kept LoRA policy with its adapter
    attached, as its run evaluated it)."""
    tokenizer = load_tokenizer(_tokenizer_source(found.path), trust_remote_code=trust_remote_code)
    if found.pause:
        model = PauseLM.from_pretrained(found.path, dtype=dtype, device=device)
    else:
        model = load_model(found.path, dtype=dtype, device=device, trust_remote_code=trust_remote_code)
    return model.eval(), tokenizer


def find_reward_model(spec: str) -> tuple[str, int]:
    """(folder, level) of a kept reward model: `<run id>`, `<run id>/reward_model`, or its folder;
    ModelNotFound otherwise. The level is read from its head (1 output: scalar, 10: classes)."""
    spec = str(spec).strip()
    run_dir = _run_folder(spec) or (_run_folder(spec.rpartition("/")[0]) if "/" in spec else None)
    folder = run_dir / "models" / "reward_model" if run_dir is not None else config.resolve_path(spec)
    if not _is_classifier(folder):
        raise ModelNotFound(f"reward model {spec!r}: {folder} holds no kept reward model (a "
                            "sequence classifier's config.json)")
    labels = json.loads((folder / "config.json").read_text()).get("id2label") or {"0": ""}
    level = {1: 1, 10: 2}.get(len(labels))
    if level is None:
        raise ModelNotFound(f"reward model {spec!r}: {len(labels)} outputs, expected 1 or 10")
    return str(folder), level
