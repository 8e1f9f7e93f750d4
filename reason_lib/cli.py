"""Run an experiment's notebook headlessly with papermill into a new (or resumed) run folder.

    python -m reason_lib.cli <experiment> --profile cpu [-p key value ...] [--resume RUN_ID]
    python -m reason_lib.cli <experiment> --grid params/<experiment>/grids/<name>.yaml [-p key value ...]

Parameters are validated before anything runs; the executed notebook and its HTML rendering go into
the run folder; a failing cell marks the run failed and keeps the partial notebook. While it runs,
the terminal shows each cell, what it prints and its progress bars at least every 20 s, and the
run folder's `log.txt` keeps all of it (`reason_lib.progress`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

from reason_lib import config, disk, distributed, runs, summary
from reason_lib.checks import check_data
from reason_lib.claims import claims_overrides
from reason_lib.data.files import DataError
from reason_lib.estimate import check_fits
from reason_lib.fields import parameters_help
from reason_lib.make_args import with_make_args
from reason_lib.models.delta import check_writer_record, writer_of
from reason_lib.progress import HEADLESS, Relay
from reason_lib.rehearsal import shrink
from reason_lib.trackers import check_available


def render_html(notebook, html) -> None:
    """The executed notebook as a standalone HTML report to read: its narrative, printed results,
    tables and figures, without the code cells and without what they wrote to stderr (warnings,
    progress bars: all of it stays in the notebook and log.txt), linked to the full notebook. An
    error a cell raised stays: it is why the run failed."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    name = Path(notebook).name
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"*The report without its code; every cell, its code and everything it printed: "
        f"[{name}]({name}) (and log.txt).*"))
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    disk.atomic_write(html, body)


def execute(experiment: str, profile: str = "cpu", overrides: dict | None = None,
            resume: str = "", progress: bool = True, rehearse: bool = False, nproc: int = 1,
            accelerate_config: str = "", force: bool = False) -> runs.Run:
    """Validate, create (or reopen) the run folder, execute the notebook, render it; the Run.
    `rehearse`: the profile's sizes cut by `rehearsal.shrink`, on CPU, labelled
    `<profile>-rehearsal` (never taken for a result of the profile). `nproc` > 1: the notebook
    runs in that many processes under `accelerate launch` (`reason_lib.distributed`; with
    `accelerate_config`, as that file says), the main one writing the run folder."""
    run, overrides = prepare(experiment, profile, overrides, resume, rehearse, nproc,
                             accelerate_config, force)
    try:
        if nproc == 1 and not accelerate_config:
            execute_notebook(run, profile, overrides, progress)
        else:
            launch(run, profile, nproc, accelerate_config)
        if run.status != "succeeded":
            run.fail("the notebook ended without calling run.finish()")
            raise RuntimeError(f"{run.dir}: notebook ended without finishing the run")
    finally:  # the dashboard shows every run's status as it now is, this one's included
        try:
            summary.refresh_index(run.dir.parent.parent)
        except (OSError, ValueError) as e:  # e.g. a hand-edited metrics.json: the run stands
            print(f"warning: outputs/index.html not rewritten: {type(e).__name__}: {e}",
                  file=sys.stderr)
    return run


