"""Runs of one reproduction share the cores (`reason_lib.lanes`): a run left alone takes them all,
and the thread count does not change what a run computes."""

import hashlib
import os
import subprocess
import sys
import tempfile

import pytest
import torch

from reason_lib import lanes


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_run_takes_every_core_once_alone_long_enough_and_its_share_beside_another(tmp_path,
                                                                                    threads):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f"{os.getpid()}.pid").write_text("")
        (tmp_path / f"{other.pid}.pid").write_text("")
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        (tmp_path / f"{dead.pid}.pid").write_text("")
        torch.set_num_threads(1)
        share = lanes.Share(tmp_path, total=4, alone_s=30.0)
        assert lanes.live(tmp_path) == 2  # the dead process's file is gone
        assert not (tmp_path / f"{dead.pid}.pid").exists()
        assert share.threads(now=0.0) == 1  # beside another run: its own share, never more
    finally:
        other.kill()
        other.wait()
    assert share.threads(now=100.0) == 1  # alone, but only just
    assert share.threads(now=129.0) == 1
    assert share.threads(now=130.0) == 4  # alone for 30 s: every core
    (tmp_path / "999999999.pid").write_text("")  # not a live process
    assert share.threads(now=131.0) == 4
    (tmp_path / f"{other.pid}.pid").write_text("")  # the killed run's file again: it counts for nothing
    partner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f"{partner.pid}.pid").write_text("")
        assert share.threads(now=132.0) == 1  # another run joined: back at once
        assert share.threads(now=200.0) == 1 and share.alone_since is None
    finally:
        partner.kill()
        partner.wait()


def test_join_registers_and_its_hook_sets_the_threads(tmp_path, monkeypatch, threads):
    monkeypatch.delenv("REASON_LIB_LANES", raising=False)
    assert lanes.join() is None  # outside a reproduction: nothing
    monkeypatch.setenv("REASON_LIB_LANES", str(tmp_path / "lanes"))
    monkeypatch.setenv("REASON_LIB_CORES", "2")
    torch.set_num_threads(1)
    handles = []
    real = torch.nn.modules.module.register_module_forward_pre_hook
    monkeypatch.setattr(torch.nn.modules.module, "register_module_forward_pre_hook",
                        lambda hook: handles.append(real(hook)) or handles[-1])
    try:
        share = lanes.join()
        assert (tmp_path / "lanes" / f"{os.getpid()}.pid").is_file()
        share.alone_s = 0.0
        torch.nn.Linear(2, 2)(torch.ones(1, 2))  # any module's forward looks
        assert torch.get_num_threads() == 2
    finally:
        for h in handles:
            h.remove()


def _fine_tuned_bits(n_threads: int) -> str:
    from reason_lib.data import gsm8k_splits
    from reason_lib.data.gsm8k import gsm8k_prompt
    from reason_lib.data.world import corpus
    from reason_lib.models.tiny import build_model, train_tokenizer
    from reason_lib.train.sft import conversation_rows, sft

    torch.set_num_threads(n_threads)
    rows = gsm8k_splits(64, 4, 4, seed=0)["train"]
    data = conversation_rows([gsm8k_prompt(r) for r in rows], [r["answer"] for r in rows])
    tok = train_tokenizer(corpus(data, {"yo": []}), 400)
    # the cpu base model's width: wide enough for the kernels to split work between threads
    model = build_model(tok, hidden_size=192, n_layers=2, n_heads=4, intermediate_size=576, seed=0)
    with tempfile.TemporaryDirectory() as out:
        model, _ = sft(model, tok, data, out, epochs=1, batch_size=16, learning_rate=1e-3,
                       max_length=256, save_strategy="no", disable_tqdm=True, micro_batch_size=4)
    return hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()


def test_the_thread_count_does_not_change_a_fine_tune(threads):
    """Four steps with gradient clipping at one thread and at two give the same weights (measured
    too on the cpu base model: 13 SFT steps, the same bits)."""
    assert _fine_tuned_bits(1) == _fine_tuned_bits(2)
