"""Every notebook runs top to bottom under nbval (--nbval-lax) on its shrunken `ci` parameters."""

import os
import subprocess
import sys

import pytest

from reason_lib.config import NOTEBOOKS_DIR, PROJ_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs_under_nbval(notebook, tmp_path):
    env = {**os.environ, "REASON_LIB_PROFILE": "ci", "REASON_LIB_OUTPUTS": str(tmp_path),
           "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--nbval-lax", str(notebook)], cwd=PROJ_ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:]
    runs = list((tmp_path / notebook.stem.split("_", 1)[1]).iterdir())
    assert len(runs) == 1 and '"succeeded"' in (runs[0] / "manifest.json").read_text()
