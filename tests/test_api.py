"""The public Python API (issue 43, item 3): the names exported from ``kerasjet`` resolve, each
with a docstring; ``import kerasjet`` imports no TensorFlow; docs/guide/python_api.md's example
runs as written (its code blocks, executed in order: the page and the test cannot drift);
``for_hls4ml`` folds a float nanoPELICAN without BatchNorm or says what to call."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "guide", "python_api.md")


def code_blocks(path):
    """The ```python blocks of a Markdown page, in order."""
    with open(path) as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.M | re.S)


def test_import_is_light():
    """``import kerasjet`` and dir(kerasjet) load neither TensorFlow nor hls4ml."""
    code = "import sys, kerasjet; dir(kerasjet); print('tensorflow' in sys.modules, 'hls4ml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["False", "False"]


def test_public_names_resolve_with_docstrings():
    import kerasjet

    for name in kerasjet.__all__:
        value = getattr(kerasjet, name)
        if name == "__version__" or isinstance(value, (int, float, str)):
            continue
        assert (value.__doc__ or "").strip(), f"kerasjet.{name} has no docstring"
    # the modules stay modules (no function of the same name shadows them)
    import kerasjet.compress
    import kerasjet.fold
    import kerasjet.train

    assert kerasjet.fold_model is kerasjet.fold.fold and kerasjet.compress_model is kerasjet.compress.compress
    assert kerasjet.train_run is kerasjet.train.train
    with pytest.raises(AttributeError):
        kerasjet.no_such_name  # noqa: B018


def test_the_page_is_in_the_toctree():
    with open(os.path.join(ROOT, "docs", "index.md")) as f:
        assert "guide/python_api" in f.read()


def test_python_api_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """The page's example: toy arrays → nanoPELICAN with model.fit → fold → 8-bit QAT → hls4ml's
    own converter → C simulation bit for bit equal to Keras (the page asserts it)."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "python_api_example"}
    blocks = code_blocks(PAGE)
    assert len(blocks) >= 5
    for block in blocks:
        exec(compile(block, PAGE, "exec"), namespace)
    out = capsys.readouterr().out
    auc = float(re.search(r"test AUC ([0-9.]+)", out).group(1))
    assert auc > 0.8, out  # it learns a tagger, not a coin
    assert np.array_equal(namespace["csim"], namespace["keras"])


def test_for_hls4ml_folds_a_float_model_without_batchnorm():
    """The float nanoPELICAN as trained (no BatchNorm, N̄ = 49) is folded on calibration jets; without
    them, the message names the call; folded and quantized models pass unchanged."""
    from kerasjet.compress import folded_nanopelican
    from kerasjet.errors import KerasjetError
    from kerasjet.hls import for_hls4ml
    from kerasjet.models.nanopelican import nanopelican

    rng = np.random.default_rng(0)
    pmu = np.abs(rng.normal(50.0, 20.0, (64, 8, 4))).astype(np.float32)
    pmu[..., 0] = np.linalg.norm(pmu[..., 1:], axis=-1) + 1.0
    jets = {"pmu": pmu, "mask": np.ones((64, 8), np.float32)}
    model = nanopelican(2, 8, batchnorm=False)
    with pytest.raises(KerasjetError, match=r"kerasjet\.hls\.for_hls4ml\(model, \{'pmu'"):
        for_hls4ml(model)
    folded = for_hls4ml(model, jets)
    assert folded is not model and folded.get_layer("lineq_2to2").n_bar == 64.0
    np.testing.assert_allclose(folded.predict(jets, verbose=0), model.predict(jets, verbose=0), rtol=1e-4, atol=1e-4)
    assert for_hls4ml(folded) is folded
    assert for_hls4ml(folded_nanopelican(model, jets)) is not None