def prepare(experiment: str, profile: str = "cpu", overrides: dict | None = None,
            resume: str = "", rehearse: bool = False, nproc: int = 1,
            accelerate_config: str = "", force: bool = False) -> tuple[runs.Run, dict]:
    """Everything before the notebook runs: parameters, data, trackers and memory checked, the run
    folder created (or reopened); (run, the overrides it runs with)."""
    overrides = overrides or {}
    if rehearse:
        overrides = {**shrink(config.load_params(experiment, profile, overrides)), **overrides}
    params = config.load_params(experiment, profile, overrides)  # fails before any heavy work
    check_available(getattr(params, "report_to", []))  # and a tracker that is not installed
    check_data(experiment, params)  # so does a malformed row in a data file it names
    check_fits(experiment, params)  # and, on a GPU, a run that cannot fit its memory
    if nproc < 1:
        raise config.ParamError(f"--nproc {nproc}: must be at least 1")
    if accelerate_config:
        if not config.resolve_path(accelerate_config).is_file():
            raise config.ParamError(f"--accelerate-config {accelerate_config}: file not found")
        # a sharding engine (FSDP, ZeRO) refused, naming the file and field; the file's process
        # count is the run's unless --nproc gives the allocation's (slurm.sh)
        processes = distributed.check_accelerate_config(config.resolve_path(accelerate_config),
                                                        experiment)
        nproc = nproc if nproc > 1 else processes
    for key in ("batch_size", "prompts_per_step"):  # each step's examples split over processes
        value = getattr(params, key, None)
        if value is not None and value % nproc:
            raise config.ParamError(f"key {key!r} (value {value}): cannot be split over --nproc "
                                    f"{nproc} processes; use a multiple of {nproc}")
    if resume:
        run = runs.find_run(experiment, resume)
        extension = resume_changes(run, profile, params, overrides)
        status = run.status
        if status == "running":
            m = run.manifest
            raise config.ParamError(f"--resume {run.id}: the run is still running (process "
                                    f"{m.get('pid')} on {m.get('host')}); stop it first")
        if status == "succeeded" and not (extension or force):
            raise config.ParamError(f"--resume {run.id}: the run already succeeded and nothing is "
                                    "extended (e.g. -p outer_loops N); --force runs its notebook "
                                    "again in the same folder")
        run.reopen()
        if extension:
            run.extend(extension)
        previous = run.dir / "notebook.ipynb"
        if previous.exists():  # keep the earlier attempt's notebook beside the new one
            attempt = len(list(run.dir.glob("notebook.attempt*.ipynb"))) + 1
            previous.rename(run.dir / f"notebook.attempt{attempt}.ipynb")
    else:
        run = runs.Run.create(experiment, params, profile + ("-rehearsal" if rehearse else ""))
    print(f"run folder: {run.dir}", flush=True)
    if nproc > 1 or accelerate_config:
        run.note(processes=nproc, accelerate_config=accelerate_config or None)
    return run, overrides


def resume_changes(run: runs.Run, profile: str, params, overrides: dict) -> dict:
    """What a resume changes in `run`'s parameters: {key: (stored, new)} for the keys its
    experiment can extend (`config.Experiment.extendable`, raised only). A resumed run continues
    with the parameters it started with, so any other `-p` that differs from them, or another
    profile, stops here with an error naming it rather than being silently ignored."""
    if not (run.dir / "params.yaml").is_file():
        raise FileNotFoundError(f"--resume {run.id}: no run folder {run.dir} (or no params.yaml)")
    experiment = run.manifest["experiment"]
    started_as = run.manifest["profile"].removesuffix("-rehearsal")
    if profile != started_as:
        raise config.ParamError(f"--resume {run.id}: --profile {profile}, but the run started "
                                f"with profile {started_as!r}")
    stored = run.params()
    allowed = config.EXPERIMENTS[experiment].extendable
    changes = {}
    for key in overrides:
        old, new = getattr(stored, key), getattr(params, key)
        if old == new:
            continue
        if key not in allowed:
            raise config.ParamError(
                f"--resume {run.id}: key {key!r} (value {new!r}) differs from the run's {old!r} "
                f"({run.dir / 'params.yaml'}); a resumed run continues with the parameters it "
                f"started with; it can only extend {', '.join(allowed) or 'nothing'}. Start a "
                "new run for other values")
        if new < old:
            raise config.ParamError(f"--resume {run.id}: key {key!r} (value {new!r}) is below the "
                                    f"run's {old!r}; an extension only adds")
        changes[key] = (old, new)
    return changes


def local_kernel_manager():
    """nbclient's kernel manager over IPC sockets in a private temporary folder: a headless run's
    kernel is reached by its own process only (no TCP port on localhost, and no ipykernel warning
    about unencrypted TCP), and two runs side by side never share a socket path."""
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc"

        @default("ip")
        def _ip_default(self):
            return str(Path(tempfile.mkdtemp(prefix="reason_lib-kernel-")) / "kernel")

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart)
            if not restart:  # the sockets are gone; their folder too
                shutil.rmtree(Path(self.ip).parent, ignore_errors=True)

    return LocalKernelManager


