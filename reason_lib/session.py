"""What a notebook calls first: its parameters and run folder, its data checked and, in bfloat16
on a CPU, its starting model's precision checked before anything trains."""

from __future__ import annotations

import os

from reason_lib import config, lanes, precision
from reason_lib.checks import check_data
from reason_lib.runs import Run, die_with_parent


def start(experiment: str, profile: str = "cpu", overrides: dict | None = None,
          run_dir: str = "") -> tuple[object, Run]:
    """What a notebook calls first: (params, run).

    Under the runner, `run_dir` names the folder it prepared (params already validated). Opened by
    hand, a new run is created from the profile; `$REASON_LIB_PROFILE` replaces the profile (the
    notebook tests use it to run on shrunken parameters).
    """
    if run_dir:
        run = Run(run_dir)
        params = run.params()
        die_with_parent()  # under the runner: when it dies, so does this kernel
    else:
        profile = os.environ.get("REASON_LIB_PROFILE", profile)
        params = config.load_params(experiment, profile, overrides)
        check_data(experiment, params)  # a malformed data row stops the run here, not hours later
        run = Run.create(experiment, params, profile)
    check_precision(experiment, params, run)
    lanes.join()  # in `make reproduce` / `make claims`: take the cores other runs leave idle
    return params, run


def check_precision(experiment: str, params, run: "Run | None" = None) -> dict | None:
    """A run in bfloat16 (or float16) on a CPU first checks that its starting model decodes and
    scores like float32 (`reason_lib.precision`); the verdict goes into the manifest and a failure
    stops the run here. None when there is nothing to check (float32, a GPU, no pretrained model)."""
    field = config.EXPERIMENTS[experiment].model_field
    model = getattr(params, field, "") if field else ""
    if not model:
        return None
    return precision.check_dtype(config.resolve_source(model), params.dtype, params.device, run)
