"""Generator physics and bookkeeping: window, matching, mass peaks, determinism, sharding."""

import h5py
import numpy as np
import pytest

from kerasjet import kinematics
from kerasjet.data.generate import GeneratorSettings, generate, merge, plan_blocks
from kerasjet.data.io import read_attributes, read_jets
from kerasjet.errors import KerasjetError

from conftest import SMALL_BLOCKS


def test_layout_and_exact_signal_fraction(jets_file):
    with h5py.File(jets_file) as f:
        assert f["Pmu"].shape == (300, 200, 4) and f["Pmu"].dtype == np.float32
        assert f["Nobj"].shape == (300,)
        assert f["is_signal"].dtype == np.int8
        assert f["truth_Pmu"].shape == (300, 4)
        assert f["is_signal"][()].sum() == 150
    attrs = read_attributes(jets_file)
    assert attrs["seed"] == 7 and attrs["generator_sqrt_s"] == 14000.0 and attrs["generator_jet_radius"] == 0.8


def test_every_jet_in_the_window(jets_file):
    jets = read_jets(jets_file)
    p = kinematics.jet_four_momentum(jets.pmu.astype(np.float64))
    complete = jets.nobj < 200  # a truncated jet's stored constituents do not sum to the jet
    pt, eta = kinematics.pt(p)[complete], kinematics.eta(p)[complete]
    assert complete.mean() > 0.95
    assert (pt > 550 - 1e-3).all() and (pt < 650 + 1e-3).all()
    assert (np.abs(eta) < 2).all()


def test_constituents_pt_ordered_and_zero_padded(jets_file):
    jets = read_jets(jets_file)
    pt = kinematics.pt(jets.pmu)
    slots = np.arange(200)[None, :]
    assert (np.diff(np.where(slots < jets.nobj[:, None], pt, 0), axis=1)[slots[:, 1:] < jets.nobj[:, None]] <= 0).all()
    assert (jets.pmu[slots >= jets.nobj[:, None]] == 0).all()
    assert (jets.pmu[slots < jets.nobj[:, None]][:, 0] > 0).all()


def test_jet_mass_peaks(jets_file):
    jets = read_jets(jets_file)
    mass = kinematics.mass(kinematics.jet_four_momentum(jets.pmu.astype(np.float64)))
    assert 150 < np.median(mass[jets.is_signal == 1]) < 200
    assert np.median(mass[jets.is_signal == 0]) < 110


def test_signal_jets_matched_to_their_top(jets_file):
    jets = read_jets(jets_file)
    sig = jets.is_signal == 1
    top = jets.truth_pmu[sig].astype(np.float64)
    jet = kinematics.jet_four_momentum(jets.pmu[sig].astype(np.float64))
    dr = kinematics.delta_r(kinematics.eta(top), kinematics.phi(top), kinematics.eta(jet), kinematics.phi(jet))
    assert (dr < 0.8).all()
    top_mass = kinematics.mass(top)  # truth tops: Breit-Wigner, m0 = 173 GeV, width 1.4 GeV
    assert abs(np.median(top_mass) - 173.0) < 1.0 and np.mean(np.abs(top_mass - 173.0) < 5) > 0.8
    assert (jets.truth_pmu[~sig] == 0).all()


def test_plan_blocks_exact_fraction():
    for n, f in [(1000, 0.5), (37, 0.3), (5, 1.0), (5, 0.0)]:
        blocks = plan_blocks(n, f, 8)
        assert sum(b.n_signal + b.n_background for b in blocks) == n
        assert sum(b.n_signal for b in blocks) == round(n * f)


def test_deterministic_whatever_the_workers(tmp_path):
    one, two, other = tmp_path / "w1.h5", tmp_path / "w2.h5", tmp_path / "seed.h5"
    generate(str(one), 50, seed=3, settings=SMALL_BLOCKS, workers=1, show_progress=False)
    generate(str(two), 50, seed=3, settings=SMALL_BLOCKS, workers=2, show_progress=False)
    generate(str(other), 50, seed=4, settings=SMALL_BLOCKS, workers=1, show_progress=False)
    a, b, c = read_jets(str(one)), read_jets(str(two)), read_jets(str(other))
    assert read_attributes(str(two))["generator_level"] == "detector"  # the default: the detector's randomness too
    for field in ("pmu", "nobj", "is_signal", "truth_pmu"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.pmu, c.pmu)


def test_shards_merge_into_the_unsharded_file(tmp_path):
    whole = tmp_path / "whole.h5"
    generate(str(whole), 50, seed=5, settings=SMALL_BLOCKS, show_progress=False)
    shards = []
    for i in range(3):
        shards.append(str(tmp_path / f"shard{i}.h5"))
        generate(shards[-1], 50, seed=5, settings=SMALL_BLOCKS, shard=i, num_shards=3, show_progress=False)
    merged = tmp_path / "merged.h5"
    merge(str(merged), shards[::-1], show_progress=False)
    a, b = read_jets(str(whole)), read_jets(str(merged))
    assert np.array_equal(a.pmu, b.pmu) and np.array_equal(a.is_signal, b.is_signal)
    assert read_attributes(str(whole)) == read_attributes(str(merged))
    with pytest.raises(KerasjetError, match="shard 1 of 3 is missing"):
        merge(str(tmp_path / "bad.h5"), [shards[0], shards[2]], show_progress=False)
    assert not (tmp_path / "bad.h5").exists()
