"""The pause study's step 1, the start model: the base model after one epoch of plain SFT (no
pauses) on the training problems, LoRA merged. Every warm-up of the study starts from it.

Trained once per setting and kept under `outputs/models/start/<base>-<key>/`, a delta checkpoint
on the base model (`reason_lib.models.delta`: the LoRA adapter, merged on load) with its tokenizer
and `start.json` (what it was trained from and how). The key hashes everything that decides its
weights: the base model's files, the training rows, the training settings and the library's code;
a grid of 18 warm-ups trains it once and the other runs reuse it. Runs record which start model
they used (and whether they trained it) in their manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from transformers import set_seed

from reason_lib import config, disk, distributed
from reason_lib.models.delta import DELTA, lineage, save_delta
from reason_lib.models.load import load_tokenizer
from reason_lib.models.pause_lm import PauseLM, add_pause_token
from reason_lib.train.pause import train_pause_lm

CARD = "start.json"
# a weights file past this size is fingerprinted by its size and its first and last MiB (hashing
# 15 GB of a 7B model on every run would take minutes)
WHOLE_FILE_BYTES = 64 << 20


def model_fingerprint(name_or_path) -> str:
    """sha256 of a model's files (each folder of a delta chain, root included); a Hub id as itself."""
    root, links = lineage(name_or_path)
    folders = [Path(p) for p in [root, *links] if Path(str(p)).is_dir()]
    if not folders:
        return hashlib.sha256(str(name_or_path).encode()).hexdigest()
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            size = path.stat().st_size
            digest.update(f"{path.relative_to(folder)}\0{size}\0".encode())
            with path.open("rb") as f:
                if size <= WHOLE_FILE_BYTES:
                    digest.update(f.read())
                else:
                    digest.update(f.read(1 << 20))
                    f.seek(size - (1 << 20))
                    digest.update(f.read())
    return digest.hexdigest()


def start_key(model_path, rows: list[dict], settings: dict) -> str:
    """What decides the start model's weights, hashed: the base model, the rows, the settings, and
    the code that trains it."""
    payload = json.dumps({"model": model_fingerprint(model_path), "rows": rows,
                          "settings": settings, "code": disk.code_hash()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def start_model(model_path, rows: list[dict], epochs: float, learning_rate: float,
                batch_size: int, max_length: int, lora_r: int, seed: int, dtype: str = "float32",
                device: str = "auto", run=None, **memory) -> str:
    """The path of the start model for `model_path` (a path or Hub id) fine-tuned `epochs` on
    `rows` (prompt / completion, no pauses) with LoRA of rank `lora_r`: the kept one when it
    exists, else trained now and kept. `epochs == 0`: `model_path` itself.

    The LoRA fine-tune is the pause LM's own no-pause training (`PauseLM.set_trainable(...,
    use_pauses=False)`, `train_pause_lm`), so it is the same arithmetic as a no-pause baseline.
    The caller reseeds after: whether the model was trained or reused must not change what the
    run draws next."""
    if epochs == 0:
        return str(model_path)
    settings = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size,
                "max_length": max_length, "lora_r": lora_r, "seed": seed, "dtype": dtype}
    key = start_key(model_path, rows, settings)
    name = Path(str(model_path).rstrip("/")).name
    folder = config.outputs_root() / "models" / "start" / f"{name}-{key[:12]}"
    reused = (folder / DELTA).is_file()
    if not reused:
        set_seed(seed)
        tokenizer = load_tokenizer(model_path)
        model = PauseLM.from_pretrained(model_path, pause_token_id=add_pause_token(tokenizer),
                                        dtype=dtype, device=device)
        model.set_trainable(False, False, False, False, {"r": lora_r, "alpha": 2 * lora_r},
                            use_pauses=False)
        train_pause_lm(model, tokenizer, rows, epochs=epochs, batch_size=batch_size,
                       learning_rate=learning_rate, max_length=max_length, seed=seed, run=run,
                       log_prefix="start/", **memory)
        card = {"base_model": str(model_path), "key": key, "settings": settings,
                "rows": len(rows), "trained_by": run.id if run is not None else None,
                "load": "reason_lib.models.load_model(<this folder>): the base model with the "
                        "LoRA adapter merged"}
        distributed.main_writes(_keep, folder, model, model_path, card)  # the others wait for it
    if run is not None:
        run.note(start_model=str(folder), start_model_reused=reused)
    print(f"start model: {folder} ({'reused' if reused else 'trained now'})")
    return str(folder)


def _keep(folder: Path, model: PauseLM, model_path, card: dict) -> None:
    """Write the start model beside its final place, then move it there; when another run kept
    the same start model meanwhile (same key: the same weights), its copy stays."""
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    save_delta(tmp, model_path, [model.base])  # tmp is folder's sibling: same relative parent
    load_tokenizer(model_path).save_pretrained(tmp)  # the base's own, without the pause token
    (tmp / CARD).write_text(json.dumps(card, indent=1))
    (tmp / "MODEL.md").write_text(
        f"# Start model `{folder.name}`\n\nThe study's step 1: the base model `{card['base_model']}` "
        f"after plain SFT without pauses ({card['rows']} rows; LoRA, merged), trained by run "
        f"`{card['trained_by']}` and reused by every run with the same settings (`{CARD}`: the "
        "settings and their key). Stored as a delta on the base model: load it with "
        "`reason_lib.models.load_model(<this folder>)`.\n")
    disk.move_into_place(tmp, folder, DELTA)
