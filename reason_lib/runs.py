"""Run folders: `outputs/<experiment>/<run_id>/` with params, manifest, metrics, figures, samples,
checkpoints. A run never overwrites another; every file is written atomically; a failed run stays
on disk, marked failed."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

import yaml

from reason_lib import config
from reason_lib.disk import atomic_write, code_hash, last_checkpoint
from reason_lib.trackers import Trackers

PACKAGES = ["torch", "transformers", "trl", "peft", "datasets", "accelerate", "tokenizers"]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(config.PROJ_ROOT), "describe", "--always", "--dirty",
                              "--abbrev=40"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"


def processor() -> str:
    """The CPU's model name and the vector kernels torch dispatches to on it ("Intel(R) Xeon(R)
    Processor; torch AVX512"). Float sums depend on both (how a matmul is split into SIMD lanes),
    so runs are bit-identical only on the same kind: see README "How exact a reproduction is"."""
    import torch

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}; torch {torch.backends.cpu.get_cpu_capability()}"


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def live_status(info: dict) -> str:
    """A manifest's status, except that a run recorded as running whose process (`pid`, on this
    `host`) is gone is `interrupted`: killed, or its machine went down. A process on another
    host cannot be seen from here, so its record stands."""
    status = info.get("status")
    if (status == "running" and info.get("pid") and info.get("host") == socket.gethostname()
            and not _alive(int(info["pid"]))):
        return "interrupted"
    return status


def die_with_parent() -> None:
    """Exit this process (a notebook's kernel under the runner) as soon as its parent is gone: a
    runner killed with SIGKILL can stop nothing, and its kernel would otherwise go on writing
    checkpoints and models into a run no one watches."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(70)

    threading.Thread(target=watch, daemon=True, name="reason_lib-die-with-parent").start()


def run_manifest(folder: str | Path) -> dict | None:
    """The manifest of run folder `folder`, or None when it is not one: no manifest.json, an
    unreadable one, or one that names no experiment, run id and status (`make smol-model`'s model
    folder has a manifest.json of another kind)."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    if not isinstance(info, dict) or not {"experiment", "run_id", "status"} <= info.keys():
        return None
    return {**info, "status": live_status(info)}


def _write_params(folder: Path, values: dict) -> None:
    """A run's parameters as it ran with them (`params.yaml`, in the parameters' order)."""
    atomic_write(folder / "params.yaml", yaml.safe_dump(values, sort_keys=False, allow_unicode=True))


class Run:
    """One run folder; create with `Run.create`, reopen with `Run(path)`."""

    def __init__(self, path: str | Path):
        self.dir = Path(path)
        if not (self.dir / "manifest.json").is_file():
            raise FileNotFoundError(f"{self.dir}: not a run folder (no manifest.json)")
        self._trackers = None  # opened by the first log or finish when params.report_to names any

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def create(cls, experiment: str, params, profile: str, root: Path | None = None) -> "Run":
        """A new, empty run folder with the resolved params and a manifest marked running."""
        base = (root or config.outputs_root()) / experiment
        base.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        while True:  # mkdir without exist_ok is the guarantee that no run is overwritten
            run_id = f"{stamp}-{profile}-{secrets.token_hex(2)}"
            try:
                (base / run_id).mkdir()
                break
            except FileExistsError:
                continue
        path = base / run_id
        for sub in ("figures", "checkpoints"):
            (path / sub).mkdir()
        _write_params(path, config.to_dict(params))
        manifest = {"experiment": experiment, "run_id": run_id, "profile": profile,
                    "status": "running", "seed": getattr(params, "seed", None),
                    "git_commit": _git_commit(), "code_hash": code_hash(), "device": _device(),
                    "processor": processor(), "packages": _versions(),
                    "started": _now(), "ended": None, "pid": os.getpid(),
                    "host": socket.gethostname()}
        atomic_write(path / "manifest.json", json.dumps(manifest, indent=2))
        return cls(path)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def manifest(self) -> dict:
        return json.loads((self.dir / "manifest.json").read_text())

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def status(self) -> str:
        """running, succeeded, failed, or interrupted (`live_status`)."""
        return live_status(self.manifest)

    def params(self):
        """The resolved parameters this run was started with, as the experiment's dataclass."""
        m = self.manifest
        values = config.read_yaml((self.dir / "params.yaml").read_text())
        return config.validate(config.EXPERIMENTS[m["experiment"]].params, values,
                               str(self.dir / "params.yaml"))

    @property
    def checkpoints(self) -> Path:
        return self.dir / "checkpoints"

    def figure(self, name: str) -> Path:
        """Path for a figure of this run (`figures/<name>.png`)."""
        return self.dir / "figures" / f"{name}.png"

    # -- writing ---------------------------------------------------------------------------------
    def _update(self, drop: tuple = (), **fields) -> None:
        kept = {k: v for k, v in self.manifest.items() if k not in drop}
        atomic_write(self.dir / "manifest.json", json.dumps({**kept, **fields}, indent=2))

    def note(self, **fields) -> None:
        """Record facts about the run in its manifest (e.g. how many processes ran it)."""
        self._update(**fields)

    def shadow(self, rank: int) -> "Run":
        """A throwaway copy of this run's folder for process `rank` (> 0) of a multi-process run
        (`reason_lib.distributed`): the same parameters and manifest, no trackers, and the run's
        own checkpoints folder (linked: what the main process saves there, every process loads,
        and a resumed run resumes alike on every rank); whatever else that process writes goes
        into the copy, never into the run folder."""
        folder = Path(tempfile.mkdtemp(prefix=f"reason_lib-{self.id}-rank{rank}-"))
        for name in ("params.yaml", "manifest.json"):
            shutil.copy2(self.dir / name, folder / name)
        (folder / "checkpoints").symlink_to(self.checkpoints.resolve(), target_is_directory=True)
        (folder / "figures").mkdir(exist_ok=True)
        shadow = Run(folder)
        shadow._update(shadow_of=str(self.dir), rank=rank)
        return shadow

    def trackers(self):
        """The run's experiment trackers (`params.report_to`, `reason_lib.trackers`), or None
        (always None in a shadow: one process reports)."""
        if self._trackers is None:  # read once: False when the run reports to none
            names = [] if "shadow_of" in self.manifest else getattr(self.params(), "report_to", [])
            self._trackers = False
            if names:
                self._trackers = Trackers(names, self.dir, self.id, self.manifest["experiment"],
                                          config.read_yaml((self.dir / "params.yaml").read_text()))
        return self._trackers or None

    def log(self, step: int, **metrics) -> None:
        """Append one line of per-step metrics to metrics.jsonl (and to the run's trackers)."""
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, "time": _now(), **metrics}) + "\n")
        if (trackers := self.trackers()) is not None:
            trackers.log(step, metrics)

    def drop_logged(self, prefix: str, after: int) -> int:
        """Remove the metrics.jsonl lines of `prefix` (every key but step and time starts with
        it) logged past step `after`: a loop resumed from its checkpoint at `after` logs those
        steps again, and each step must appear once. The number of lines removed."""
        kept, dropped = [], 0
        for h in self.history():
            keys = [k for k in h if k not in ("step", "time")]
            if h["step"] > after and keys and all(k.startswith(prefix) for k in keys):
                dropped += 1
            else:
                kept.append(h)
        if dropped:
            atomic_write(self.dir / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in kept))
        return dropped

    def history(self) -> list[dict]:
        path = self.dir / "metrics.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def save_samples(self, records: list[dict]) -> None:
        """Write generations (one JSON object per line) to samples.jsonl."""
        atomic_write(self.dir / "samples.jsonl",
                     "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))

    def finish(self, metrics: dict) -> None:
        """Write the final metrics.json and mark the run succeeded."""
        atomic_write(self.dir / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False))
        if (trackers := self.trackers()) is not None:
            trackers.summary(metrics)
            trackers.close()
        self._update(status="succeeded", ended=_now(), drop=("error",))  # an earlier failure's

    def fail(self, error: str) -> None:
        """Mark the run failed, keeping everything it wrote."""
        self._update(status="failed", ended=_now(), error=error[-2000:])

    def reopen(self) -> None:
        """Mark a stopped run running again, in this process, to resume it from its last
        checkpoint (the error of the attempt before is kept under `resumed`)."""
        m = self.manifest
        resumed = m.get("resumed", []) + [{"at": _now(), "was": live_status(m),
                                           **({"error": m["error"]} if m.get("error") else {})}]
        self._update(status="running", ended=None, resumed=resumed, pid=os.getpid(),
                     host=socket.gethostname(), drop=("error",))

    def extend(self, changes: dict) -> None:
        """Raise extendable parameters of this run ({key: (old, new)}): params.yaml takes the new
        values, the manifest records the extension (when, what), so the run's report says its
        later loops came from a resume."""
        values = config.read_yaml((self.dir / "params.yaml").read_text())
        values.update({k: new for k, (_, new) in changes.items()})
        _write_params(self.dir, values)
        entry = {"at": _now(), "changes": {k: [old, new] for k, (old, new) in changes.items()},
                 "git_commit": _git_commit(), "code_hash": code_hash()}
        self._update(extended=self.manifest.get("extended", []) + [entry])

    def last_checkpoint(self) -> Path | None:
        """The newest `checkpoint-<step>` folder (the Trainer's naming), or None."""
        return last_checkpoint(self.checkpoints)


def is_plain_name(text: str) -> bool:
    """One folder name under outputs/: not empty, no path separator, not `.`/`..`, no glob
    characters. A run id or model name typed by a user never reaches outside outputs/ or
    matches more than it names."""
    return bool(text) and text not in (".", "..") and text == text.strip() \
        and not any(c in text for c in "/\\*?[]")


def plain_name(text: str, what: str) -> str:
    """`text` when it `is_plain_name`, else a ParamError naming `what` it should have been."""
    if not is_plain_name(text):
        raise config.ParamError(f"{what} {text!r}: not a run id (one folder name under outputs/, "
                                "e.g. 20261206-082054-cpu-6b29)")
    return text


def find_run(experiment: str, run_id: str) -> Run:
    """The run folder outputs/<experiment>/<run_id>; the id must be a plain name (`plain_name`)."""
    return Run(config.outputs_root() / experiment / plain_name(run_id, "run"))


