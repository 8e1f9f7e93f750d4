"""Cores shared by the runs of one `make reproduce` / `make claims`: each run (its notebook's
kernel) takes `cores / live runs` torch threads, so a run left alone at the end of a queue, or
beside an idle lane, takes every core instead of one.

The Makefile names a folder (`$REASON_LIB_LANES`) and the cores (`$REASON_LIB_CORES`); `join()`
(from `session.start`) leaves a file named by the process id there and removes it at exit; a
forward pre-hook on every module looks, at most every `CHECK_S` seconds, at how many of those
processes are alive. A run that has been alone for `ALONE_S` seconds takes every core; as soon as
another run joins, it goes back to its share (two threads beside a second run on two cores cost
about four times the time). Nothing happens without the folder, nor on a GPU.

The thread count does not change this project's numbers on CPU: a forward, a backward and greedy
decoding give the same bits at one and two threads, and so does a fine-tune with gradient
clipping (tests/test_lanes.py checks the fine-tune).
"""

from __future__ import annotations

import atexit
import os
import time
from pathlib import Path

import torch

from reason_lib import config

CHECK_S = 2.0
ALONE_S = 30.0


def folder() -> Path | None:
    """The shared folder, or None outside a reproduction."""
    value = os.environ.get("REASON_LIB_LANES", "")
    return config.resolve_path(value) if value else None


def cores() -> int:
    return max(1, int(os.environ.get("REASON_LIB_CORES") or os.cpu_count() or 1))


def live(path: Path) -> int:
    """How many runs of the folder are alive (files of dead processes are removed)."""
    n = 0
    for entry in path.glob("*.pid"):
        try:
            os.kill(int(entry.stem), 0)
            n += 1
        except (ProcessLookupError, ValueError):
            entry.unlink(missing_ok=True)
        except PermissionError:  # alive, another user's
            n += 1
    return n


class Share:
    """This process's share of the cores, looked at again every `check_s` seconds."""

    def __init__(self, path: Path, total: int, check_s: float = CHECK_S, alone_s: float = ALONE_S):
        self.path, self.total, self.check_s, self.alone_s = path, total, check_s, alone_s
        self.base = torch.get_num_threads()  # the share the run was started with
        self.next_check = 0.0
        self.alone_since: float | None = None

    def threads(self, now: float) -> int:
        """The threads this run should use now."""
        n = live(self.path)
        if n > 1:
            self.alone_since = None
            return max(1, min(self.base, self.total // n))
        self.alone_since = self.alone_since if self.alone_since is not None else now
        return self.total if now - self.alone_since >= self.alone_s else self.base

    def __call__(self, *_):
        now = time.monotonic()
        if now < self.next_check:
            return None
        self.next_check = now + self.check_s
        wanted, had = self.threads(now), torch.get_num_threads()
        if wanted != had:
            torch.set_num_threads(wanted)
            print(f"torch threads {had} -> {wanted} ({'alone' if wanted > had else 'shared'})",
                  flush=True)
        return None


def join() -> Share | None:
    """Register this process in the shared folder and let it take the cores left idle; None
    (nothing done) outside a reproduction or on a GPU."""
    path = folder()
    if path is None or torch.cuda.is_available():
        return None
    path.mkdir(parents=True, exist_ok=True)
    mine = path / f"{os.getpid()}.pid"
    mine.write_text("")
    atexit.register(mine.unlink, missing_ok=True)
    share = Share(path, cores())
    torch.nn.modules.module.register_module_forward_pre_hook(share)
    return share
