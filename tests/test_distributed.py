"""reason_lib.distributed: every training stage and generation in two gloo processes under
`accelerate launch` gives what one process gives with the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reason_lib import distributed
from reason_lib.generate import SeededSampling, rollout, sample_seed

PROJ_ROOT = Path(__file__).resolve().parents[1]
JOB = PROJ_ROOT / "tests" / "distributed_job.py"
# Two processes reduce the same numbers in another order (gloo's all-reduce, per-rank sums):
# losses agree to float32 rounding, far inside this relative tolerance, while one changed example
# in a step moves them by about 1e-2 (measured: a short last batch filled by accelerate).
REL = 1e-4


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(PROJ_ROOT)}


@pytest.fixture(scope="module")
def one_and_two(tiny, tmp_path_factory):
    """The job's results in one process and in two."""
    _, _, path = tiny
    out = tmp_path_factory.mktemp("distributed")
    one = subprocess.run([sys.executable, str(JOB), str(path), str(out / "one")], env=_env(),
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    cmd = distributed.launch_command(2, [])[:-2] + [str(JOB), str(path), str(out / "two")]
    two = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    return (json.loads((out / "one" / "results.json").read_text()),
            json.loads((out / "two" / "results.json").read_text()))


def test_sharded_greedy_generation_returns_the_unsharded_replies_in_order(one_and_two):
    one, two = one_and_two
    assert (one["processes"], two["processes"]) == (1, 2)
    assert len(set(one["greedy"])) > 6  # the replies differ from one another
    assert two["greedy"] == one["greedy"]


@pytest.mark.parametrize("stage", ["sft", "dpo", "reward_model"])
def test_trl_stages_log_the_one_process_losses(one_and_two, stage):
    one, two = one_and_two
    assert len(one[stage]) >= 3 and len(two[stage]) == len(one[stage])
    assert two[stage] == pytest.approx(one[stage], rel=REL)
    assert len(set(one[stage])) == len(one[stage])  # the steps differ: the model trained


def test_pause_lm_training_in_two_processes_repeats_one(one_and_two):
    """The hand-written pause-LM loop: each rank half of each step's rows, DDP's average; one
    process takes the step in the same two parts."""
    one, two = one_and_two
    for key in ("loss", "pause_loss"):
        assert len(one["pause_lm"][key]) == 3
        assert two["pause_lm"][key] == pytest.approx(one["pause_lm"][key], rel=REL), key
    assert one["pause_lm"]["loss"][-1] < one["pause_lm"]["loss"][0]
    for short in ("pause_lm_5_rows", "pause_lm_1_row"):  # steps with fewer rows than processes'
        assert len(one[short]) == 3 and one[short][-1] < one[short][0]  # batch: no hang either
        assert two[short] == pytest.approx(one[short], rel=REL), short


@pytest.mark.parametrize("method", ["reinforce", "rloo"])
def test_policy_gradient_in_two_processes_repeats_one(one_and_two, method):
    """Each rank samples its half of the step's prompts from the samples' own seeds; DDP
    averages the gradients: rewards, losses and gradient norms as in one process."""
    one, two = one_and_two
    for key in ("reward", "loss", "grad_norm"):
        assert len(one[method][key]) == 3
        assert two[method][key] == pytest.approx(one[method][key], rel=REL), key
    assert len(set(one[method]["reward"])) > 1


def test_seeded_samples_do_not_depend_on_the_batch(tiny):
    """A completion drawn with its own seed is the same alone or inside a larger batch."""
    model, tok, _ = tiny
    prompts = [[{"role": "user", "content": f"question {i}"}] for i in range(4)]
    seeds = [sample_seed(3, 1, i) for i in range(8)]
    both = rollout(model, tok, prompts, k=2, max_new_tokens=6, seeds=seeds)
    last = rollout(model, tok, prompts[2:], k=2, max_new_tokens=6, seeds=seeds[4:])
    assert both.texts[4:] == last.texts
    other = rollout(model, tok, prompts[2:], k=2, max_new_tokens=6,
                    seeds=[sample_seed(4, 1, i) for i in range(4, 8)])
    assert other.texts != last.texts
    with pytest.raises(ValueError, match="8 seeds for 3 prompts x 2"):
        rollout(model, tok, prompts[:3], k=2, seeds=seeds)
    with pytest.raises(ValueError, match="temperature > 0"):
        SeededSampling([1], temperature=0.0)


def test_seeded_sampling_draws_from_the_softmax():
    """Gumbel-max: the share of each token over many draws is its softmax probability."""
    import torch

    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    draws = [SeededSampling([s], temperature=1.0)(None, logits).argmax().item()
             for s in range(4000)]
    share = torch.bincount(torch.tensor(draws), minlength=4).float() / len(draws)
    assert torch.allclose(share, logits.softmax(-1)[0], atol=0.03)


def test_launch_command_uses_a_config_file_or_plain_data_parallel(tmp_path):
    plain = distributed.launch_command(4, ["reinforce_rm", "--profile", "cpu"])
    assert plain[1] == "launch" and "--multi_gpu" in plain
    # a file is always named: accelerate reads a user's default config only when none is
    written = plain[plain.index("--config_file") + 1]
    assert "distributed_type: MULTI_GPU" in open(written).read() and "gpu_ids: all" in open(written).read()
    assert plain[plain.index("--num_processes") + 1] == "4"
    assert plain[-5:] == ["-m", "reason_lib.cli", "reinforce_rm", "--profile", "cpu"]
    config = distributed.launch_command(8, ["x"], "params/accelerate/ddp.yaml")
    assert config[1:4] == ["launch", "--config_file", "params/accelerate/ddp.yaml"]
    assert "--multi_gpu" not in config
    with pytest.raises(ValueError, match="at least 1"):
        distributed.launch_command(0, [])


def test_vllm_options_reach_trls_grpo_config(tmp_path):
    from reason_lib.config import load_params
    from reason_lib.train.grpo import grpo_args, vllm_settings

    params = load_params("perplexity_grpo", "cpu", {"vllm_mode": "server",
                                                     "vllm_gpu_memory_utilization": 0.5})
    assert vllm_settings(params) == {}  # off by default: TRL generates with transformers
    params.use_vllm = True
    args = grpo_args(tmp_path, steps=2, batch_size=4, num_generations=2, **vllm_settings(params))
    assert (args.use_vllm, args.vllm_mode, args.vllm_gpu_memory_utilization) == (True, "server", 0.5)


def test_use_vllm_without_vllm_installed_stops_with_one_line_saying_where_to_get_it(monkeypatch):
    import importlib.util

    from reason_lib.config import ParamError, load_params

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(ParamError, match=r"use_vllm.*vLLM is not installed.*More than one GPU"):
        load_params("perplexity_grpo", "cpu", {"use_vllm": True})


def test_a_step_that_cannot_be_split_over_the_processes_stops_before_any_run(outputs, capsys):
    from reason_lib import cli

    assert cli.main(["reinforce_rm", "--profile", "ci", "--nproc", "3"]) == 2
    assert "key 'batch_size' (value 16): cannot be split over --nproc 3" in capsys.readouterr().err
    assert not (outputs / "reinforce_rm").exists()


def test_a_sharding_accelerate_config_is_refused_before_a_run_folder_exists(tmp_path, monkeypatch):
    """FSDP and DeepSpeed configs stop `reason_lib.cli` at once, naming the file and the field:
    the project's generation and hand-written loops need the whole model in each process."""
    from reason_lib import cli
    from reason_lib.config import ParamError

    monkeypatch.setenv("REASON_LIB_OUTPUTS", str(tmp_path / "outputs"))
    ddp = (PROJ_ROOT / "params" / "accelerate" / "ddp.yaml").read_text()
    for kind in ("FSDP", "DEEPSPEED"):
        sharded = tmp_path / f"{kind}.yaml"
        sharded.write_text(ddp.replace("distributed_type: MULTI_GPU", f"distributed_type: {kind}"))
        with pytest.raises(ParamError, match=f"{kind}.yaml: field 'distributed_type' \\(value {kind}\\)"):
            cli.prepare("pause_star", "ci", accelerate_config=str(sharded))
    assert not (tmp_path / "outputs").exists()


def test_an_accelerate_configs_process_count_is_the_runs(tmp_path, monkeypatch):
    """With ACCELERATE_CONFIG alone the run once recorded 1 process and skipped the check that
    each step's batch splits evenly over the processes; the file's num_processes is used."""
    from reason_lib import cli
    from reason_lib.config import ParamError

    monkeypatch.setenv("REASON_LIB_OUTPUTS", str(tmp_path / "outputs"))
    ddp = (PROJ_ROOT / "params" / "accelerate" / "ddp.yaml").read_text()
    assert "num_processes: 8" in ddp
    for n in (2, 3):
        path = tmp_path / f"ddp{n}.yaml"
        path.write_text(ddp.replace("num_processes: 8", f"num_processes: {n}"))
        if n == 3:  # ci pause_star's batch of 4 does not split over 3
            with pytest.raises(ParamError, match="cannot be split over --nproc 3"):
                cli.prepare("pause_star", "ci", accelerate_config=str(path))
        else:
            folder, _ = cli.prepare("pause_star", "ci", accelerate_config=str(path))
            assert folder.manifest["processes"] == 2


def test_the_process_group_waits_as_long_as_the_trainers_do(monkeypatch):
    """The hand-written loops' process group had no timeout of its own (NCCL's 10 minutes, not
    the Trainer's `ddp_timeout` of 30): both ways of joining it now pass 1,800 s."""
    from datetime import timedelta

    seen = {}
    monkeypatch.setattr(distributed, "PartialState", lambda **kw: seen.update(kw))
    distributed.state()
    assert seen["timeout"] == timedelta(seconds=1800)
    assert distributed.accelerator().init_handler.timeout == timedelta(seconds=1800)


def test_each_rank_samples_its_share_with_its_own_noise(monkeypatch):
    """Ranks share torch's seed, so rank 1's first batch once drew exactly rank 0's noise: the
    shards' samples were correlated. Ranks past the first now draw from their own stream; rank
    0 draws what one process draws (a ci run on 2 processes keeps the one-process numbers)."""
    import torch

    from reason_lib.generate import rank_stream

    def draws(world, rank):
        monkeypatch.setattr(distributed, "world_size", lambda: world)
        monkeypatch.setattr(distributed, "rank", lambda: rank)
        torch.manual_seed(7)
        with rank_stream():
            return torch.rand(3)

    one, first, second, third = draws(1, 0), draws(2, 0), draws(2, 1), draws(3, 2)
    assert torch.equal(one, first)
    assert not torch.equal(first, second) and not torch.equal(second, third)
