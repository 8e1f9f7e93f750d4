"""reason_lib.progress: a headless run's cells, prints and progress bars reach the terminal while
the notebook runs, throttled, and all of it lands in the run folder's log."""

import re
import time

import nbformat
import papermill as pm

from reason_lib.progress import HEADLESS, Relay


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Stamped:
    """A terminal that notes when each line arrived."""

    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines += [(time.monotonic(), line) for line in text.splitlines()]

    def flush(self):
        pass


def test_bars_are_throttled_lines_shown_and_a_silent_cell_still_reports(tmp_path):
    clock, out = Clock(), Stamped()
    relay = Relay(tmp_path / "log.txt", "exp r1", total_cells=5, stream=out, every=20, clock=clock)
    relay.cell_start(nbformat.v4.new_code_cell("# Train the model\ntrain()"), cell_index=2)
    for step in range(1, 11):  # a bar redrawn every second: only every 20 s reaches the terminal
        clock.now += 1
        relay.write(f"\rtrain:  {step * 10}%| {step}/10 [00:0{step}<00:10]")
    assert [line for _, line in out.lines] == ["[exp r1] cell 3/5: # Train the model"]
    clock.now += 15
    relay.write("\rtrain:  100%| 10/10 [00:25<00:00]")
    assert out.lines[-1][1] == "[exp r1] train:  100%| 10/10 [00:25<00:00]"  # 20 s passed: shown
    relay.write("\nloss 0.52 -> 0.31\n")  # the bar's end (not shown twice), then a printed line
    assert [line for _, line in out.lines[-2:]] == ["[exp r1] train:  100%| 10/10 [00:25<00:00]",
                                                    "[exp r1] loss 0.52 -> 0.31"]
    relay.beat()
    assert out.lines[-1][1] == "[exp r1] loss 0.52 -> 0.31"  # just shown: no heartbeat yet
    clock.now += 21
    relay.beat()  # nothing for 21 s: the cell, how long it has run, what it is
    assert out.lines[-1][1] == "[exp r1] cell 3/5, 46 s (# Train the model)"
    relay.__exit__(None, None, None)
    log = (tmp_path / "log.txt").read_text()
    assert "1/10" in log and "loss 0.52 -> 0.31" in log  # every update is kept in the run folder


def test_a_long_cells_progress_reaches_the_terminal_while_it_runs(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import time\nfrom tqdm.auto import tqdm"),
                nbformat.v4.new_code_cell("# Training\nfor _ in tqdm(range(8), desc='steps', mininterval=0):\n"
                                          "    time.sleep(0.5)\nprint('trained')")]
    nbformat.write(nb, tmp_path / "in.ipynb")
    out = Stamped()
    with Relay(tmp_path / "log.txt", "demo", len(nb.cells), stream=out, every=1.0) as relay:
        pm.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                            kernel_name="python3", progress_bar=False, stdout_file=relay.port(),
                            stderr_file=relay.port(), on_cell_start=relay.cell_start)
    done = next(t for t, line in out.lines if line.endswith("] trained"))
    bars = [(t, line) for t, line in out.lines if "steps:" in line and "/8 [" in line]
    assert "[demo] cell 2/2: # Training" in [line for _, line in out.lines]
    early = [line for t, line in bars if t < done - 1.0 and "8/8" not in line]
    assert early, f"no progress shown while the cell ran: {out.lines}"  # mid-cell, with its counter
    assert any("8/8" in line for _, line in bars)  # and the bar's final state
    assert "trained" in (tmp_path / "log.txt").read_text()


def test_a_trainers_steps_reach_the_terminal_when_headless(tiny, tmp_path, monkeypatch):
    # In a notebook kernel transformers draws Jupyter's HTML bar, which no terminal sees; under
    # reason_lib.cli (HEADLESS set, inherited by the kernel) the trainer draws a text bar.
    _, _, path = tiny
    monkeypatch.setenv(HEADLESS, "1")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "# Fine-tune\n"
        "from reason_lib.data import gsm8k_splits\n"
        "from reason_lib.data.world import base_mixture\n"
        "from reason_lib.models import load_model, load_tokenizer\n"
        "from reason_lib.train.sft import sft\n"
        "rows = base_mixture(gsm8k_splits(16, 1, 1, max_steps=1, seed=0)['train'], {'en': [], 'yo': []}, 0.0)\n"
        f"sft(load_model({str(path)!r}), load_tokenizer({str(path)!r}), rows, {str(tmp_path / 'ck')!r},\n"
        "    epochs=1, batch_size=4, max_length=128, save_steps=100, logging_steps=1)\n"
        "print('fine-tuned')")]
    nbformat.write(nb, tmp_path / "in.ipynb")
    out = Stamped()
    with Relay(tmp_path / "log.txt", "sft", 1, stream=out, every=0.5) as relay:
        pm.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                            kernel_name="python3", progress_bar=False, stdout_file=relay.port(),
                            stderr_file=relay.port(), on_cell_start=relay.cell_start)
    shown = [line for _, line in out.lines]
    assert "[sft] fine-tuned" in shown
    steps = [line for line in shown if re.search(r"\] +\d+%\|.*\| \d+/\d+ \[\d\d:\d\d<\d\d:\d\d", line)]
    assert steps, shown  # the trainer's own bar: step counter and ETA
    assert any(re.search(r"\d+/\d+ \[.*loss=\d", line) for line in steps), steps  # and the loss


def test_known_harmless_warnings_stay_in_the_log_but_not_the_terminal(tmp_path):
    clock, out = Clock(), Stamped()
    relay = Relay(tmp_path / "log.txt", "exp r1", total_cells=2, stream=out, every=20, clock=clock)
    port = relay.port()
    relay.write("/x/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update jupyter and "
                "ipywidgets. See https://ipywidgets.readthedocs.io\n"
                "  from .autonotebook import tqdm as notebook_tqdm\n", port)
    relay.write("/x/training_args.py:1541: FutureWarning: `gradient_checkpointing` is deprecated "
                "and will be removed in v6. Use `activation_checkpointing` instead.\n"
                "  warnings.warn(f\"{old} is deprecated\")\n"
                "/x/y.py:3: FutureWarning: something else\n  indented detail\n", port)
    relay.write("3000 training pairs\n", port)
    shown = [line for _, line in out.lines]
    assert shown == ["[exp r1] /x/y.py:3: FutureWarning: something else",
                     "[exp r1]   indented detail", "[exp r1] 3000 training pairs"]
    log = (tmp_path / "log.txt").read_text()
    assert "IProgress not found" in log and "`gradient_checkpointing` is deprecated" in log