def execute_notebook(run: runs.Run, profile: str, overrides: dict, progress: bool = True,
                     notebook: Path | None = None) -> None:
    """Execute the experiment's notebook on `run` (its folder prepared) into `notebook` (the
    run's notebook.ipynb), rendered to report.html beside it; a failure marks the run failed."""
    import papermill as pm

    experiment = run.manifest["experiment"]
    notebook = notebook or run.dir / "notebook.ipynb"
    source = config.NOTEBOOKS_DIR / config.EXPERIMENTS[experiment].notebook
    cells = len(json.loads(source.read_text())["cells"]) + 1  # + papermill's injected parameters
    before = os.environ.get(HEADLESS)
    os.environ[HEADLESS] = "1"  # the kernel inherits it: trainers draw text bars (train.sft)
    try:
        with Relay(run.dir / "log.txt", f"{experiment} {run.id}", cells,
                   stream=None if progress else io.StringIO()) as relay:
            pm.execute_notebook(
                str(source), str(notebook),
                parameters={"profile": profile, "overrides": overrides, "run_dir": str(run.dir)},
                kernel_name="python3", cwd=str(config.NOTEBOOKS_DIR), progress_bar=False,
                stdout_file=relay.port(), stderr_file=relay.port(),
                on_cell_start=relay.cell_start, kernel_manager_class=local_kernel_manager())
    except BaseException as e:  # also Ctrl-C: the run is marked failed, never left "running"
        run.fail(f"{type(e).__name__}: {e}")
        raise
    finally:
        if before is None:
            os.environ.pop(HEADLESS)
        else:
            os.environ[HEADLESS] = before
        if notebook.exists():
            render_html(notebook, notebook.with_name("report.html"))


def launch(run: runs.Run, profile: str, nproc: int, accelerate_config: str = "") -> None:
    """Run's notebook in `nproc` processes (`distributed.launch_command`); each rank runs
    `run_rank`. A launch that fails marks the run failed (the ranks' own errors are above)."""
    cmd = distributed.launch_command(nproc, [run.manifest["experiment"], "--profile", profile],
                                     str(config.resolve_path(accelerate_config))
                                     if accelerate_config else "")
    print("launching:", " ".join(cmd), flush=True)
    try:
        done = subprocess.run(cmd, env={**os.environ, distributed.LAUNCHED: str(run.dir)})
    except BaseException as e:
        run.fail(f"{type(e).__name__}: {e}")
        raise
    if done.returncode != 0:
        if run.status != "failed":
            run.fail(f"accelerate launch exited with status {done.returncode}")
        raise RuntimeError(f"{run.dir}: a process of the launch failed (exit status "
                           f"{done.returncode}); see the output above and {run.dir / 'log.txt'}")


def run_rank(profile: str) -> None:
    """One process of a launched run: the main one executes the notebook into the run folder;
    every other one into its own throwaway copy (`runs.Run.shadow`), so that the run folder holds
    one notebook, one manifest, one metrics file and one set of checkpoints."""
    run = runs.Run(os.environ[distributed.LAUNCHED])
    if distributed.is_main():
        execute_notebook(run, profile, {})
        return
    shadow = run.shadow(distributed.rank())
    try:
        execute_notebook(shadow, profile, {}, progress=False)
    finally:
        shutil.rmtree(shadow.dir, ignore_errors=True)


def find_identical(experiment: str, params) -> runs.Run | None:
    """The newest succeeded run of `experiment` with exactly these parameters made by this very
    code (the same `disk.code_hash`), if any: the same parameters on other code may give another
    model."""
    code = disk.code_hash()
    base = config.outputs_root() / experiment
    for manifest in sorted(base.glob("*/manifest.json"), reverse=True):
        run = runs.Run(manifest.parent)
        try:
            if (run.status == "succeeded" and run.manifest.get("code_hash") == code
                    and run.params() == params):
                return run
        except (config.ParamError, OSError, ValueError):
            continue  # an older run whose parameters no longer validate is not a match
    return None


