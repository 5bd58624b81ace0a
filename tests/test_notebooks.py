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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_committed_notebooks_carry_their_full_mode_outputs(path):
    """The docs render the notebooks as committed: each is stored as scripts/render_notebooks.py
    left it, every code cell run in full mode without error and with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    rendered = notebook.metadata.get("kerasjet_rendered", {})
    assert rendered.get("mode") == "full" and rendered.get("by") == "scripts/render_notebooks.py"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert sum(bool(cell.outputs) for cell in code) >= len(code) // 2  # results, tables and plots, not a bare listing
