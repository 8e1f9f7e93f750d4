"""reason_lib.models.keep: a run's final model saved in its folder, reloaded exactly, exported."""

import pytest
import torch
from conftest import write_run

from reason_lib.models import load_model, load_tokenizer
from reason_lib.models.keep import CARD, export, keep_model
from reason_lib.models.load import lora_config
from reason_lib.runs import Run


def _lora_policy(path, seed=1):
    """The tiny model with LoRA adapters whose weights are not the identity at init."""
    from peft import get_peft_model

    policy = get_peft_model(load_model(path), lora_config(4, 8))
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    return policy.eval()


def _logits(model, tok):
    ids = tok("Kofi has 3 apples and buys 4 more.", return_tensors="pt").input_ids
    with torch.no_grad():
        return model(input_ids=ids).logits


def _greedy(model, tok):
    ids = tok("Kofi has 3 apples", return_tensors="pt").input_ids
    return model.generate(input_ids=ids, max_new_tokens=12, do_sample=False,
                          pad_token_id=tok.pad_token_id).tolist()


def test_a_kept_lora_policy_reloads_as_evaluated_and_merges_on_request(tiny, outputs, tmp_path):
    _, tok, path = tiny
    run = Run(write_run(outputs, "perplexity_grpo", "20261203-000001-ci-aaaa", "running", {}, None))
    policy = _lora_policy(path)
    folder = keep_model(run, "policy-perplexity", policy, tok, path, "a test policy",
                        {"accuracy": {"value": 0.25}})
    assert folder == run.dir / "models" / "policy-perplexity"
    assert (folder / "adapter-0" / "adapter_model.safetensors").is_file()
    assert not (folder / "model.safetensors").exists()  # the adapter only, not a merged copy

    again = load_model(folder)
    assert type(again).__name__ == "PeftModelForCausalLM"
    assert torch.equal(_logits(again, tok), _logits(policy, tok))  # bit for bit, as evaluated
    assert _greedy(again, tok) == _greedy(policy, tok)

    merged = load_model(folder, merge=True)
    assert not hasattr(merged, "peft_config")
    assert torch.allclose(_logits(merged, tok), _logits(policy, tok), atol=1e-4)
    assert not torch.equal(_logits(merged, tok), _logits(load_model(path), tok))  # trained weights

    out = export(folder, tmp_path / "merged")
    from transformers import AutoModelForCausalLM

    plain = AutoModelForCausalLM.from_pretrained(out)
    assert torch.equal(_logits(plain, tok), _logits(merged, tok))
    assert load_tokenizer(str(out)).get_vocab() == tok.get_vocab()
    with pytest.raises(FileExistsError, match="merged: exists"):
        export(folder, out)

    text = (folder / CARD).read_text()
    assert "# perplexity_grpo / policy-perplexity" in text and "20261203-000001-ci-aaaa" in text
    assert 'load_model("' in text and "PeftModel.from_pretrained(base" in text
    assert '"value": 0.25' in text and "make export MODEL=" in text


def test_a_fully_trained_policy_is_plain_weights_and_a_resumed_run_replaces_its_copy(tiny, outputs):
    _, tok, path = tiny
    run = Run(write_run(outputs, "reinforce_rm", "20261203-000002-ci-bbbb", "running", {}, None))
    model = load_model(path)
    with torch.no_grad():
        model.lm_head.weight.add_(0.1)
    keep_model(run, "policy-reinforce", load_model(path), tok, path, "first attempt")
    folder = keep_model(run, "policy-reinforce", model, tok, path, "after resuming")
    from transformers import AutoModelForCausalLM

    assert torch.equal(_logits(AutoModelForCausalLM.from_pretrained(folder), tok), _logits(model, tok))
    assert "after resuming" in (folder / CARD).read_text()
    assert not list(folder.parent.glob("*.tmp"))


def test_bad_requests_are_refused_by_name(tiny, outputs, tmp_path):
    _, tok, path = tiny
    run = Run(write_run(outputs, "reinforce_rm", "20261203-000003-ci-cccc", "running", {}, None))
    with pytest.raises(ValueError, match="kind 'value'"):
        keep_model(run, "x", load_model(path), tok, path, "", kind="value")
    pause = tmp_path / "pause"
    pause.mkdir()
    (pause / "pause_config.json").write_text("{}")
    with pytest.raises(ValueError, match="pause LM"):
        export(pause, tmp_path / "out")
