"""Every gpu profile, rehearsed end to end on CPU: the real Hub ids and dataset ids resolve offline
to tiny stand-ins (tests/standins.py) that carry the real ones' traits (tests/hub_traits.yaml);
every gpu.yaml value is kept except the sizes `reason_lib.rehearsal.shrink` cuts and the device."""

import csv
import json
import os
import subprocess
import sys

import pytest
import yaml

import standins
from reason_lib import config
from reason_lib.rehearsal import shrink

RUNS = [("base_model", []), ("pause_warmup", []), ("pause_star", []), ("star_mmlu", []),
        ("perplexity_grpo", []), ("reinforce_rm", ["-p", "level", "1"]),
        ("reinforce_rm", ["-p", "level", "2"]), ("evaluate", [])]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub_world")
    return root, standins.hub_world(root)


def _snapshot(root, repo_id):
    (folder,) = (root / "home" / "hub" / f"models--{repo_id.replace('/', '--')}" / "snapshots").iterdir()
    return folder


@pytest.mark.parametrize("repo_id", sorted(standins.TRAITS["models"]))
def test_each_model_stand_in_carries_the_real_models_traits(world, repo_id):
    from transformers import AutoTokenizer

    root, _ = world
    traits = standins.TRAITS["models"][repo_id]
    folder = _snapshot(root, repo_id)
    model_config = json.loads((folder / "config.json").read_text())
    assert model_config["architectures"] == [traits["architecture"]]
    assert model_config.get("tie_word_embeddings", False) == traits["tie_word_embeddings"]
    assert json.loads((folder / "tokenizer_config.json").read_text())["tokenizer_class"] == \
        traits["tokenizer_class"]
    tok = AutoTokenizer.from_pretrained(folder)
    for name in ("bos_token", "eos_token", "pad_token"):
        assert getattr(tok, name) == traits[name], name
    ids = tok("Kofi has 5 cards.")["input_ids"]
    assert (ids[0] == tok.bos_token_id) == traits["adds_bos"]
    assert tok.decode(ids, skip_special_tokens=True) == "Kofi has 5 cards."
    user = [{"role": "user", "content": "2+3?"}]
    if traits["chat_template"] == "none":
        assert tok.chat_template is None
        return
    text = tok.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    if traits["chat_template"] == "llama3":
        assert text.startswith(tok.bos_token + "<|start_header_id|>system<|end_header_id|>")
        assert "Cutting Knowledge Date" in text and text.endswith("assistant<|end_header_id|>\n\n")
    else:
        assert text == (f"<|im_start|>system\n{traits['default_system']}<|im_end|>\n"
                        "<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n")


def _mirror_configs(folder):
    """{config: splits} of a stand-in: its README's configs, or, for a dataset kept as subset
    folders of `<split>.jsonl.gz` without configs (Anthropic/hh-rlhf), the one default config."""
    if not (folder / "README.md").is_file():
        return {"default": {p.name.split(".")[0] for p in folder.glob("*/*.jsonl.gz")}}
    header = (folder / "README.md").read_text().split("---")[1]
    return {c["config_name"]: {f["split"] for f in c["data_files"]}
            for c in yaml.safe_load(header)["configs"]}


@pytest.mark.parametrize("repo_id", sorted(standins.TRAITS["datasets"]))
def test_each_dataset_stand_in_has_the_real_configs_splits_and_columns(world, repo_id):
    from datasets import load_dataset

    root, _ = world
    traits = standins.TRAITS["datasets"][repo_id]
    folder = root / "mirror" / repo_id
    for name, splits in _mirror_configs(folder).items():
        assert name in traits["configs"] and splits <= set(traits["configs"][name]), (name, splits)
        for split in splits:
            assert set(load_dataset(str(folder), name, split=split).column_names) == \
                set(traits["columns"]), (name, split)


def test_the_mmlu_stand_ins_keep_the_real_row_orders(world):
    from reason_lib.data import load_mmlu, load_preferences
    from reason_lib.data.files import DataError

    root, env = world
    english = list(csv.DictReader(open(root / "data" / "mmlu" / "test.csv", encoding="utf-8")))
    assert english[0][""] == "0"  # simple-evals' unnamed index column
    yoruba = load_mmlu(str(root / "mirror" / "openai/MMMLU"), "YO_NG")
    assert [(r["Subject"], r["Answer"]) for r in yoruba] == \
        [(r["Subject"], r["Answer"]) for r in english]  # translated row by row, same order
    cais = load_mmlu(str(root / "mirror" / "cais/mmlu"))
    assert [r["Subject"] for r in cais] == sorted(r["Subject"] for r in english)
    assert [r["Subject"] for r in cais] != [r["Subject"] for r in english]
    with pytest.raises(DataError, match=r"hh-rlhf/harmless-base \(train split\), row 41: field "
                                        r"'chosen'/'rejected'"):
        load_preferences(str(root / "mirror" / "Anthropic/hh-rlhf"), "train",  # malformed rows
                         subset="harmless-base")


