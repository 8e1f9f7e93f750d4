"""reason_lib.estimate: parameter counts that match the models, and estimates that follow the
memory knobs and stop a run that cannot fit."""

import dataclasses

import pytest
import transformers

from reason_lib import config
from reason_lib.cost import GIB, architecture
from reason_lib.estimate import check_fits, estimate


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
    from reason_lib.estimate import _phases

    p = config.load_params("pause_star", "gpu")

    def training(**knobs):
        q = dataclasses.replace(p, **knobs)
        return estimate("pause_star", q), _phases("pause_star", q)[1]["training"]

    wide, wide_parts = training(micro_batch_size=16, gradient_checkpointing=False)
    narrow, narrow_parts = training(micro_batch_size=4, gradient_checkpointing=False)
    ckpt, ckpt_parts = training()  # the gpu.yaml: 4 at a time, checkpointing on
    assert (p.micro_batch_size, p.gradient_checkpointing) == (4, True)
    assert wide_parts["activations"] == pytest.approx(4 * narrow_parts["activations"])
    assert ckpt_parts["activations"] < narrow_parts["activations"]
    # 16 at a time without checkpointing makes training the heaviest phase
    assert wide.phase == "training" and ckpt.peak <= narrow.peak < wide.peak and ckpt.disk == wide.disk
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


HOST = {"step_s": 1e-3, "layer_s": 3e-4, "lora_step_s": 5e-4, "lora_layer_s": 2e-4}


def test_run_time_follows_the_work_and_a_decoding_step_is_its_slowest_floor(monkeypatch):
    from reason_lib import cost as e
    from reason_lib.estimate import hours

    monkeypatch.setattr(e, "host_fit", lambda: HOST)
    mistral = architecture("mistralai/Mistral-7B-v0.1")
    qwen = architecture("Qwen/Qwen2.5-1.5B-Instruct")
    read = mistral.params * 2 / (e.GPU["bandwidth"] * e.ENGINES["eager"]["bandwidth_share"])
    host = HOST["step_s"] + 32 * HOST["layer_s"]  # 10.6 ms, above the 7 ms weight read
    # one 7B reply at a time, no prompt: the host launching 32 blocks' kernels is the floor; with
    # CUDA graphs (vLLM) the weight read is
    assert e.generation_s(mistral, 2, 10, 1, 100, 0) == pytest.approx(10 * 100 * host)
    vllm = e.generation_s(mistral, 2, 10, 1, 100, 0, engine="vllm")
    assert vllm == pytest.approx(10 * 100 * mistral.params * 2 / (e.GPU["bandwidth"] * 0.9), rel=0.01)
    # unmerged LoRA adds peft's kernels to every step
    lora_host = host + HOST["lora_step_s"] + 32 * HOST["lora_layer_s"]
    assert e.decode_step_s(mistral, 2, 1, 0, lora=True) == pytest.approx(lora_host)
    # a small model's batch-1 step is all host; a large batch with long contexts reads its KV cache
    assert e.decode_step_s(qwen, 2, 1, 300) == pytest.approx(HOST["step_s"] + 28 * HOST["layer_s"])
    big = e.decode_step_s(mistral, 2, 256, 2000)
    assert big == pytest.approx((mistral.params * 2 + e.kv_cache(mistral, 256, 2000, 2)) * read
                                / (mistral.params * 2))
    # batched decoding shares the weight reads: 64 replies together cost far less than 64 alone
    assert e.generation_s(mistral, 2, 64, 64, 100, 0) < 0.1 * e.generation_s(mistral, 2, 64, 1, 100, 0)
    assert e.compute_s(mistral, 1e6, "full") > e.compute_s(mistral, 1e6, "lora") > e.compute_s(mistral, 1e6)
    assert e.compute_s(mistral, 1e6, "lora", True) > e.compute_s(mistral, 1e6, "lora")
    p = config.load_params("perplexity_grpo", "gpu")
    longer = dataclasses.replace(p, steps=2 * p.steps)
    assert 1.5 * hours("perplexity_grpo", p) < hours("perplexity_grpo", longer) < 2 * hours("perplexity_grpo", p)
    # the gpu.yaml generates with transformers; with use_vllm its rollouts lose the host floor
    assert hours("perplexity_grpo", dataclasses.replace(p, use_vllm=True)) < hours("perplexity_grpo", p)


