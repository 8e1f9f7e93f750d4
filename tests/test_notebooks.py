"""Every notebook runs top to bottom under nbval (--nbval-lax) on its shrunken `ci` parameters.

The notebooks run in order in one outputs folder: 00 saves the ci base model the others load.
"""

import os
import subprocess
import sys

import pytest

from reason_lib.config import NOTEBOOKS_DIR, PROJ_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def shared_outputs(tmp_path_factory):
    return tmp_path_factory.mktemp("notebook_outputs")


def test_there_are_notebooks():
    assert NOTEBOOKS[0].name == "00_base_model.ipynb"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs_under_nbval(notebook, shared_outputs):
    env = {**os.environ, "REASON_LIB_PROFILE": "ci", "REASON_LIB_OUTPUTS": str(shared_outputs),
           "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--nbval-lax", str(notebook)], cwd=PROJ_ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:]
    runs = list((shared_outputs / notebook.stem.split("_", 1)[1]).iterdir())
    assert len(runs) == 1 and '"succeeded"' in (runs[0] / "manifest.json").read_text()
