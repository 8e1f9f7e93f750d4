#!/bin/bash
# Several nodes: one process per GPU on every node, under accelerate launch, the run folder on a
# filesystem every node sees. From the repository root (its .venv installed on the nodes):
#   sbatch --nodes 2 params/accelerate/slurm.sh perplexity_grpo --profile gpu [-p key value ...]
# DDP by default; ACCELERATE_CONFIG=<a DDP accelerate config> uses that file, its machine and
# process counts replaced by the allocation's (FSDP / DeepSpeed configs are refused at --prepare). Not yet run on a cluster:
# the same ranks have run as two CPU processes on one machine (tests/test_distributed.py).
#SBATCH --job-name=reason_lib
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=32
#SBATCH --output=slurm-%j.log
set -euo pipefail
PY=${PY:-.venv/bin/python}
GPUS=${SLURM_GPUS_ON_NODE:-8}
# validated and created once, here: the folder every rank runs in (its path is the last line)
RUN_DIR=$("$PY" -m reason_lib.cli "$@" --prepare --nproc $((GPUS * SLURM_NNODES)) \
    ${ACCELERATE_CONFIG:+--accelerate-config "$ACCELERATE_CONFIG"} | tail -n 1)
HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
if [ -n "${ACCELERATE_CONFIG:-}" ]; then HOW="--config_file $ACCELERATE_CONFIG"; else HOW="--multi_gpu"; fi
export REASON_LIB_LAUNCHED="$RUN_DIR" PY HOW HEAD GPUS
srun --kill-on-bad-exit=1 bash -c '"$PY" -m accelerate.commands.launch $HOW \
    --num_machines "$SLURM_NNODES" --machine_rank "$SLURM_NODEID" \
    --main_process_ip "$HEAD" --main_process_port 29500 \
    --num_processes $((GPUS * SLURM_NNODES)) -m reason_lib.cli "$@"' _ "$@" \
  || "$PY" -m reason_lib.cli "$@" --mark-failed "$RUN_DIR"
