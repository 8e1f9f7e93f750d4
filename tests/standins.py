"""Tiny stand-ins for the Hub models and datasets the gpu profiles name, placed where the real
ones would be found offline: models in the standard Hugging Face cache layout (`from_pretrained(
"mistralai/Mistral-7B-v0.1")` with `HF_HUB_OFFLINE=1` takes the same path as after a download),
datasets in a `REASON_LIB_HUB_MIRROR` folder in the Hub layout, the English MMLU CSV under a
`REASON_LIB_DATA` folder. Each carries the traits `hub_traits.yaml` lists; only sizes are tiny.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import yaml

TRAITS = yaml.safe_load((Path(__file__).parent / "hub_traits.yaml").read_text())

# Written here from each model's documented prompt format (not copied from its repository): what
# matters is which turns they render, with which special tokens, and what they add unasked.
TEMPLATES = {
    "llama3": (
        "{{- bos_token }}"
        "{%- if messages[0]['role'] == 'system' %}{%- set system = messages[0]['content'] %}"
        "{%- set messages = messages[1:] %}{%- else %}{%- set system = '' %}{%- endif %}"
        "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
        "{{- 'Cutting Knowledge Date: December 2023\\nToday Date: 26 Jul 2024\\n\\n' }}"
        "{{- system ~ '<|eot_id|>' }}"
        "{%- for message in messages %}"
        "{{- '<|start_header_id|>' ~ message['role'] ~ '<|end_header_id|>\\n\\n' ~ "
        "message['content'] | trim ~ '<|eot_id|>' }}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}"
        "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"),
    "chatml": (
        "{%- if messages[0]['role'] != 'system' %}"
        "{{- '<|im_start|>system\\n' ~ DEFAULT_SYSTEM ~ '<|im_end|>\\n' }}{%- endif %}"
        "{%- for message in messages %}"
        "{{- '<|im_start|>' ~ message['role'] ~ '\\n' ~ message['content'] ~ '<|im_end|>\\n' }}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"),
}


def corpus() -> list[str]:
    """Text for the stand-in tokenizers: the offline world's problems, items and dialogues."""
    from reason_lib.data import gsm8k_splits, mmlu_splits, preference_splits

    gsm = gsm8k_splits(200, 1, 1, seed=0)["train"]
    mc = mmlu_splits(100, 1, 1, seed=0)["train"]
    prefs = preference_splits(100, 1, 1, seed=0)["train"]
    return ([r["question"] + "\n" + r["answer"] for r in gsm]
            + [" ".join(str(v) for v in r.values()) for lg in ("en", "yo") for r in mc[lg]]
            + [json.dumps(r, ensure_ascii=False) for r in prefs])


def _special(traits: dict) -> dict:
    names = ("bos_token", "eos_token", "unk_token", "pad_token")
    return {k: traits[k] for k in names if traits.get(k)}


def build_tokenizer(traits: dict, vocab_size: int = 600):
    """A BPE tokenizer of the real one's kind with its special tokens, chat template (or none)
    and `adds_bos` behaviour."""
    from tokenizers import (Tokenizer, decoders, models, normalizers, pre_tokenizers, processors,
                            trainers)
    from transformers import PreTrainedTokenizerFast

    special = _special(traits)
    specials = list(dict.fromkeys([*special.values(), *traits.get("extra_special_tokens", [])]))
    if traits["tokenizer_kind"] == "sentencepiece":
        tok = Tokenizer(models.BPE(unk_token=traits["unk_token"], byte_fallback=True))
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"),
                                               normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                         decoders.Fuse(), decoders.Strip(" ", 1, 0)])
        alphabet = []
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(corpus(), trainer=trainer)
    if traits["adds_bos"]:
        bos = traits["bos_token"]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **special)
    if traits["chat_template"] != "none":
        fast.chat_template = TEMPLATES[traits["chat_template"]].replace(
            "DEFAULT_SYSTEM", repr(traits.get("default_system", "")))
    return fast


