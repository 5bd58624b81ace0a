"""Metrics against scikit-learn on synthetic scores."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve as sk_roc_curve

from kerasjet.evaluate import aggregate
from kerasjet.metrics import background_rejection, called_top_from_accuracy, evaluate_scores, format_table, roc_auc, roc_curve

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("ties", [False, True])
def test_auc_and_roc_match_sklearn(ties):
    labels = RNG.integers(0, 2, 5000)
    scores = RNG.normal(labels * 1.3, 1.0)
    if ties:
        scores = np.round(scores, 1)
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    eff_b, eff_s = roc_curve(labels, scores)
    np.testing.assert_allclose(eff_b, fpr, atol=1e-12)
    np.testing.assert_allclose(eff_s, tpr, atol=1e-12)


def test_rejection_interpolates_the_roc():
    labels = RNG.integers(0, 2, 20000)
    scores = RNG.normal(labels * 2.0, 1.0)
    fpr, tpr, _ = sk_roc_curve(labels, scores)
    for eff in (0.3, 0.5):
        assert background_rejection(labels, scores, eff) == pytest.approx(1 / np.interp(eff, tpr, fpr), rel=1e-9)
    # perfect separation: no background survives
    assert background_rejection([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.5) == math.inf


def test_evaluate_scores_accuracy_and_table():
    metrics = evaluate_scores([0, 1, 1, 0], [-1.0, 2.0, -0.5, 0.3], n_parameters=21)
    assert metrics["accuracy"] == 0.5 and metrics["parameters"] == 21 and metrics["jets"] == 4
    row = aggregate([{"auc": 0.9, "accuracy": 0.8, "rejection_at_0.3": 100.0, "parameters": 21},
                     {"auc": 0.92, "accuracy": 0.82, "rejection_at_0.3": 120.0, "parameters": 21}])
    assert row["auc"] == pytest.approx((0.91, np.std([0.9, 0.92], ddof=1)))
    table = format_table([("nanoPELICAN C=2", row)])
    assert "| nanoPELICAN C=2 | 0.8100 ± 0.0141 | 0.9100 ± 0.0141 | 110 ± 14 | 21 |" in table


def test_an_accuracy_at_the_class_fraction_with_a_high_auc_is_explained():
    """Scores that rank the jets well but all lie above the threshold (an uncalibrated shift):
    accuracy is the class fraction, the metrics carry a note and every printed table shows it;
    the same scores centred on the threshold carry none, and neither does a tagger that does not rank."""
    labels = RNG.integers(0, 2, 4000)
    scores = RNG.normal(labels * 2.0, 1.0)
    shifted = evaluate_scores(labels, scores + 50.0)
    assert shifted["accuracy"] == pytest.approx(labels.mean()) and shifted["auc"] > 0.9  # every jet called top
    assert "100.0% of the jets are called top" in shifted["threshold_note"] and "uncalibrated threshold" in shifted["threshold_note"]
    assert "note (C = 2): accuracy" in format_table([("C = 2", shifted)])
    assert "1 of 2 runs: accuracy" in aggregate([shifted, evaluate_scores(labels, scores - 1.0)])["threshold_note"]
    assert "called QCD" in evaluate_scores(labels, scores - 50.0)["threshold_note"]
    assert "threshold_note" not in evaluate_scores(labels, scores - 1.0)
    assert "threshold_note" not in evaluate_scores(labels, RNG.normal(0.0, 1.0, 4000) + 50.0)  # no ranking: AUC 0.5
    assert "note" not in format_table([("C = 2", evaluate_scores(labels, scores - 1.0))])
    # an unbalanced file (10% top) and a calibrated tagger whose accuracy is near 0.90: no note
    few = (RNG.uniform(size=4000) < 0.1).astype(int)
    calibrated = evaluate_scores(few, RNG.normal(few * 2.0, 1.0) - 1.6)
    assert abs(calibrated["accuracy"] - 0.9) < 0.03 and "threshold_note" not in calibrated
    # Keras' epoch logs (no scores): the class fraction stands in on a balanced file only
    assert called_top_from_accuracy(0.5014, 0.5) in (0.0, 1.0) and called_top_from_accuracy(0.90, 0.1) is None
    assert called_top_from_accuracy(0.80, 0.5) is None

