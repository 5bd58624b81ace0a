"""kerasjet models through hls4ml's own API, YAML reader and introspection (issue 14).

The models go to hls4ml as built or loaded (list inputs [pmu, mask]), no kerasjet call between;
only a float model with BatchNorm is folded first. Converting is cheap and compiling (g++) is
not: every model × backend × granularity is converted and its resolved types checked (no 'auto'
left; a quantized model's types do not depend on the granularity); a few representative
combinations are compiled and compared with Keras jet by jet; the README's script runs as
written."""

import filecmp
import os
import re

import numpy as np
import pytest

import hls4ml
import kerasjet.hls
from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.errors import KerasjetError
from kerasjet.hls.layers import KJ_LAYERS
from kerasjet.models import build_model, load_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("Vivado", "Vitis")
GRANULARITIES = ("model", "type", "name")


def _random_float(model, seed):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(0.0, 0.3, weight.shape).astype(np.float32))
    return model


def _float_nanopelican(n, basis="nano"):
    """An inference-form (folded) float nanoPELICAN C=2 with random weights."""
    import tensorflow as tf

    from kerasjet.layers import LinEq2to0, LinEq2to2, LorentzDot
    from kerasjet.models.inputs import jet_inputs, jet_model

    pmu, mask = jet_inputs(n)
    x = LorentzDot(name="lorentz_dot")([pmu, mask])
    x = LinEq2to2(2, n_bar=64.0, multiplicity_degree=2, basis=basis, name="lineq_2to2")([x, mask])
    x = tf.keras.layers.ReLU(name="relu")(x)
    logit = LinEq2to0(1, n_bar=64.0, multiplicity_degree=2, name="lineq_2to0")([x, mask])
    return _random_float(jet_model(pmu, mask, logit, f"float_{basis}_n{n}"), n)


def _with_constituents(model, n):
    """A dense tagger's layers (the same objects, so the same weights) on inputs of N = n slots
    (its features read the 5 leading constituents, so no weight depends on N)."""
    from kerasjet.models.inputs import jet_inputs, jet_model

    pmu, mask = jet_inputs(n)
    features = model.get_layer("dense_features")
    x = features([pmu, mask])
    for layer in model.layers[model.layers.index(features) + 1:]:
        x = layer(x)
    return jet_model(pmu, mask, x, f"{model.name}_n{n}")


# name → (builder, quantized): one float and one quantized model per layer type at N = 8 and 16
MODELS = {
    **{f"c2_n{n}_{kind}": (lambda n=n, kind=kind: load_model(os.path.join(ROOT, "models", f"nanopelican_c2_n{n}_{kind}.h5")), True)
       for n in (8, 16) for kind in ("8bit", "ternary")},
    **{f"float_nano_n{n}": (lambda n=n: _float_nanopelican(n), False) for n in (8, 16)},
    **{f"float_full_n{n}": (lambda n=n: _float_nanopelican(n, "full"), False) for n in (8, 16)},
    "dense_8bit_n8": (lambda: _with_constituents(load_model(os.path.join(ROOT, "models", "hls4ml_tagger_8bit.h5")), 8), True),
    "dense_8bit_n16": (lambda: load_model(os.path.join(ROOT, "models", "hls4ml_tagger_8bit.h5")), True),
    "dense_bitlinear_n16": (lambda: load_model(os.path.join(ROOT, "models", "hls4ml_tagger_bitlinear.h5")), True),
    **{f"dense_float_n{n}": (lambda n=n: _random_float(build_model("hls4ml_tagger", n_constituents=n), n), False) for n in (8, 16)},
}
_CACHE = {}


def model_for(name):
    if name not in _CACHE:
        _CACHE[name] = MODELS[name][0]()
    return _CACHE[name]


def convert(model, backend, granularity, output_dir, **config_options):
    """The plain script: hls4ml's config, then its converter."""
    config = hls4ml.utils.config_from_keras_model(model, granularity=granularity, backend=backend, **config_options)
    return hls4ml.converters.convert_from_keras_model(model, hls_config=config, backend=backend, io_type="io_parallel",
                                                      output_dir=str(output_dir))


def resolved_types(hls_model):
    """{layer: {type: precision}} of the graph inputs and the kerasjet layers."""
    return {node.name: {name: str(t.precision) for name, t in node.types.items()} for node in hls_model.graph.values()
            if isinstance(node, KJ_LAYERS) or node.name in hls_model.inputs}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MODELS)
def test_plain_conversion_resolves_every_type(name, backend, tmp_path):
    """Each granularity converts; no type is left 'auto'. A quantized model's inputs and kerasjet
    layers take their types from its quantizers and inputs, whatever the granularity; only
    hls4ml's own QActivation needs its type in the config ('type' or 'name': then everything
    agrees)."""
    model = model_for(name)
    types = {g: resolved_types(convert(model, backend, g, tmp_path / g)) for g in GRANULARITIES}
    for granularity, layers in types.items():
        assert layers and not any("Unspecified" in p or p == "auto" for v in layers.values() for p in v.values()), (granularity, layers)
    if MODELS[name][1]:
        assert types["type"] == types["name"]
        before_activation = [layer for layer in types["name"] if layer != "lineq_2to0"]
        assert {k: types["model"][k] for k in before_activation} == {k: types["name"][k] for k in before_activation}
    if name.startswith("c2"):  # the quantized momenta and mask types
        assert types["name"]["mask"]["result_t"] == "uint<1>" and "RND_CONV,SAT" in types["name"]["pmu"]["result_t"]


