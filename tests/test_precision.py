"""The bfloat16 agreement check (reason_lib.precision): what it measures, and that a run stops
before any work when its model fails it."""

import copy

import pytest
import torch

from reason_lib import config, precision, runs, session


def test_a_model_agrees_with_itself(tiny):
    model, tok, _ = tiny
    prompts = precision.check_prompts(4)
    r = precision.agreement(model, model, tok, prompts, max_new_tokens=8)
    assert r["identical"] == 1.0 and r["token_agreement"] == 1.0
    assert r["logprob_mean_abs_diff"] == 0.0 and r["logprob_max_abs_diff"] == 0.0
    assert r["mean_tokens_before_divergence"] >= 1
    assert r["passed"]


def test_a_perturbed_model_is_measured_as_different(tiny):
    model, tok, _ = tiny
    other = copy.deepcopy(model)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        for p in other.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.5)  # far beyond rounding
    r = precision.agreement(model, other, tok, precision.check_prompts(8), max_new_tokens=8)
    assert r["identical"] < 1.0 and r["token_agreement"] < precision.MIN_TOKEN_AGREEMENT
    assert r["logprob_mean_abs_diff"] > precision.LOGPROB_TOLERANCE
    assert not r["passed"]


def test_bfloat16_of_the_tiny_model_is_checked_and_recorded(tiny, outputs):
    *_, path = tiny
    params = config.load_params("pause_warmup", "cpu", {"model": str(path), "dtype": "bfloat16"})
    run = runs.Run.create("pause_warmup", params, "cpu")
    result = session.check_precision("pause_warmup", params, run)
    assert result["dtype"] == "bfloat16" and result["prompts"] == precision.CHECK_PROMPTS
    assert result["passed"] and result["token_agreement"] >= precision.MIN_TOKEN_AGREEMENT
    assert runs.Run(run.dir).manifest["precision_check"] == result


def test_a_failed_check_stops_the_run_naming_the_numbers(tiny, outputs, monkeypatch):
    *_, path = tiny
    monkeypatch.setattr(precision, "LOGPROB_TOLERANCE", -1.0)  # nothing can pass
    params = config.load_params("pause_warmup", "cpu", {"model": str(path), "dtype": "bfloat16"})
    with pytest.raises(ValueError, match=r"in bfloat16 does not decode like float32.*-p dtype float32"):
        session.check_precision("pause_warmup", params)


def test_float32_and_gpu_runs_are_not_checked(tiny, outputs, monkeypatch):
    *_, path = tiny
    params = config.load_params("pause_warmup", "cpu", {"model": str(path)})
    assert session.check_precision("pause_warmup", params) is None
    monkeypatch.setattr("reason_lib.precision.resolve_device", lambda device="auto": "cuda")
    params = config.load_params("pause_warmup", "cpu", {"model": str(path), "dtype": "bfloat16"})
    run = runs.Run.create("pause_warmup", params, "cpu")
    assert session.check_precision("pause_warmup", params, run) is None
    assert runs.Run(run.dir).manifest["precision_check"]["skipped"] == "device cuda"
