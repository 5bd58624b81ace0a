"""The parametric detector: energy-flow merge, thresholds, massless objects, smearing, levels."""

from dataclasses import asdict, replace

import numpy as np
import pytest

from kerasjet import kinematics
from kerasjet.data.detector import DetectorSettings, massless, simulate
from kerasjet.data.generate import GeneratorSettings, ProcessJets, _FlatEvents, generate, merge
from kerasjet.data.io import read_attributes, read_jets
from kerasjet.data.summary import summarize
from kerasjet.errors import KerasjetError

from conftest import SMALL_BLOCKS

# a massless four-vector stored in float32 keeps |E² − p⃗²| within this fraction of E²
MASSLESS_TOLERANCE = 1e-5
# no smearing, no inefficiency, neutrals at the tower centre: the merge's arithmetic alone
EXACT = replace(DetectorSettings(), track_efficiency_central_low_pt=1.0, track_efficiency_central_high_pt=1.0,
                **{f"track_resolution_{ab}_{region}": 0.0 for ab in "ab" for region in (1, 2, 3)},
                ecal_constant=0.0, ecal_stochastic=0.0, hcal_central_constant=0.0, hcal_central_stochastic=0.0,
                hcal_central_noise=0.0, smear_tower_centre=False)


def particles(*rows):
    """(ids (n,), p (n, 4) GeV) from rows (PDG id, pT GeV, η, φ, mass GeV)."""
    ids = np.array([r[0] for r in rows])
    pt, eta, phi, m = (np.array([r[k] for r in rows], float) for k in range(1, 5))
    p = massless(pt, eta, phi)
    p[:, 0] = np.hypot(p[:, 0], m)
    return ids, p


def run(ids, p, settings=EXACT, seed=0):
    return simulate(ids, p, np.zeros(len(ids), np.int64), np.random.default_rng(seed), settings)


def test_track_and_photon_in_one_tower_give_the_track_and_the_photon_energy_at_the_centre():
    ids, p = particles((11, 5.0, 0.201, 0.301, 0.000511), (22, 20.0, 0.205, 0.305, 0.0))  # one ECAL tower
    flow = run(ids, p)
    assert flow.is_track.tolist() == [True, False]
    np.testing.assert_allclose(flow.p[0], massless(np.array([5.0]), np.array([0.201]), np.array([0.301]))[0])
    neutral = flow.p[1]
    tower_energy = p[:, 0].sum() - flow.p[0, 0]  # the electron's measured energy is taken out
    assert neutral[0] == pytest.approx(tower_energy, rel=1e-12) and neutral[0] == pytest.approx(20.0 * np.cosh(0.205), rel=1e-6)
    step, phi_step = EXACT.ecal_eta_step, 2 * np.pi / EXACT.ecal_phi_bins
    assert kinematics.eta(neutral) == pytest.approx((np.floor(0.201 / step) + 0.5) * step, abs=1e-12)
    assert kinematics.phi(neutral) == pytest.approx((np.floor((0.301 + np.pi) / phi_step) + 0.5) * phi_step - np.pi, abs=1e-12)


def test_charged_hadron_track_is_removed_from_its_hcal_tower():
    ids, p = particles((211, 30.0, 1.01, -2.0, 0.1396), (130, 8.0, 1.02, -2.01, 0.4976))  # one HCAL tower
    flow = run(ids, p)
    assert flow.is_track.tolist() == [True, False]
    # the pion's mass (E − |p⃗| = 3e-4 GeV) stays in the tower with the K0L's energy
    assert flow.p[1, 0] == pytest.approx(p[:, 0].sum() - flow.p[0, 0], rel=1e-12)
    assert flow.p[1, 0] == pytest.approx(p[1, 0], abs=1e-3)


