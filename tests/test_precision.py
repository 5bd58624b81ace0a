"""The precision search (kerasjet.rtl.precision) on the shipped 8-bit nanoPELICAN C = 2 at N = 8:
it keeps the AUC floor, lowers da4ml's cost, trims only fractional bits, and what it returns
converts bit for bit (Keras == da4ml emulation; == hls4ml csim in the slow test); a word model's pair
tables are one of its stages."""

import os

import numpy as np
import pytest

from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.metrics import roc_auc
from kerasjet.models import load_model, save_model
from kerasjet.rtl.flow import build_rtl, csim_outputs
from kerasjet.rtl.precision import MIN_FRACTION, STAGES, search_precision, stage_types, with_fractions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "nanopelican_c2_n8_8bit.h5")
AUC_LOSS = 0.01  # a loose floor, so that every stage is trimmed on 1000 jets


@pytest.fixture(scope="module")
def searched(thousand_jets):
    model = load_model(MODEL)
    inputs, labels = load_inputs(thousand_jets, InputSpec(8))
    start_auc = roc_auc(labels, model.predict(inputs, verbose=0).reshape(-1))
    result = search_precision(model, inputs, labels, floor=start_auc - AUC_LOSS, show_progress=False)
    return model, inputs, labels, result


def test_search_keeps_the_floor_and_lowers_the_cost(searched):
    model, inputs, labels, result = searched
    assert result["found_auc"] >= result["floor"]
    assert roc_auc(labels, result["model"].predict(inputs, verbose=0).reshape(-1)) == pytest.approx(result["found_auc"], abs=1e-9)
    assert result["found_cost"] < result["start_cost"]
    assert sum(result["found"].values()) < sum(result["start"].values())


def test_search_trims_only_fractional_bits(searched):
    model, _, _, result = searched
    before, after = stage_types(model), stage_types(result["model"])
    for stage in STAGES:
        assert after[stage][1] == before[stage][1]  # integer bits (the ranges) unchanged
        assert MIN_FRACTION <= result["found"][stage] <= result["start"][stage]
        assert before[stage][0] - after[stage][0] == result["start"][stage] - result["found"][stage]
    assert [w.tolist() for w in result["model"].get_weights()] == [w.tolist() for w in model.get_weights()]


def test_with_fractions_changes_the_arithmetic(searched):
    model, inputs, _, _ = searched
    coarse = with_fractions(model, {"hidden": 1, "activation": 1})
    assert not np.array_equal(coarse.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


def test_searched_types_trace_bit_exactly(searched, tmp_path):
    _, inputs, _, result = searched
    report = build_rtl(result["model"], inputs, str(tmp_path / "rtl"), verilator=False, synthesis=False, verbose=False)
    assert report["keras_vs_emulation_mismatches"] == 0 and report["bit_exact"]


@pytest.mark.slow
def test_searched_types_convert_bit_exactly_with_hls4ml(searched, thousand_jets, tmp_path):
    from kerasjet.hls.config import load_config, quantizer_types, render_shipped_config
    from kerasjet.hls.convert import deploy

    _, inputs, _, result = searched
    (tmp_path / "models").mkdir()
    (tmp_path / "hls_configs").mkdir()
    save_model(result["model"], str(tmp_path / "models" / "searched.h5"))
    text = render_shipped_config("searched.h5", "searched types", 8, quantizer_types(result["model"]))
    (tmp_path / "hls_configs" / "searched.yml").write_text(text)
    config = load_config(str(tmp_path / "hls_configs" / "searched.yml"))
    _, hls_model = deploy(config, test_file=thousand_jets, jets=1000, output_dir=str(tmp_path / "hls"), verbose=False)
    outputs = csim_outputs(hls_model, result["model"], inputs)
    report = build_rtl(result["model"], inputs, str(tmp_path / "rtl"), csim=outputs, verilator=False, synthesis=False, verbose=False)
    assert report["csim_vs_emulation_mismatches"] == 0 and report["bit_exact"]


def test_search_trims_the_pair_tables_of_a_word_model(thousand_jets, tmp_path):
    """A nanoPELICAN of trigger words: the search takes its pair tables' fractional bits as the
    stage where the momenta's type would be, and what it returns traces bit for bit."""
    import tensorflow as tf

    from kerasjet.compress import quantized_copy
    from kerasjet.models import build_model
    from kerasjet.models.nanopelican import initialise_from_data
    from kerasjet.rtl.precision import TABLES

    tf.keras.utils.set_random_seed(3)
    inputs, labels = load_inputs(thousand_jets, InputSpec(8, input_format="cms-phase2"), 0, 400)
    model = build_model("nanopelican", c_hidden=2, n_constituents=8, input_format="cms-phase2")
    initialise_from_data(model, inputs)
    quantized = quantized_copy(model, "8", inputs)
    start_auc = roc_auc(labels, quantized.predict(inputs, verbose=0).reshape(-1))
    result = search_precision(quantized, inputs, labels, floor=start_auc - AUC_LOSS, show_progress=False)
    assert TABLES in result["start"] and "input" not in result["start"] and result["start"][TABLES] == 14
    assert result["found"][TABLES] < 14 and result["found_auc"] >= result["floor"]
    assert result["model"].get_layer("lorentz_dot").fraction_bits == result["found"][TABLES]
    assert stage_types(result["model"])[TABLES][0] < stage_types(quantized)[TABLES][0]
    report = build_rtl(result["model"], inputs, str(tmp_path / "rtl"), verilator=False, synthesis=False, verbose=False)
    assert report["keras_vs_emulation_mismatches"] == 0 and report["bit_exact"]