def test_plain_conversion_writes_the_extension_sources(tmp_path):
    hls_model = convert(model_for("float_full_n8"), "Vitis", "name", tmp_path / "prj")
    hls_model.write()
    firmware = tmp_path / "prj" / "firmware"
    assert (firmware / "nnet_utils" / "nnet_kerasjet.h").exists()
    source = (firmware / "kerasjet.cpp").read_text() if (firmware / "kerasjet.cpp").exists() else (firmware / "myproject.cpp").read_text()
    for call in ("nnet::lorentz_dot<", "nnet::lineq2to2<", "nnet::lineq2to0<"):
        assert call in source
    assert "full_basis = true" in (firmware / "parameters.h").read_text()


@pytest.fixture(scope="module")
def jets(jets_file):
    return {n: load_inputs(jets_file, InputSpec(n), 0, 300)[0] for n in (8, 16)}


@pytest.mark.parametrize("name, backend, granularity", [
    ("c2_n8_8bit", "Vivado", "model"),
    ("c2_n8_ternary", "Vitis", "type"),
    pytest.param("dense_8bit_n16", "Vitis", "name", marks=pytest.mark.slow),  # the N = 8 dense model's code, more inputs
    ("dense_8bit_n8", "Vivado", "name"),
])
def test_plain_csim_is_bit_exact(name, backend, granularity, jets, tmp_path):
    model = model_for(name)
    inputs = jets[int(model.inputs[0].shape[1])]
    hls_model = convert(model, backend, granularity, tmp_path / "prj")
    hls_model.compile()
    arrays = kerasjet.hls.firmware_inputs(model, inputs)
    csim = np.asarray(hls_model.predict(arrays if len(arrays) > 1 else arrays[0])).reshape(-1)
    keras = model.predict(inputs, verbose=0).reshape(-1)
    np.testing.assert_array_equal(csim, keras)
    assert len(np.unique(keras)) > 50


def test_plain_csim_of_a_float_model_is_close(jets, tmp_path):
    """Float model (random weights), 'auto' types from a wide default precision (the README's
    advice): close to Keras, not equal."""
    model = model_for("float_nano_n8")
    hls_model = convert(model, "Vivado", "name", tmp_path / "prj", default_precision="ap_fixed<32,12>")
    hls_model.compile()
    csim = np.asarray(hls_model.predict(kerasjet.hls.firmware_inputs(model, jets[8]))).reshape(-1)
    keras = model.predict(jets[8], verbose=0).reshape(-1)
    difference = np.abs(csim - keras)  # weights on an 18-bit grid (kerasjet.hls.parsers.FLOAT_WEIGHT)
    assert np.median(difference) < 0.002 and np.mean(difference < 0.01) > 0.95 and np.max(difference) < 0.2


def test_io_stream_is_refused_in_one_line(tmp_path):
    model = model_for("c2_n8_8bit")
    config = hls4ml.utils.config_from_keras_model(model, granularity="name")
    with pytest.raises(KerasjetError) as refusal:
        hls4ml.converters.convert_from_keras_model(model, hls_config=config, io_type="io_stream", output_dir=str(tmp_path))
    assert "\n" not in str(refusal.value) and "io_type='io_parallel' only, got 'io_stream'" in str(refusal.value)


def test_shipped_float_model_with_calibration_jets(jets_file, tmp_path):
    """The trained float nanoPELICAN (the paper's model: no BatchNorm, N̄ = 49, N = 80) converts
    once folded on calibration jets; given to hls4ml unfolded, or to for_hls4ml without jets, it
    is refused in one line."""
    model = load_model(os.path.join(ROOT, "models", "nanopelican_c2.keras"))
    with pytest.raises(KerasjetError) as refusal:
        hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    assert "\n" not in str(refusal.value) and "N̄ = 49 is not a power of two; fold the model for firmware first" in str(refusal.value)
    with pytest.raises(KerasjetError, match=r"is a float nanoPELICAN as trained \(N̄ = 49, not a power of two\): fold it"):
        kerasjet.hls.for_hls4ml(model)
    folded = kerasjet.hls.for_hls4ml(model, load_inputs(jets_file, InputSpec(80), 0, 300)[0])
    types = resolved_types(convert(folded, "Vitis", "name", tmp_path / "prj", default_precision="ap_fixed<32,12>"))
    assert types["lineq_2to2"]["accum_t"] and not any("Unspecified" in p for v in types.values() for p in v.values())