def test_tracks_without_a_significant_excess_are_rescaled_to_the_combined_energy():
    """A pion alone in its tower, 10% track resolution, a (nearly) exact calorimeter: the energy
    flow returns the tower energy — as a rescaled track, or as the track plus a neutral excess
    when the track fluctuated down by more than 2σ (Delphes' SimpleCalorimeter)."""
    n = 2000
    settings = replace(EXACT, track_resolution_a_1=0.1, hcal_central_constant=1e-6)
    ids, p = particles(*[(211, 50.0, 0.2, 1.0, 0.1396)] * n)
    flow = simulate(ids, p, np.arange(n), np.random.default_rng(2), settings)
    total = np.bincount(flow.event, weights=flow.p[:, 0], minlength=n)
    np.testing.assert_allclose(total, p[:, 0], rtol=1e-4)
    # a neutral when E − T > 2 · 0.1 · T, i.e. T < E / 1.2: 3.8% for a log-normal T of width 10%
    assert np.bincount(flow.event, weights=~flow.is_track, minlength=n).mean() == pytest.approx(0.038, abs=0.012)


def test_towers_below_threshold_and_undetected_particles_give_nothing():
    ids, p = particles((22, 0.3, 0.5, 1.0, 0.0),  # ECAL: 0.3 GeV < EnergyMin 0.5 GeV
                       (2112, 0.3, -0.5, 2.0, 0.9396),  # HCAL: 0.985 GeV < EnergyMin 1 GeV
                       (13, 20.0, 0.0, 0.0, 0.1057),  # muon: a track, no deposit
                       (14, 50.0, 0.1, 0.1, 0.0),  # neutrino: nothing
                       (211, 0.09, 0.3, -1.0, 0.1396))  # pion below the 0.1 GeV tracking threshold, 0.17 GeV in the HCAL
    flow = run(ids, p)
    assert flow.is_track.tolist() == [True]
    assert kinematics.pt(flow.p[0]) == pytest.approx(20.0, rel=1e-12)


def test_energy_significance_threshold():
    card = DetectorSettings()  # central HCAL: σ(3 GeV) = 1.83 GeV, σ(4 GeV) = 1.90 GeV; ECAL: σ(0.6 GeV) = 0.08 GeV
    calorimeter, energy, eta = np.array([1, 1, 0, 0]), np.array([3.0, 4.0, 0.45, 0.6]), np.zeros(4)
    assert card.passes_threshold(calorimeter, energy, eta).tolist() == [False, True, False, True]


def test_tracking_efficiency_follows_the_card():
    n = 20_000
    ids, p = particles(*[(211, 0.5, 0.2, 0.0, 0.1396)] * n, *[(211, 5.0, 2.0, 0.0, 0.1396)] * n)
    flow = simulate(ids, p, np.arange(2 * n), np.random.default_rng(1), DetectorSettings())
    tracks = flow.p[flow.is_track]
    central = np.abs(kinematics.eta(tracks)) < 1
    assert central.sum() / n == pytest.approx(0.70, abs=0.015) and (~central).sum() / n == pytest.approx(0.85, abs=0.015)


@pytest.fixture(scope="module")
def signal_batch():
    """One batch of 80 top-pair events (both levels are selected on these same events)."""
    jets = ProcessJets("signal", 17, GeneratorSettings(), np.random.default_rng(17))
    return jets, jets.pythia.nextBatch(80)


def test_energy_flow_objects_are_massless_finite_and_above_thresholds(signal_batch):
    _, batch = signal_batch
    events = _FlatEvents(batch.prt)
    final = events.status > 0
    flow = simulate(events.ids[final], events.p[final], events.event_of[final], np.random.default_rng(3))
    energy, momentum = flow.p[:, 0], np.linalg.norm(flow.p[:, 1:], axis=1)
    assert np.isfinite(flow.p).all() and (energy > 0).all()
    stored = flow.p.astype(np.float32).astype(np.float64)
    assert (np.abs(kinematics.minkowski_dot(stored, stored)) <= MASSLESS_TOLERANCE * energy ** 2).all()
    assert (energy >= momentum).all()  # built with E = |p⃗| exactly
    assert (energy[~flow.is_track] >= DetectorSettings().ecal_energy_min).all()
    assert (np.abs(kinematics.eta(flow.p[flow.is_track])) <= DetectorSettings().track_abs_eta_max).all()
    assert (np.diff(flow.event) >= 0).all()


