"""Model inputs: leading-N selection, ordering, masks, units, and the streaming dataset."""

import numpy as np
import pytest

from kerasjet import kinematics
from kerasjet.data.io import read_jets
from kerasjet.data import pipeline
from kerasjet.data.pipeline import InputSpec, leading_constituents, load_inputs, make_dataset
from kerasjet.errors import KerasjetError


def test_leading_constituents_sorts_truncates_and_masks():
    pmu = np.zeros((2, 5, 4), np.float32)
    pts = [[5, 30, 10, 0, 0], [1, 2, 3, 4, 5]]
    for j, row in enumerate(pts):
        for i, value in enumerate(row):
            pmu[j, i] = [value, value, 0, 0] if value else 0
    pmu[0, 4] = [99, 99, 0, 0]  # garbage beyond Nobj must not leak in
    out, mask = leading_constituents(pmu, np.array([3, 5]), InputSpec(n_constituents=4, momentum_scale=10.0))
    assert out.shape == (2, 4, 4) and mask.shape == (2, 4)
    np.testing.assert_allclose(out[0, :, 1], [3.0, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0], [1, 1, 1, 1]])
    np.testing.assert_allclose(out[1, :, 1], [0.5, 0.4, 0.3, 0.2])


def test_more_slots_than_stored_pads_with_zeros(jets_file):
    inputs, labels = load_inputs(jets_file, InputSpec(n_constituents=250), 0, 10)
    assert inputs["pmu"].shape == (10, 250, 4)
    jets = read_jets(jets_file, 0, 10)
    np.testing.assert_array_equal(inputs["mask"].sum(axis=1), jets.nobj)


def test_load_inputs_matches_file_order(jets_file):
    inputs, labels = load_inputs(jets_file, InputSpec(n_constituents=16))
    jets = read_jets(jets_file)
    assert inputs["pmu"].shape == (300, 16, 4)
    np.testing.assert_array_equal(labels, jets.is_signal)
    np.testing.assert_array_equal(inputs["pmu"], jets.pmu[:, :16])  # files are already pT-ordered
    pt = kinematics.pt(inputs["pmu"])
    assert (np.diff(pt, axis=1) <= 0).all()


@pytest.mark.parametrize("in_memory, batches", [(True, 5), (False, 6)])
def test_dataset_gives_every_jet_once_reproducibly(jets_file, monkeypatch, in_memory, batches):
    """In memory: 300 jets in batches of 64; streamed: three chunks of 100 jets, two batches each."""
    if not in_memory:
        monkeypatch.setattr(pipeline, "IN_MEMORY_BYTES", 0)
    spec = InputSpec(n_constituents=32)
    def collect(seed):
        ds = make_dataset(jets_file, spec, batch_size=64, seed=seed, chunk_size=100)
        batches = list(ds.as_numpy_iterator())
        return np.concatenate([b[0]["pmu"] for b in batches]), np.concatenate([b[1] for b in batches]), len(ds)
    pmu_a, y_a, n_batches = collect(1)
    pmu_b, _, _ = collect(1)
    pmu_c, _, _ = collect(2)
    assert n_batches == batches
    assert pmu_a.shape == (300, 32, 4) and y_a.sum() == 150
    np.testing.assert_array_equal(pmu_a, pmu_b)
    assert not np.array_equal(pmu_a, pmu_c)
    reference, _ = load_inputs(jets_file, spec)
    key = lambda x: np.sort(x[:, 0, 0])
    np.testing.assert_array_equal(key(pmu_a), key(reference["pmu"]))


def test_bad_spec():
    with pytest.raises(KerasjetError, match="n_constituents must be positive"):
        InputSpec(n_constituents=0)
