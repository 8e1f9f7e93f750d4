"""reason_lib.estimate: parameter counts that match the models, and estimates that follow the
memory knobs and stop a run that cannot fit."""

import dataclasses

import pytest
import transformers

from reason_lib import config
from reason_lib.estimate import GIB, architecture, check_fits, estimate


@pytest.mark.parametrize("arch, extra", [("LlamaForCausalLM", {"tie_word_embeddings": True}),
                                         ("MistralForCausalLM", {}), ("Qwen2ForCausalLM", {})])
def test_the_parameter_count_is_the_models(tmp_path, arch, extra):
    cfg = getattr(transformers, arch.replace("ForCausalLM", "Config"))(
        vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, **extra)
    model = getattr(transformers, arch)(cfg)
    model.save_pretrained(tmp_path)
    a = architecture(str(tmp_path))
    assert a.params == sum(p.numel() for p in model.parameters())


def test_estimates_follow_the_memory_knobs_and_the_generation_batch():
    p = config.load_params("pause_star", "gpu")

    def training(**knobs):
        est = estimate("pause_star", dataclasses.replace(p, **knobs))
        return est, dict(est.components) if est.phase == "training" else {}

    wide, wide_parts = training(micro_batch_size=16, gradient_checkpointing=False)
    narrow, narrow_parts = training(micro_batch_size=4, gradient_checkpointing=False)
    ckpt = estimate("pause_star", p)  # the gpu.yaml: 4 at a time, checkpointing on
    assert (p.micro_batch_size, p.gradient_checkpointing) == (4, True)
    assert wide_parts["activations"] == pytest.approx(4 * narrow_parts["activations"])
    assert ckpt.peak < narrow.peak < wide.peak and ckpt.disk == wide.disk
    star = config.load_params("star_mmlu", "gpu")
    prompts = estimate("star_mmlu", dataclasses.replace(star, sample_batch_size=0))
    assert prompts.phase == "rollouts" and prompts.peak > 80 * GIB > estimate("star_mmlu", star).peak


def test_a_run_that_cannot_fit_stops_before_anything_loads(capsys):
    p = dataclasses.replace(config.load_params("star_mmlu", "gpu"), sample_batch_size=0)
    with pytest.raises(MemoryError, match=r"star_mmlu: estimated peak GPU memory .* exceeds the "
                                          r"device's 80.0 GiB \(in rollouts\)"):
        check_fits("star_mmlu", p, device_bytes=80 * GIB)
    est = check_fits("star_mmlu", config.load_params("star_mmlu", "gpu"), device_bytes=80 * GIB)
    assert est.peak < 80 * GIB and "estimate: star_mmlu" in capsys.readouterr().out
    assert check_fits("star_mmlu", config.load_params("star_mmlu", "cpu")) is None  # not a GPU run


def test_run_time_follows_the_work_and_decoding_reads_the_weights_each_step():
    from reason_lib.estimate import GPU, compute_s, generation_s, hours

    mistral = architecture("mistralai/Mistral-7B-v0.1")
    # one reply at a time, no prompt: each step reads the weights (and a tiny KV cache) once
    one = generation_s(mistral, 2, 10, 1, 100, 0)
    weights_read = mistral.params * 2 / (GPU["bandwidth"] * GPU["bandwidth_share"])
    assert one == pytest.approx(10 * 100 * weights_read, rel=0.01)
    # batched decoding shares the weight reads: 64 replies together cost far less than 64 alone
    assert generation_s(mistral, 2, 64, 64, 100, 0) < 0.1 * generation_s(mistral, 2, 64, 1, 100, 0)
    assert compute_s(mistral, 1e6, "full") > compute_s(mistral, 1e6, "lora") > compute_s(mistral, 1e6)
    assert compute_s(mistral, 1e6, "lora", True) > compute_s(mistral, 1e6, "lora")
    p = config.load_params("perplexity_grpo", "gpu")
    longer = dataclasses.replace(p, steps=2 * p.steps)
    assert 1.5 * hours("perplexity_grpo", p) < hours("perplexity_grpo", longer) < 2 * hours("perplexity_grpo", p)
