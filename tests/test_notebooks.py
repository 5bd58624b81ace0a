"""Every notebook runs top to bottom in its fast mode (a few hundred jets, a couple of epochs)."""

import glob
import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "notebooks", "*.ipynb")))
# the fast suite runs the training notebook; compress (QAT, pruning, a csim) and deploy_hls4ml (csim)
# repeat what tests/test_compress.py and tests/test_hls.py check, in one to two minutes each
# and trigger_n16 (generation, training, QAT, a csim and a da4ml trace: the path tests/test_compress.py
# and tests/test_api.py check in parts)
SLOW = ("compress.ipynb", "deploy_hls4ml.ipynb", "trigger_n16.ipynb")
CASES = [pytest.param(path, id=os.path.basename(path), marks=pytest.mark.slow if os.path.basename(path) in SLOW else ())
         for path in NOTEBOOKS]


@pytest.mark.parametrize("path", CASES)
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("KERASJET_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("KERASJET_NOTEBOOK_DIR", str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors
