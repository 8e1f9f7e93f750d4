"""Experiment trackers, optional: the run folder stays the record, a tracker gets a copy.

Every per-step metric a run logs goes through `Run.log` (TRL trainers through `RunLogger`, the
hand-written REINFORCE / RLOO, pause training and STaR loops directly) and its final metrics
through `Run.finish`; with `report_to: [tensorboard]` and/or `[wandb]` the same names and values
also go to
- TensorBoard: event files in `<run>/tensorboard/` (`tensorboard --logdir outputs/`);
- Weights & Biases: one W&B run per run folder, named by its run id, files under `<run>/wandb/`.
  `WANDB_MODE=offline` needs no network (`wandb sync` uploads later); `WANDB_PROJECT` names the
  project (default `reason_lib`). Each metric prefix (`reinforce/`, `sft/`, ...) gets its own step
  axis, so loops that each count from step 1 do not collide.
Both are in the `trackers` extra (`pip install -e '.[trackers]'`); a missing one is named at once.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from reason_lib.config import ParamError

TRACKERS = ("tensorboard", "wandb")


def _flat(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Numbers of a nested metrics dict as `a/b/c: value` (intervals keep their `value`)."""
    out = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, (int, float)):
            if math.isfinite(value):
                out[name] = float(value)
        elif isinstance(value, dict):
            out.update(_flat(value, f"{name}/"))
    return out


def _axis(name: str) -> str:
    """The step axis of a metric: `reinforce/loss` -> `reinforce/step`, `loss` -> `step`."""
    return name.rsplit("/", 1)[0] + "/step" if "/" in name else "step"


def check_available(names) -> None:
    """ParamError naming the package and the extra when a requested tracker is not installed."""
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise ParamError(f"report_to {unknown[0]!r}: expected one of {TRACKERS}")
    for name in names:
        module = "torch.utils.tensorboard" if name == "tensorboard" else "wandb"
        try:
            __import__(module)
        except ImportError:
            raise ParamError(f"report_to {name}: the {name} package is not installed "
                             "(pip install -e '.[trackers]')") from None


class Trackers:
    """The trackers a run reports to; `log(step, metrics)`, `summary(metrics)`, `close()`."""

    def __init__(self, names, run_dir: Path, run_id: str, experiment: str, config: dict):
        check_available(names)
        self.tb = self.wandb = None
        self.steps: set[str] = set()
        if "tensorboard" in names:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
        if "wandb" in names:
            import wandb

            self.wandb = wandb.init(project=os.environ.get("WANDB_PROJECT", "reason_lib"),
                                    name=run_id, id=run_id, group=experiment, dir=str(run_dir),
                                    config=config, resume="allow", reinit="finish_previous")

    def log(self, step: int, metrics: dict) -> None:
        flat = _flat(metrics)
        if self.tb is not None:
            for name, value in flat.items():
                self.tb.add_scalar(name, value, global_step=step)
        if self.wandb is not None:
            axes = {name: _axis(name) for name in flat}
            for name, axis in axes.items():  # a prefix's metrics plot against its own step
                if name not in self.steps:
                    self.wandb.define_metric(axis, hidden=True)
                    self.wandb.define_metric(name, step_metric=axis)
                    self.steps.add(name)
            self.wandb.log({**flat, **{axis: step for axis in axes.values()}})

    def summary(self, metrics: dict) -> None:
        flat = _flat(metrics)
        if self.tb is not None:
            for name, value in flat.items():
                self.tb.add_scalar(f"final/{name}", value, global_step=0)
        if self.wandb is not None:
            self.wandb.summary.update(flat)

    def close(self, failed: bool = False) -> None:
        if self.tb is not None:
            self.tb.close()
            self.tb = None
        if self.wandb is not None:
            self.wandb.finish(exit_code=1 if failed else 0)
            self.wandb = None