def build_model(traits: dict, tokenizer, seed: int = 0):
    """A randomly initialised model of the real architecture class, two tiny blocks, grouped
    key/value heads as the real ones have."""
    import torch
    import transformers

    torch.manual_seed(seed)
    arch = traits["architecture"]
    config_cls = getattr(transformers, arch.replace("ForCausalLM", "Config"))
    config = config_cls(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=64, max_position_embeddings=2048,
        tie_word_embeddings=traits["tie_word_embeddings"], pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    return getattr(transformers, arch)(config)


def run_on(model, tokenizer, steps: int = 120, seed: int = 0):
    """Train a base-model stand-in on text where one answered problem follows another, as a base
    model's pretraining text runs: after its answer's `#### N` it goes on with an invented
    "Question: ..." (as Mistral-7B-v0.1 does), so only stop strings end its replies where they
    should. Short answers (the final line alone), so a rehearsal's 24 new tokens see it run on; each text
    tokenized from an answer on, as generation goes on from a prompt's end.
    Returns the model."""
    import torch

    from reason_lib.data import gsm8k_splits

    torch.manual_seed(seed)
    rows = gsm8k_splits(200, 1, 1, seed=0)["train"]
    parts = [f"Question: {rows[0]['question']}\nAnswer:"] + [
        f" {r['answer'].splitlines()[-1]}\nQuestion: {after['question']}\nAnswer:"
        for r, after in zip(rows, rows[1:])]
    ids = torch.tensor([i for part in parts for i in tokenizer(part, add_special_tokens=False).input_ids])
    length = 64
    chunks = ids[: len(ids) // length * length].view(-1, length)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        batch = chunks[torch.randint(len(chunks), (16,))]
        model(input_ids=batch, labels=batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


def save_in_hub_cache(hub_cache: Path, repo_id: str, traits: dict) -> Path:
    """Build the stand-in and save it as `huggingface_hub` lays out a download:
    `<hub_cache>/models--<owner>--<name>/{refs/main, snapshots/<revision>/...}`."""
    revision = hashlib.sha1(repo_id.encode()).hexdigest()
    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    tokenizer = build_tokenizer(traits)
    model = build_model(traits, tokenizer)
    if traits["chat_template"] == "none":  # a base model: it runs on past its answer
        model = run_on(model, tokenizer)
    model.save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    config_file = snapshot / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config["tokenizer_class"] = traits["tokenizer_class"]
    config_file.write_text(json.dumps(config, indent=2))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot


def hub_datasets(mirror: Path, data: Path, n: int = 120) -> None:
    """The datasets with the real schemas, configs and row orders: `openai/gsm8k` (main),
    `cais/mmlu` (all; sorted by subject, integer answers, a choices list), `openai/MMMLU` (YO_NG,
    the simple-evals CSV schema and order) with its English source `<data>/mmlu/test.csv`, and
    `Anthropic/hh-rlhf` (malformed rows included)."""
    import csv

    from conftest import write_hh_pairs

    from reason_lib.data import gsm8k_splits, mmlu_splits
    from reason_lib.data.files import read_rows
    from reason_lib.data.mirror import write_dataset

    gsm = gsm8k_splits(n, 1, n // 2, seed=0)
    keep = ("question", "answer")
    write_dataset(mirror / "openai/gsm8k", {"main": {
        split: [{k: r[k] for k in keep} for r in gsm[split]] for split in ("train", "test")}})
    items = mmlu_splits(n, 1, 1, seed=0)["train"]
    columns = ("Question", "A", "B", "C", "D", "Answer", "Subject")
    # simple-evals order is not sorted by subject: the stand-in's English file is the generator's
    # order; cais/mmlu holds the same questions sorted by subject, as the real one does
    english = [{"": i, **{k: r[k] for k in columns}} for i, r in enumerate(items["en"])]
    (data / "mmlu").mkdir(parents=True, exist_ok=True)
    with open(data / "mmlu" / "test.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["", *columns])
        writer.writeheader()
        writer.writerows(english)
    assert [r["Subject"] for r in read_rows(data / "mmlu" / "test.csv", columns)] != \
        sorted(r["Subject"] for r in english)
    yoruba = [{"Unnamed: 0": i, **{k: r[k] for k in columns}} for i, r in enumerate(items["yo"])]
    write_dataset(mirror / "openai/MMMLU", {"YO_NG": {"test": yoruba}})
    by_subject = sorted(items["en"], key=lambda r: r["Subject"])
    write_dataset(mirror / "cais/mmlu", {"all": {"test": [
        {"question": r["Question"], "subject": r["Subject"], "choices": [r[k] for k in "ABCD"],
         "answer": "ABCD".index(r["Answer"])} for r in by_subject]}})
    # Anthropic/hh-rlhf as the Hub keeps it: no configs, one folder per subset with
    # {train,test}.jsonl.gz (the real one has four; without data_dir all load together)
    hh = mirror.parent / "hh.jsonl"
    rows = [json.loads(line) for line in write_hh_pairs(hh, n, malformed_at=n // 3).read_text().splitlines()]
    helpful = [{"chosen": f"\n\nHuman: h{i}\n\nAssistant: useful",
                "rejected": f"\n\nHuman: h{i}\n\nAssistant: unhelpful"} for i in range(n // 4)]
    for subset, subset_rows in (("harmless-base", rows), ("helpful-base", helpful)):
        (mirror / "Anthropic/hh-rlhf" / subset).mkdir(parents=True, exist_ok=True)
        for split, part in (("train", subset_rows), ("test", subset_rows[: n // 4])):
            with gzip.open(mirror / "Anthropic/hh-rlhf" / subset / f"{split}.jsonl.gz", "wt") as f:
                f.write("".join(json.dumps(r) + "\n" for r in part))


def hub_world(root: Path) -> dict[str, str]:
    """Every stand-in the gpu profiles name, under `root`; the environment that finds them
    offline (HF_HOME, HF_HUB_OFFLINE, REASON_LIB_HUB_MIRROR, REASON_LIB_DATA)."""
    for repo_id, traits in TRAITS["models"].items():
        save_in_hub_cache(root / "home" / "hub", repo_id, traits)
    hub_datasets(root / "mirror", root / "data")
    return {"HF_HOME": str(root / "home"), "HF_HUB_OFFLINE": "1",
            "REASON_LIB_HUB_MIRROR": str(root / "mirror"), "REASON_LIB_DATA": str(root / "data")}