def load_grid(path: str, experiment: str, profile: str, overrides: dict) -> list[dict]:
    """The grid's entries (each a mapping of overrides), every one validated up front."""
    grid_path = config.resolve_path(path)
    if not grid_path.is_file():
        raise config.ParamError(f"{path}: grid file not found")
    entries = config.read_yaml(grid_path.read_text()) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise config.ParamError(f"{path}: expected a list of mappings (one per configuration)")
    for i, entry in enumerate(entries):
        try:
            config.load_params(experiment, profile, {**entry, **overrides})
        except config.ParamError as e:
            raise config.ParamError(f"{path}, entry {i + 1}: {e}") from None
    return [{**entry, **overrides} for entry in entries]


def run_grid(experiment: str, profile: str, entries: list[dict], rehearse: bool = False,
             reuse: bool = False, label: str = "grid", **launch) -> list[tuple[dict, str]]:
    """Every entry (a mapping of overrides) as its own run, in order, each preceded by its base
    model when that model is the profile's own for the entry's seed and is missing
    (`needs_base_model`); `reuse` skips an entry `reusable` finds. A failed entry is marked
    failed and the others go on. Returns (entry, "succeeded" | error) per entry."""
    outcomes = []
    for i, entry in enumerate(entries, start=1):
        tag = f"[{label} {i}/{len(entries)}]"
        print(f"{tag} {experiment} {entry}", flush=True)
        try:
            if reuse and reusable(experiment, profile, entry):
                outcomes.append((entry, "succeeded"))
                continue
            train_missing_base_model(experiment, profile, entry, rehearse, tag)
            run = execute(experiment, profile, entry, rehearse=rehearse, **launch)
            outcomes.append((entry, "succeeded"))
            print(f"{tag} succeeded: {run.dir}", flush=True)
        except Exception as e:  # noqa: BLE001 - one failed configuration must not stop the others
            outcomes.append((entry, f"{type(e).__name__}: {e}"))
            print(f"{tag} FAILED: {type(e).__name__}: {e}", flush=True)
    return outcomes


def reusable(experiment: str, profile: str, overrides: dict) -> bool:
    """True (and says so) when a succeeded run with these parameters and this code exists and
    the model it saved is still there (`--reuse`)."""
    params = config.load_params(experiment, profile, overrides)
    previous = find_identical(experiment, params)
    saved = getattr(params, "save_to", "")
    if previous is None or (saved and not config.resolve_path(saved).is_dir()):
        return False
    if saved and writer_of(saved) != previous.id:  # another run's model is there now
        print(f"{experiment}: run {previous.id} matches, but the model at {saved} was written by "
              f"{writer_of(saved) or 'an unrecorded run'}: running again", flush=True)
        return False
    if saved:
        try:
            check_writer_record(config.resolve_path(saved))
        except ValueError as e:  # its record names the run, but the weights changed since
            print(f"{experiment}: run {previous.id} matches, but {e}: running again", flush=True)
            return False
    print(f"{experiment}: reusing run {previous.id} (succeeded, same parameters and code"
          f"{', model at ' + saved if saved else ''}); not running it again", flush=True)
    return True


def with_claims(experiment: str, profile: str, overrides: dict) -> dict:
    """`overrides` cut to the configurations the claims compare (`claims.claims_overrides`)."""
    cut = claims_overrides(experiment, config.load_params(experiment, profile, overrides))
    if cut:
        print(f"--claims: {experiment} runs {cut}", flush=True)
    return {**overrides, **cut}


