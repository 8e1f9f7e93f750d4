"""More than one process: what each rank does, through accelerate (no process-group code here).

A run with `--nproc N` (`make <experiment> NPROC=N`) is N copies of the experiment's notebook
started by `accelerate launch` (`launch_command`): every rank builds the same data and models,
TRL's trainers and the hand-written loops (`train.reinforce`, `train.pause`) train through
accelerate (DDP, or FSDP / DeepSpeed from an accelerate config file), generation is sharded
(`batches`: each rank decodes whole batches of the single-process order, gathered back in
prompt order by `gather_filled`), and only the main process writes the run folder: the others
write to a throwaway copy that shares only its checkpoints (`runs.Run.shadow`), which the main
process alone writes (`main_writes`, and transformers' own savers). One process (the default)
is exactly the single-process code path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState
from accelerate.state import AcceleratorState
from accelerate.utils import InitProcessGroupKwargs, gather_object

from reason_lib.config import ParamError, read_yaml

LAUNCHED = "REASON_LIB_LAUNCHED"  # set by the launcher in every rank: the run folder's path
# How long a collective waits for the other ranks: transformers' Trainer default (`ddp_timeout`),
# for the hand-written loops too, so a main rank saving a 15 GB model or scoring a long
# evaluation alone does not trip NCCL's 10-minute default.
TIMEOUT = timedelta(seconds=1800)


def accelerator() -> Accelerator:
    """accelerate's `Accelerator` for the hand-written loops (`train.reinforce`, `train.pause`):
    DDP over the launcher's processes, no mixed precision (the loops compute in the model's own
    dtype, whatever an accelerate config says for the TRL trainers). A TRL trainer's earlier
    accelerator settings are cleared first, as each TRL trainer clears its predecessor's."""
    AcceleratorState._reset_state()
    return Accelerator(cpu=not torch.cuda.is_available(), mixed_precision="no",
                       kwargs_handlers=[InitProcessGroupKwargs(timeout=TIMEOUT)])


def world_size() -> int:
    """Processes in this job (1 unless started by a distributed launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """This process's index on its machine (its GPU)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def state() -> PartialState:
    """accelerate's process state (joins the process group on first use; gloo on CPUs)."""
    return PartialState(cpu=not torch.cuda.is_available(), timeout=TIMEOUT)


def batches(items: list) -> list:
    """This rank's share of `items` (whole batches, in turn: rank r takes r, r + N, ...), so that
    every batch is composed as in one process and greedy decoding returns the same tokens."""
    n = world_size()
    return items if n == 1 else items[rank()::n]


def micro_steps(parts: list, model, accelerator=None):
    """Each part of one optimiser step in turn, every one but the last inside
    `accelerator.no_sync(model)`: with DDP the gradients accumulate locally and are averaged over
    the processes once, after the last part's backward (one process: no context at all)."""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        with contextlib.nullcontext() if accelerator is None or last else accelerator.no_sync(model):
            yield part


def gather_filled(out: list) -> list:
    """`out` with every rank's filled slots (not None) merged, in order, on every rank."""
    if world_size() == 1:
        return out
    filled = gather([(i, x) for i, x in enumerate(out) if x is not None])
    merged = list(out)
    for i, x in filled:
        merged[i] = x
    return merged


def gather(values: list) -> list:
    """Every rank's list, concatenated in rank order (each rank gets all)."""
    if world_size() == 1:
        return values
    state()
    return gather_object(list(values))


def barrier() -> None:
    if world_size() > 1:
        state().wait_for_everyone()


def main_writes(write, *args, **kwargs) -> None:
    """`write(*args, **kwargs)` in the main process only, every other one waiting until it is
    done: for files all processes read back, such as checkpoints (a run's checkpoints folder is
    shared by its processes, `runs.Run.shadow`)."""
    if is_main():
        write(*args, **kwargs)
    barrier()


# Accelerate's sharding engines: each process holds a shard of the model's parameters.
SHARDED = ("FSDP", "DEEPSPEED")


def check_accelerate_config(path, experiment: str) -> int:
    """A ParamError naming the file, the field and the value, before anything runs, for an
    accelerate config that shards the model (FSDP, DeepSpeed ZeRO): every experiment here
    generates from the whole model in each process (evaluations, STaR sampling, rollouts), and
    the hand-written loops prepare model and optimizer without a dataloader and save from the
    main process alone; under a sharded model that hangs at the first unequal generate, fails at
    `prepare` (DeepSpeed's `auto` micro batch) or saves empty partitions. Each process holding
    the whole model (DDP) is what runs; the gpu profiles fit one GPU with LoRA. Returns the
    file's `num_processes` (what `accelerate launch --config_file` starts)."""
    values = read_yaml(Path(path).read_text()) or {}
    kind = str(values.get("distributed_type", "")).upper()
    if kind in SHARDED:
        raise ParamError(f"--accelerate-config {path}: field 'distributed_type' (value {kind}): "
                         f"{experiment} generates from the whole model in every process and "
                         "saves from the main one, which a sharded model does not allow; use "
                         "params/accelerate/ddp.yaml (or NPROC=N): DDP, each GPU holding the "
                         "LoRA-trained model (README, More than one GPU)")
    processes = values.get("num_processes", 1)
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise ParamError(f"--accelerate-config {path}: field 'num_processes' (value "
                         f"{processes!r}): must be a whole number >= 1")
    return processes


def launch_command(nproc: int, argv: list[str], config_file: str = "") -> list[str]:
    """`accelerate launch` of `python -m reason_lib.cli <argv>` on `nproc` processes: with an
    accelerate config file (params/accelerate/ddp.yaml; `check_accelerate_config`) as it says (its
    num_processes), else plain data parallel (`--multi_gpu`: DDP on the GPUs, or gloo processes
    on a machine with none) from `plain_config`'s file, so a user's own accelerate default
    config (~/.cache/huggingface/accelerate/default_config.yaml, which `accelerate launch` reads
    whenever no file is named) never fills in GPU ids, machines or precision unseen."""
    if nproc < 1:
        raise ValueError(f"nproc {nproc}: must be at least 1")
    exe = shutil.which("accelerate", path=os.path.dirname(sys.executable)) or "accelerate"
    if config_file:
        return [exe, "launch", "--config_file", config_file, "-m", "reason_lib.cli", *argv]
    return [exe, "launch", "--config_file", str(plain_config()), "--multi_gpu", "--num_machines",
            "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--num_processes", str(nproc),
            "--main_process_port", str(free_port()), "-m", "reason_lib.cli", *argv]


def plain_config() -> Path:
    """An accelerate config file for plain data parallel on one machine, every other field at
    accelerate's own default (the flags of `launch_command` give processes, port and precision),
    written once per process into the temporary folder."""
    import yaml

    path = Path(tempfile.gettempdir()) / f"reason_lib-accelerate-{os.getpid()}.yaml"
    if not path.is_file():
        path.write_text(yaml.safe_dump({
            "compute_environment": "LOCAL_MACHINE", "distributed_type": "MULTI_GPU",
            "gpu_ids": "all", "machine_rank": 0, "num_machines": 1, "mixed_precision": "no",
            "rdzv_backend": "static", "same_network": True, "use_cpu": False}))
    return path


def free_port() -> int:
    """A TCP port free on this machine now (two launched runs side by side must not share the
    process group's rendezvous port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