def test_convert_from_config_writes_the_same_project(jets_file, tmp_path):
    """hls4ml's YAML reader and converter on a shipped YAML give the firmware/ that convert.py
    (kerasjet.hls.convert.deploy) writes, file for file."""
    from kerasjet.hls.config import load_config
    from kerasjet.hls.convert import deploy

    path = os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_ternary.yml")
    report, _ = deploy(load_config(path), test_file=jets_file, jets=50, output_dir=str(tmp_path / "kerasjet"), verbose=False)
    assert report["passed"]
    yaml_config = hls4ml.converters.parse_yaml_config(path)
    assert yaml_config["OutputDir"] == os.path.join(ROOT, "hls_projects", "nanopelican_c2_n8_ternary")  # against the YAML's folder
    yaml_config["OutputDir"] = str(tmp_path / "hls4ml")
    hls4ml.converters.convert_from_config(yaml_config).write()
    ours, theirs = tmp_path / "kerasjet" / "firmware", tmp_path / "hls4ml" / "firmware"

    def sources(folder):  # the compiled C simulation library (.so) exists only where compile() ran
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.suffix != ".so")

    files = sources(ours)
    assert files == sources(theirs) and "kerasjet.cpp" in files
    _, mismatch, errors = filecmp.cmpfiles(ours, theirs, files, shallow=False)
    assert not mismatch and not errors, mismatch


def test_plot_model(tmp_path):
    pytest.importorskip("pydot", reason="hls4ml.utils.plot_model needs pydot and graphviz, not installed here")
    hls_model = convert(model_for("c2_n8_8bit"), "Vivado", "name", tmp_path / "prj")
    hls4ml.utils.plot_model(hls_model, show_shapes=True, show_precision=True, to_file=str(tmp_path / "model.png"))
    assert (tmp_path / "model.png").exists()


def test_profiling_reads_the_kerasjet_layers(tmp_path, monkeypatch):
    """hls4ml.model.profiling's type and weight tables (it imports seaborn for its plots only; a
    stand-in module serves where seaborn is not installed)."""
    import sys
    import types

    if "seaborn" not in sys.modules:
        try:
            import seaborn  # noqa: F401
        except ImportError:
            monkeypatch.setitem(sys.modules, "seaborn", types.ModuleType("seaborn"))
    from hls4ml.model import profiling

    hls_model = convert(model_for("float_full_n8"), "Vivado", "name", tmp_path / "prj")
    weight_types = profiling.types_hlsmodel(hls_model)
    assert {"lineq_2to2/w", "lineq_2to2/b", "lineq_2to0/w", "lineq_2to0/b"} <= set(weight_types["layer"])
    weights = profiling.weights_hlsmodel(hls_model, fmt="summary", plot="boxplot")
    assert {row["weight"] for row in weights} >= {"lineq_2to2/w", "lineq_2to2/b"}
    assert set(profiling.activation_types_hlsmodel(hls_model)["layer"]) >= {"lorentz_dot", "lineq_2to2", "lineq_2to0"}


def guide_script():
    text = open(os.path.join(ROOT, "docs", "guide", "hls4ml.md")).read()
    section = text[text.index("## Using kerasjet layers from plain hls4ml"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_hls4ml_guide_script_runs_as_written(jets_file, tmp_path, monkeypatch, capsys):
    """The hls4ml guide's script (docs/guide/hls4ml.md), run from a folder laid out like the repository (models/, data/demo.h5)."""
    (tmp_path / "data").mkdir()
    os.symlink(jets_file, tmp_path / "data" / "demo.h5")
    os.symlink(os.path.join(ROOT, "models"), tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    exec(compile(guide_script(), "docs/guide/hls4ml.md", "exec"), {"__name__": "__main__"})
    assert "bit-exact: True" in capsys.readouterr().out


def test_hls4ml_command_line_with_the_extension(tmp_path, monkeypatch):
    """`python -m kerasjet.hls convert -c CONFIG.yml`: hls4ml 1.3's own command line, extension loaded."""
    import runpy
    import sys

    text = open(os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_8bit.yml")).read()
    text = re.sub(r"OutputDir: .*", f"OutputDir: !kerasjet_path {tmp_path / 'prj'}", text).replace("../models/", f"{ROOT}/models/")
    (tmp_path / "config.yml").write_text(text)
    monkeypatch.setattr(sys, "argv", ["hls4ml", "convert", "-c", str(tmp_path / "config.yml")])
    runpy.run_module("kerasjet.hls", run_name="__main__")
    assert "nnet::lineq2to2<" in (tmp_path / "prj" / "firmware" / "kerasjet.cpp").read_text()


def test_deploy_notebook_runs_hls4ml_api():
    """notebooks/deploy_hls4ml.ipynb converts through hls4ml's API in code cells (test_notebooks runs it)."""
    import nbformat

    notebook = nbformat.read(os.path.join(ROOT, "notebooks", "deploy_hls4ml.ipynb"), as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for call in ("hls4ml.utils.config_from_keras_model(", "hls4ml.converters.convert_from_keras_model(",
                 "hls4ml.converters.convert_from_config(", ".compile()", "hls_model.predict("):
        assert call in code
    assert "for_hls4ml" not in code and "deploy(" not in code