def test_shrink_cuts_sizes_and_the_device_only():
    params = config.load_params("perplexity_grpo", "gpu")
    cuts = shrink(params)
    assert cuts == {"n_train": 8, "n_test": 8, "n_curve": 8, "steps": 2, "eval_every": 1,
                    "max_completion_length": 24, "max_new_tokens": 24, "device": "cpu"}
    rehearsed = config.load_params("perplexity_grpo", "gpu", cuts)
    assert (rehearsed.dtype, rehearsed.lora_r, rehearsed.batch_size, rehearsed.num_generations) \
        == ("bfloat16", 32, 64, 8)
    assert shrink(config.load_params("reinforce_rm", "gpu"))["n_eval_prompts"] == 8
    assert "max_new_tokens" not in shrink(config.load_params("reinforce_rm", "ci"))  # 8: small


@pytest.mark.parametrize("experiment, args", RUNS,
                         ids=[e + "".join(a[1:]) for e, a in RUNS])
def test_every_gpu_profile_runs_rehearsed_on_cpu(world, tmp_path, experiment, args):
    _, env = world
    outputs = tmp_path / "outputs"
    result = subprocess.run(
        [sys.executable, "-m", "reason_lib.cli", experiment, "--profile", "gpu", "--rehearse",
         *args], cwd=config.PROJ_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, **env, "REASON_LIB_OUTPUTS": str(outputs), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run,) = (outputs / experiment).iterdir()
    assert "-gpu-rehearsal-" in run.name
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    if config.EXPERIMENTS[experiment].model_field:  # bfloat16 on a CPU: checked against float32
        assert manifest["precision_check"]["passed"] and manifest["precision_check"]["dtype"] == "bfloat16"
    ran = yaml.safe_load((run / "params.yaml").read_text())
    overrides = dict(zip(args[1::3], (config.parse_override(v) for v in args[2::3])))
    gpu = config.load_params(experiment, "gpu", overrides)
    kept = {k: v for k, v in config.to_dict(gpu).items() if k not in shrink(gpu)}
    assert {k: ran[k] for k in kept} == kept  # ids, dtype, LoRA, batches: all as in gpu.yaml
    assert ran["device"] == "cpu" and ran["dtype"] == "bfloat16"
    metrics = json.loads((run / "metrics.json").read_text())
    if experiment == "base_model":  # a 7B model is scored on real GSM8K, not the offline world
        assert set(metrics) == {"GSM8K (real)"} and metrics["GSM8K (real)"]["accuracy"]["n"] == 8
        # the base model runs on past its answers; every reply scored was cut at the next question
        replies = [json.loads(line)["reply"] for line in (run / "samples.jsonl").read_text().splitlines()]
        assert len(replies) == 8 and not any("Question:" in r for r in replies)
    if experiment == "evaluate":  # the Hub id, found in the Hub cache, scored on real GSM8K
        assert list(metrics["models"]) == [gpu.model]
        assert metrics["models"][gpu.model]["GSM8K (real)"]["accuracy"]["n"] == 8


def test_the_base_model_stand_in_runs_on_past_its_answer_and_stop_strings_cut_it(world):
    """Mistral-7B-v0.1 has no chat template and goes on after `#### N` with an invented
    "Question: ... #### M"; its stand-in does the same (`standins.run_on`), so the rehearsal
    sees what only stop strings fix: raw `generate` runs on, `reason_lib.generate` cuts it."""
    from reason_lib.data import gsm8k_prompt, gsm8k_splits
    from reason_lib.generate import encode_prompts, generate, render_prompts
    from reason_lib.models import load_model, load_tokenizer
    from reason_lib.answers import extract_gsm8k

    root, _ = world
    snapshot = _snapshot(root, "mistralai/Mistral-7B-v0.1")
    model, tok = load_model(str(snapshot)), load_tokenizer(str(snapshot))
    prompts = [gsm8k_prompt(r) for r in gsm8k_splits(8, 1, 8, seed=0)["test"]]
    enc = encode_prompts(tok, render_prompts(tok, prompts))
    raw = model.generate(**enc, max_new_tokens=24, do_sample=False, pad_token_id=tok.pad_token_id)
    ran_on = tok.batch_decode(raw[:, enc.input_ids.shape[1]:], skip_special_tokens=True)
    assert sum("\nQuestion:" in r for r in ran_on) >= 4
    cut = generate(model, tok, prompts, max_new_tokens=24, progress=False)
    assert not any("Question:" in r for r in cut)
    answered = [i for i, r in enumerate(cut) if extract_gsm8k(r)]
    assert answered and all(ran_on[i].startswith(cut[i].rstrip()) for i in answered)


def test_the_conda_environment_installs_the_cuda_torch():
    """environment.yml is the GPU / cluster install: no CPU-only wheel index in it."""
    active = [line for line in (config.PROJ_ROOT / "environment.yml").read_text().splitlines()
              if not line.lstrip().startswith("#")]
    assert "      - torch==2.13.0" in active and not any("whl/cpu" in line for line in active)
