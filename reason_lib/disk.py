"""Writing the project's files safely, and naming the code that wrote them."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from reason_lib import config


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def move_into_place(tmp: Path, folder: Path, complete: str) -> None:
    """Move a finished folder `tmp` to `folder` (its sibling). When another run moved one there
    meanwhile (a model kept under a key: the same contents), `folder/complete` marks it whole,
    so that one stays and `tmp` goes; anything else is an error."""
    try:
        tmp.rename(folder)
    except OSError:
        if not (folder / complete).is_file():
            raise
        shutil.rmtree(tmp)


def last_checkpoint(folder: Path) -> Path | None:
    """The newest `checkpoint-<step>` folder in `folder` (the Trainer's naming), or None."""
    found = sorted(Path(folder).glob("checkpoint-*[0-9]"), key=lambda p: int(p.name.rsplit("-", 1)[1]))
    return found[-1] if found else None


def code_hash() -> str:
    """sha256 of the library and the notebooks (every file's path and bytes): what, beside the
    parameters, decides a run's numbers. Unlike the git commit it also covers uncommitted edits."""
    digest = hashlib.sha256()
    root = config.PROJ_ROOT
    files = sorted([*root.glob("reason_lib/**/*.py"), *config.NOTEBOOKS_DIR.glob("*.ipynb")])
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