def parse_seeds(text: str) -> list[int]:
    """`--seeds` / `SEEDS=`: N (seeds 0 .. N-1), a range a-b (both included) or a list a,b,c."""
    try:
        if "," in text:
            seeds = [int(t) for t in text.split(",") if t.strip()]
        elif "-" in text:
            a, b = (int(t) for t in text.split("-", 1))
            seeds = list(range(a, b + 1))
        else:
            seeds = list(range(int(text)))
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise config.ParamError(f"--seeds {text!r}: give N (seeds 0..N-1), a range a-b or a list "
                                "a,b,c of distinct seeds >= 0")
    return seeds


def needs_base_model(experiment: str, profile: str, overrides: dict) -> dict | None:
    """The base_model overrides that make the model this run starts from, when that model is the
    profile's own base model for the run's seed and is not there yet (seed k of an experiment
    starts from base model seed k); else None."""
    field = config.EXPERIMENTS[experiment].model_field
    if experiment == "base_model" or not field:
        return None
    params = config.load_params(experiment, profile, overrides)
    wanted = getattr(params, field)
    if not wanted or config.resolve_path(wanted).exists():
        return None
    try:
        base = config.load_params("base_model", profile, {"seed": params.seed})
    except config.ParamError:
        return None
    return {"seed": params.seed} if base.save_to and base.save_to == wanted else None


def train_missing_base_model(experiment: str, profile: str, overrides: dict,
                             rehearse: bool = False, tag: str = "") -> None:
    """Train the base model a run starts from first when it is missing (`needs_base_model`),
    saying so: one run alone and every entry of a grid or of SEEDS= alike."""
    base = needs_base_model(experiment, profile, overrides)
    if base is not None:
        prefix = f"{tag} " if tag else ""
        print(f"{prefix}base model of seed {base['seed']} missing: training it first "
              "(make base-model)", flush=True)
        execute("base_model", profile, base, rehearse=rehearse)


