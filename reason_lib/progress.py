"""What a headless run shows while papermill executes its notebook.

Papermill alone shows a cell counter ("6/17 cells") for the whole of a long training cell. The
`Relay` below receives everything the notebook's cells print, as it is printed, and

- appends it, unchanged, to the run folder's `log.txt` (the local record: progress bars included);
- leaves out of the terminal the warnings known to be harmless (`QUIET`, by their exact text);
- shows each cell as it starts (`[base_model 2026…-aec4] cell 7/17: # Train ...`), each line a
  cell prints, and the latest state of a progress bar (tqdm's `\\r` updates: step counter, rate and
  ETA) at most every `every` seconds;
- and, from a heartbeat thread, repeats the current cell and its latest progress line whenever
  nothing was shown for `every` seconds, so a silent cell still says what it is doing and for how
  long.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

HEADLESS = "REASON_LIB_HEADLESS"  # set by reason_lib.cli for the notebook kernels it starts

# Warnings known to be harmless, by their exact text: kept in log.txt, not shown in the terminal
# (with the source line Python's warning prints under them). tqdm's notebook bars need ipywidgets,
# which a headless run never draws; transformers renamed TrainingArguments'
# gradient_checkpointing, which TRL still sets.
QUIET = ("TqdmWarning: IProgress not found. Please update jupyter and ipywidgets.",
         "FutureWarning: `gradient_checkpointing` is deprecated and will be removed in v6. "
         "Use `activation_checkpointing` instead.")


def duration(seconds: float) -> str:
    """'1 min 5 s' / '46 s'."""
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec} s" if minutes else f"{sec} s"


class Relay:
    """A file-like sink for a notebook's streams (papermill's `stdout_file` / `stderr_file`)."""

    def __init__(self, log_path: str | Path, label: str, total_cells: int, stream=None,
                 every: float = 20.0, clock=time.monotonic):
        self.log = open(log_path, "a", encoding="utf-8")
        self.label, self.total, self.every, self.clock = label, total_cells, every, clock
        self.stream = stream if stream is not None else sys.stderr
        self.lock = threading.Lock()
        self.cell, self.cell_title, self.cell_started = 0, "", clock()
        self.bar, self.bar_shown = "", True  # the latest progress-bar state, and whether it is out
        self.last_shown = clock()
        self._default = _Port(self)
        self._stop = threading.Event()
        self._beat = None

    # -- what papermill calls ---------------------------------------------------------------------
    def port(self) -> _Port:
        """A writer for one stream (stdout and stderr each get their own: their lines interleave)."""
        return _Port(self)

    def write(self, text: str, port: _Port | None = None) -> int:
        port = port or self._default
        with self.lock:
            self.log.write(text)
            self.log.flush()
            *lines, port.partial = (port.partial + text).split("\n")
            for line in lines:  # a finished line: shown at once (a bar's last state included)
                if port.quiet and line.startswith("  "):  # the source line under a quiet warning
                    port.quiet = False
                    continue
                port.quiet = any(q in line for q in QUIET)
                if port.quiet:
                    continue
                states = [s for s in line.split("\r") if s.strip()]
                if states and not (self.bar_shown and states[-1] == self.bar):
                    self._show(states[-1])
                if "\r" in line:
                    self.bar, self.bar_shown = "", True
            if "\r" in port.partial:  # a progress bar redrawn in place: its latest state
                port.partial = port.partial[port.partial.rfind("\r"):]
                if port.partial.strip():
                    self.bar, self.bar_shown = port.partial.strip("\r"), False
                    if self.clock() - self.last_shown >= self.every:
                        self._show(self.bar)
                        self.bar_shown = True
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def cell_start(self, cell=None, cell_index: int = 0, **_) -> None:
        """nbclient's `on_cell_start` hook: the cell's number and its first line."""
        with self.lock:
            self._flush_bar()
            self.cell, self.cell_started = cell_index + 1, self.clock()
            source = (cell.source if cell is not None else "").strip().splitlines()
            self.cell_title = source[0][:100] if source else ""
            self._show(f"cell {self.cell}/{self.total}" + (f": {self.cell_title}" if self.cell_title else ""))

    # -- the heartbeat ---------------------------------------------------------------------------
    def beat(self) -> None:
        """Say what the current cell is doing when nothing was shown for `every` seconds."""
        with self.lock:
            if self.cell == 0 or self.clock() - self.last_shown < self.every:
                return
            took = duration(self.clock() - self.cell_started)
            self._show(f"cell {self.cell}/{self.total}, {took}" + (f": {self.bar}" if self.bar else
                                                                    f" ({self.cell_title})"))
            self.bar_shown = True

    def __enter__(self) -> Relay:
        def loop():
            while not self._stop.wait(min(self.every, 5.0)):
                self.beat()

        self._beat = threading.Thread(target=loop, name="progress-heartbeat", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        with self.lock:
            self._flush_bar()
        self.log.close()

    # -- inside the lock -------------------------------------------------------------------------
    def _flush_bar(self) -> None:
        if self.bar and not self.bar_shown:
            self._show(self.bar)
        self.bar, self.bar_shown = "", True

    def _show(self, line: str) -> None:
        self.stream.write(f"[{self.label}] {line.rstrip()}\n")
        self.stream.flush()
        self.last_shown = self.clock()


class _Port:
    """One stream into a `Relay`, holding the line it is in the middle of."""

    def __init__(self, relay: Relay):
        self.relay, self.partial = relay, ""
        self.quiet = False  # the last line was a known harmless warning (`QUIET`)

    def write(self, text: str) -> int:
        return self.relay.write(text, self)

    def flush(self) -> None:
        self.relay.flush()