def test_detector_smears_the_top_jet_mass(signal_batch):
    """Many detector passes over one top event: the mass of the objects around the jet axis
    spreads around the particle-level value instead of repeating it."""
    jets, batch = signal_batch
    particle = jets.select(batch, "particle")
    event = np.flatnonzero(particle.passed)[0]
    jet = kinematics.jet_four_momentum(particle.pmu[0].astype(np.float64))
    events = _FlatEvents(batch.prt)
    rows = np.arange(events.offsets[event], events.offsets[event + 1])
    rows = rows[(events.status[rows] > 0) & ~np.isin(np.abs(events.ids[rows]), (12, 14, 16))]
    copies = 200
    flow = simulate(np.tile(events.ids[rows], copies), np.tile(events.p[rows], (copies, 1)), np.repeat(np.arange(copies), len(rows)),
                    np.random.default_rng(5))

    def cone_mass(p, owner, n):
        near = kinematics.delta_r(kinematics.eta(p), kinematics.phi(p), kinematics.eta(jet), kinematics.phi(jet)) < 0.8
        total = np.zeros((n, 4))
        np.add.at(total, owner[near], p[near])
        return kinematics.mass(total)

    reference = cone_mass(events.p[rows], np.zeros(len(rows), int), 1)[0]
    masses = cone_mass(flow.p, flow.event, copies)
    low, median, high = np.quantile(masses, [0.16, 0.5, 0.84])
    assert (high - low) / 2 > 2.0  # GeV; a particle-level pass has zero spread
    assert abs(median - reference) < 0.1 * reference


def test_same_events_both_levels_in_the_window_detector_has_fewer_constituents(signal_batch):
    jets, batch = signal_batch
    particle, detector = jets.select(batch, "particle"), jets.select(batch, "detector")
    both = particle.passed & detector.passed
    assert both.sum() >= 10
    for selection in (particle, detector):
        pt = kinematics.pt(kinematics.jet_four_momentum(selection.pmu.astype(np.float64)))
        assert ((pt > 550) & (pt < 650)).all()
    n_particle = particle.nobj[both[particle.passed]].astype(int)
    n_detector = detector.nobj[both[detector.passed]].astype(int)
    assert np.mean(n_detector < n_particle) > 0.8
    assert not particle.tracks.any() and detector.tracks.any()


def test_file_records_the_level_and_every_detector_parameter(jets_file):
    attrs = read_attributes(jets_file)
    assert attrs["generator_level"] == "detector"
    assert {k: attrs[f"detector_{k}"] for k in asdict(DetectorSettings())} == asdict(GeneratorSettings().detector)
    assert summarize(jets_file)[0]["level"] == "detector"
    jets = read_jets(jets_file)
    real = np.arange(jets.pmu.shape[1])[None, :] < jets.nobj[:, None]
    p = jets.pmu[real].astype(np.float64)
    assert (np.abs(kinematics.minkowski_dot(p, p)) <= MASSLESS_TOLERANCE * p[:, 0] ** 2).all()


def test_merge_refuses_shards_of_different_levels(tmp_path):
    shards = [str(tmp_path / f"{level}.h5") for level in ("detector", "particle")]
    for shard, (path, level) in enumerate(zip(shards, ("detector", "particle"))):
        generate(path, 20, seed=1, settings=replace(SMALL_BLOCKS, block_size=10, level=level), shard=shard, num_shards=2,
                 show_progress=False)
    with pytest.raises(KerasjetError, match="attribute 'generator_level' is 'particle'"):
        merge(str(tmp_path / "merged.h5"), shards, show_progress=False)
    assert "detector_ecal_eta_step" not in read_attributes(shards[1])


def test_unknown_level_is_refused(tmp_path):
    with pytest.raises(KerasjetError, match="--level must be one of"):
        generate(str(tmp_path / "x.h5"), 10, seed=1, settings=replace(SMALL_BLOCKS, level="hadron"), show_progress=False)