def _stop_on_sigterm() -> None:
    """A `kill` (SIGTERM) unwinds like Ctrl-C, so the run being executed is marked failed."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m reason_lib.cli` (`make <experiment>` builds it)."""
    out = argparse.ArgumentParser(prog="python -m reason_lib.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    out.add_argument("experiment", choices=sorted(config.EXPERIMENTS))
    out.add_argument("--profile", default="cpu", help="params/<experiment>/<profile>.yaml")
    out.add_argument("-p", "--param", nargs=2, action="append", default=[],
                        metavar=("KEY", "VALUE"), help="override one parameter (YAML value)")
    out.add_argument("--resume", default="", metavar="RUN_ID",
                        help="continue a stopped run from its last checkpoint")
    out.add_argument("--force", action="store_true",
                        help="with --resume: run a run that already succeeded again")
    out.add_argument("--reuse", action="store_true",
                        help="skip the run when a succeeded one with the same parameters exists "
                             "(and the model it saved is still there)")
    out.add_argument("--rehearse", action="store_true",
                        help="rehearse the profile on CPU: its values with sizes cut to a few "
                             "(reason_lib.rehearsal), labelled <profile>-rehearsal")
    out.add_argument("--grid", default="", metavar="YAML",
                        help="run every configuration of a grid file (a list of overrides)")
    out.add_argument("--seeds", default="", metavar="N|a-b|a,b",
                        help="run the configuration (or every one of the grid) at each of these "
                             "training seeds: N means 0..N-1 (make <target> SEEDS=N); the test "
                             "items stay those of data_seed")
    out.add_argument("--claims", action="store_true",
                        help="only the configurations the claims (reason_lib/studies/claims.yaml) "
                             "compare: each configuration list (variants, runs, reward_types, "
                             "methods) cut to them, as `make claims` runs")
    out.add_argument("--nproc", type=int, default=1, metavar="N",
                        help="run the notebook in N processes under accelerate launch (DDP on N "
                             "GPUs, or N gloo processes on CPUs); make <experiment> NPROC=N")
    out.add_argument("--accelerate-config", default="", metavar="YAML",
                        help="an accelerate config file (params/accelerate/: DDP, FSDP, "
                             "DeepSpeed ZeRO-3); its num_processes replaces --nproc")
    out.add_argument("--prepare", action="store_true",
                        help="check everything and create the run folder, print its path, run "
                             "nothing (a cluster job then launches its ranks on it: "
                             "params/accelerate/slurm.sh)")
    out.add_argument("--mark-failed", default="", metavar="RUN_DIR",
                        help="mark a prepared run failed (its launch failed)")
    return out


def run_entries(args, overrides: dict) -> int:
    """--seeds / --grid: every entry (each seed of each grid row) as its own run, each checked
    before the first starts; 1 when any failed."""
    if args.seeds and (args.resume or args.prepare):
        raise config.ParamError("--seeds runs new runs: not with --resume or --prepare")
    entries = load_grid(args.grid, args.experiment, args.profile, overrides) \
        if args.grid else [overrides]
    if args.claims:  # per entry: a grid may set its own lists
        entries = [with_claims(args.experiment, args.profile, e) for e in entries]
    if args.seeds:  # every seed's parameters valid before the first run starts
        entries = [{**entry, "seed": seed} for seed in parse_seeds(args.seeds)
                   for entry in entries]
        for entry in entries:
            config.load_params(args.experiment, args.profile, entry)
    label = "seeds" if args.seeds else "grid"
    outcomes = run_grid(args.experiment, args.profile, entries, rehearse=args.rehearse,
                        reuse=args.reuse, label=label,
                        nproc=args.nproc, accelerate_config=args.accelerate_config)
    failed = [(e, o) for e, o in outcomes if o != "succeeded"]
    print(f"{label}: {len(outcomes) - len(failed)} of {len(outcomes)} runs succeeded")
    for entry, outcome in failed:
        print(f"  failed: {entry}: {outcome}", file=sys.stderr)
    return 1 if failed else 0


def print_help(experiment: str, argv: list[str]) -> int:
    """The command line's help, then every parameter of `experiment` with the value of the
    profile `argv` names (cpu by default) where it differs from the default."""
    parser().print_help()
    profile = argv[argv.index("--profile") + 1] if "--profile" in argv[:-1] else "cpu"
    try:
        values = config.load_params(experiment, profile)
    except config.ParamError as e:
        print(f"\n(profile {profile}: {e})")
        values = None
    print("\n" + parameters_help(config.EXPERIMENTS[experiment].params, values, profile), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    _stop_on_sigterm()
    argv = with_make_args(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help"} & set(argv) and (named := [a for a in argv if a in config.EXPERIMENTS]):
        return print_help(named[0], argv)
    args = parser().parse_args(argv)
    if args.mark_failed:  # first: slurm.sh calls it with the launch's variables still set
        run = runs.Run(args.mark_failed)
        if run.status != "succeeded":
            run.fail("a process of the launch failed")
        return 1
    if os.environ.get(distributed.LAUNCHED):  # one process of `launch`: the folder exists
        run_rank(args.profile)
        return 0
    overrides = {k: config.parse_override(v) for k, v in args.param}
    try:
        if args.claims and args.resume:
            raise config.ParamError("--claims starts new runs: not with --resume")
        if args.seeds or args.grid:
            return run_entries(args, overrides)
        if args.claims:
            overrides = with_claims(args.experiment, args.profile, overrides)
        if args.reuse and reusable(args.experiment, args.profile, overrides):
            return 0
        if args.prepare:
            run, _ = prepare(args.experiment, args.profile, overrides, args.resume,
                             args.rehearse, args.nproc, args.accelerate_config, args.force)
            print(run.dir)
            return 0
        if not args.resume:
            train_missing_base_model(args.experiment, args.profile, overrides, args.rehearse)
        run = execute(args.experiment, args.profile, overrides, args.resume,
                      rehearse=args.rehearse, nproc=args.nproc,
                      accelerate_config=args.accelerate_config, force=args.force)
    except (config.ParamError, DataError, MemoryError) as e:  # no run was started
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        name = type(e).__name__
        if name == "PapermillExecutionError":
            print(f"error: a notebook cell failed: {e.ename}: {e.evalue}", file=sys.stderr)
        else:
            traceback.print_exc()
        return 1
    print(f"succeeded: {run.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