def test_the_host_fit_recovers_its_coefficients_and_a_measurement_fills_it():
    from reason_lib.estimate import fit_host, measure_host

    points = [{"layers": n, "lora": lora, "step_s": HOST["step_s"] + n * HOST["layer_s"]
               + lora * (HOST["lora_step_s"] + n * HOST["lora_layer_s"])}
              for n in (2, 8, 16) for lora in (False, True)]
    assert fit_host(points) == pytest.approx(HOST)
    measured = measure_host(layers=(1, 2), new_tokens=4, repeats=1)
    assert [(q["layers"], q["lora"]) for q in measured["points"]] == \
        [(1, False), (1, True), (2, False), (2, True)]
    assert measured["fit"] == fit_host(measured["points"]) and measured["measured_on"]


def test_memory_takes_the_longest_prompt_batch_and_the_two_models_the_code_holds(monkeypatch):
    from reason_lib import cost as e

    star = config.load_params("star_mmlu", "gpu")
    llama = architecture(star.model)
    base = estimate("star_mmlu", star)
    # testing a run's other loops holds the best loop beside them: two models, and the longest
    # MMLU prompts (over 1,000 tokens) in the last, longest batch
    assert base.phase == "testing other loops (two models)"
    assert base.components["weights (two models)"] == 2 * llama.params * 2
    longest = e.prompt_lengths()["mmlu"]["max"]
    assert longest > 1000 > 4 * e.prompt_lengths()["mmlu"]["mean"]
    kv = f"KV cache (longest batch: {star.eval_batch_size} x {longest} + {star.max_new_tokens} tokens)"
    assert base.components[kv] == e.kv_cache(llama, star.eval_batch_size, longest + star.max_new_tokens, 2)
    longer = {t: {**v, "max": 2 * v["max"]} for t, v in e.prompt_lengths().items()}
    monkeypatch.setattr(e, "prompt_lengths", lambda: longer)
    doubled = estimate("star_mmlu", star)
    assert doubled.peak > base.peak and doubled.components["prefill temporaries"] > \
        base.components["prefill temporaries"]


def test_the_reward_model_trains_in_full_float32_unless_blocks_are_named():
    from reason_lib import estimate as e

    p = config.load_params("reinforce_rm", "gpu")
    assert p.rm_trainable_layers == -1  # the gpu.yaml trains every parameter
    arch = architecture(p.base_model)
    rm = e._phases("reinforce_rm", p)[1]["reward-model training"]
    assert rm["reward model + AdamW (full-parameter)"] == (arch.params + arch.hidden) * 16
    two = e._phases("reinforce_rm", dataclasses.replace(p, rm_trainable_layers=2))[1]
    trained = 2 * arch.block_params + 2 * arch.hidden
    assert two["reward-model training"]["reward model + AdamW (top 2 blocks)"] == \
        trained * 16 + (arch.params + arch.hidden - trained) * 2
    full_time = e._seconds("reinforce_rm", p)["SFT and reward model"]
    assert e._seconds("reinforce_rm", dataclasses.replace(p, rm_trainable_layers=2))["SFT and reward model"] < full_time


def test_prompt_lengths_are_counted_from_the_real_data_as_the_experiments_render_them(tiny):
    from reason_lib.config import data_root
    from reason_lib.cost import PROMPT_SOURCES, prompt_lengths
    from reason_lib.estimate import measure_prompts, task_prompts
    from reason_lib.generate import render_prompts

    data = data_root()  # the real data, beside the checkout as in CI (tests/test_data.py too)
    _, tok, _ = tiny
    measured = measure_prompts(tok, data)
    committed = prompt_lengths()
    for task in PROMPT_SOURCES:
        m = measured[task]
        # the committed table covers every row of the data here (the tokenizers differ)
        assert m["rows"] == committed[task]["rows"] and m["max"] >= m["p99"] >= m["mean"] > 0
        longest = render_prompts(tok, [task_prompts(task, data)[m["longest_row"] - 1]])[0]
        assert len(tok(longest, add_special_tokens=False)["input_ids"]) == m["max"]
