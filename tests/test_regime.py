"""The reference regime: Delphes 3.3's combined calorimeter, the solenoid, configurations in
file attributes, the mass cut's two scores, and the regime benchmark against the reference."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from kerasjet import kinematics
from kerasjet.cli import main as cli_main
from kerasjet.data.detector import (ATLAS_DELPHES_3_3, DETECTOR_CONFIGURATIONS, GEV_PER_TESLA_METRE, calorimeter_position,
                                    detector_name, massless, simulate)
from kerasjet.data.generate import file_attributes, generate
from kerasjet.data.io import read_attributes, write_jets, read_jets
from kerasjet.data.regime import REFERENCE, regime_distance, regime_figures
from kerasjet.data.settings import GeneratorSettings, configuration_name, file_configuration, settings_from_attributes
from kerasjet.evaluate import mass_cut

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Delphes 3.3's calorimeter without any randomness: exact tracks and towers, neutrals at the centre
EXACT_3_3 = replace(ATLAS_DELPHES_3_3, bz=0.0, track_efficiency_central_low_pt=1.0, track_efficiency_central_high_pt=1.0,
                    **{f"track_resolution_{ab}_{region}": 0.0 for ab in "ab" for region in (1, 2, 3)},
                    ecal_constant=0.0, ecal_stochastic=0.0, hcal_central_constant=0.0, hcal_central_stochastic=0.0,
                    hcal_central_noise=0.0, smear_tower_centre=False)


def particles(*rows):
    """(ids (n,), p (n, 4) GeV) from rows (PDG id, pT GeV, η, φ)."""
    ids = np.array([r[0] for r in rows])
    return ids, massless(*(np.array([r[k] for r in rows], float) for k in (1, 2, 3)))


def run(ids, p, settings, seed=0, events=None):
    return simulate(ids, p, np.zeros(len(ids), np.int64) if events is None else events, np.random.default_rng(seed), settings)


# --- the solenoid -------------------------------------------------------------------------------

def _stepped_exit(charge, p, bz, radius, half_length, step=1e-3):
    """Where a particle of ``charge`` (e) and momentum p (4,) GeV leaves the cylinder, by small
    steps of the Lorentz force dp⃗/ds = 0.3 q (p̂ × B⃗) (GeV/m, B in T along z): (η, φ) of the point."""
    position, momentum = np.zeros(3), np.array(p[1:], float)
    field = np.array([0.0, 0.0, bz])
    while np.hypot(*position[:2]) < radius and abs(position[2]) < half_length:
        direction = momentum / np.linalg.norm(momentum)
        half = momentum + 0.5 * step * GEV_PER_TESLA_METRE * charge * np.cross(direction, field)
        position += step * half / np.linalg.norm(half)
        momentum += step * GEV_PER_TESLA_METRE * charge * np.cross(half / np.linalg.norm(half), field)
    return np.arcsinh(position[2] / np.hypot(*position[:2])), np.arctan2(position[1], position[0])


@pytest.mark.parametrize("pdg, pt, eta, phi", [(211, 1.0, 0.0, 0.3), (-211, 1.0, 0.5, -3.0), (2212, 3.0, -1.2, 2.0),
                                               (11, 0.6, 0.2, 0.0), (211, 0.3, 1.0, 1.0), (-321, 0.5, 2.2, -1.0)])
def test_charged_particles_reach_the_calorimeter_where_the_lorentz_force_takes_them(pdg, pt, eta, phi):
    """The closed-form helix exit against a step-by-step integration of the Lorentz force: barrel
    (1 GeV), endcap (0.3 GeV curls below the barrel radius; η = 2.2 leaves through the end)."""
    ids, p = particles((pdg, pt, eta, phi))
    settings = ATLAS_DELPHES_3_3
    charge = {211: 1, 2212: 1, 11: -1, 321: 1}[abs(pdg)] * np.sign(pdg)
    expected = _stepped_exit(charge, p[0], settings.bz, settings.calorimeter_radius, settings.calorimeter_half_length)
    got = calorimeter_position(ids, p, settings)
    assert got[0][0] == pytest.approx(expected[0], abs=2e-3)
    assert np.angle(np.exp(1j * (got[1][0] - expected[1]))) == pytest.approx(0.0, abs=2e-3)


def test_a_positive_track_bends_clockwise_by_the_textbook_angle():
    """1 GeV π± at η = 0 in 2 T reaches R = 1.15 m turned by asin(0.3 B R / 2 pT) = 0.352 rad:
    a π⁺ to smaller φ, a π⁻ to larger; neutral particles and bz = 0 fly straight."""
    ids, p = particles((211, 1.0, 0.0, 0.0), (-211, 1.0, 0.0, 0.0), (22, 1.0, 0.0, 0.0), (130, 1.0, 0.0, 0.0))
    eta, phi = calorimeter_position(ids, p, ATLAS_DELPHES_3_3)
    turn = np.arcsin(GEV_PER_TESLA_METRE * 2.0 * 1.15 / 2.0)
    np.testing.assert_allclose(phi, [-turn, turn, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(eta, 0.0, atol=1e-12)
    straight = calorimeter_position(ids, p, replace(ATLAS_DELPHES_3_3, bz=0.0))
    np.testing.assert_allclose(straight[1], 0.0, atol=1e-12)


def test_a_curling_track_with_no_way_out_never_reaches_the_calorimeter():
    ids, p = particles((211, 0.3, 0.0, 0.0))  # 2r = 1.0 m < 1.15 m and pz = 0
    eta, _ = calorimeter_position(ids, p, ATLAS_DELPHES_3_3)
    assert np.isnan(eta[0])
    flow = run(ids, p, replace(EXACT_3_3, bz=2.0))
    assert flow.is_track.tolist() == [True]  # the track is still measured, its energy deposited nowhere


# --- Delphes 3.3's combined calorimeter -----------------------------------------------------------

def test_one_tower_holds_ecal_and_hcal_energy_and_gives_a_photon_and_a_neutral_hadron_at_one_point():
    ids, p = particles((22, 20.0, 0.21, 0.31), (130, 10.0, 0.25, 0.33))  # one 0.1 × 10° tower
    flow = run(ids, p, EXACT_3_3)
    assert flow.is_track.tolist() == [False, False]
    np.testing.assert_allclose(sorted(flow.p[:, 0]), sorted(p[:, 0]), rtol=1e-12)
    centre_eta, centre_phi = 0.25, (np.floor((0.31 + np.pi) / (np.pi / 18)) + 0.5) * np.pi / 18 - np.pi
    np.testing.assert_allclose(kinematics.eta(flow.p), centre_eta, atol=1e-12)
    np.testing.assert_allclose(kinematics.phi(flow.p), centre_phi, atol=1e-12)


def test_a_tracker_precise_track_is_subtracted_from_its_calorimeter_only():
    """A 30 GeV π⁺ (tracker better than the HCAL) and a 20 GeV photon in one tower: the pion's
    energy leaves the HCAL, the photon's ECAL energy is untouched."""
    ids, p = particles((211, 30.0, 0.21, 0.31), (22, 20.0, 0.22, 0.32), (130, 8.0, 0.23, 0.33))
    settings = replace(EXACT_3_3, track_resolution_a_1=1e-12, hcal_central_noise=1e-9)  # tracker: 1e-12 < HCAL: 3e-11
    flow = run(ids, p, settings)
    assert flow.is_track.sum() == 1 and kinematics.pt(flow.p[flow.is_track])[0] == pytest.approx(30.0, rel=1e-9)
    np.testing.assert_allclose(sorted(flow.p[~flow.is_track, 0]), sorted(p[1:, 0]), rtol=1e-9)


def test_a_track_the_calorimeter_measures_better_takes_the_towers_hcal_energy():
    """A 400 GeV π⁺ with Delphes 3.3's tracker (σ/pT = 6.1%) against the HCAL (4.0% at 400 GeV):
    the track takes over the HCAL energy of its tower (the neutral hadron's too), no neutral."""
    n = 300
    ids, p = particles(*[(211, 400.0, 0.01, 0.01), (130, 20.0, 0.02, 0.02)] * n)
    events = np.repeat(np.arange(n), 2)
    settings = replace(ATLAS_DELPHES_3_3, bz=0.0, track_efficiency_central_high_pt=1.0)
    flow = run(ids, p, settings, seed=4, events=events)
    assert flow.is_track.all() and len(flow.p) == n
    ratio = flow.p[:, 0] / 420.0
    assert np.mean(ratio) == pytest.approx(1.0, abs=0.01) and np.std(ratio) == pytest.approx(0.040 * 400 / 420, rel=0.15)


def test_a_muon_passes_the_calorimeter_untouched():
    ids, p = particles((13, 25.0, 0.4, 1.0), (22, 5.0, 0.41, 1.01))
    flow = run(ids, p, EXACT_3_3)
    assert flow.is_track.tolist() in ([True, False], [False, True])
    assert kinematics.pt(flow.p[flow.is_track])[0] == pytest.approx(25.0, rel=1e-12)


def test_energy_flow_of_generated_events_is_massless_at_every_configuration():
    from kerasjet.data.generate import ProcessJets, _FlatEvents

    source = ProcessJets("signal", 5, GeneratorSettings())
    events = _FlatEvents(source.pythia.nextBatch(20).prt)
    final = events.status > 0
    for name, settings in DETECTOR_CONFIGURATIONS.items():
        flow = simulate(events.ids[final], events.p[final], events.event_of[final], np.random.default_rng(1), settings)
        assert np.isfinite(flow.p).all() and (flow.p[:, 0] > 0).all(), name
        np.testing.assert_allclose(flow.p[:, 0], np.linalg.norm(flow.p[:, 1:], axis=1), rtol=1e-12, err_msg=name)


def test_a_combined_calorimeter_needs_one_grid():
    with pytest.raises(ValueError, match="one tower grid"):
        replace(ATLAS_DELPHES_3_3, ecal_phi_bins=360)


# --- configurations in files --------------------------------------------------------------------

NEW_ATTRIBUTES = ("generator_mpi", "generator_top_matching", "detector_calorimeter", "detector_bz", "detector_calorimeter_radius",
                  "detector_calorimeter_half_length", "configuration")


def test_settings_round_trip_through_file_attributes(jets_file):
    attrs = read_attributes(jets_file)
    assert settings_from_attributes(attrs) == replace(GeneratorSettings(), block_size=attrs["generator_block_size"])
    assert attrs["configuration"] == configuration_name(GeneratorSettings()) == file_configuration(jets_file)
    for settings in (replace(GeneratorSettings(), mpi=True, top_matching="w", pthat_min=300.0),
                     GeneratorSettings(detector=DETECTOR_CONFIGURATIONS["atlas-delphes-3.4"]), GeneratorSettings(level="particle")):
        assert settings_from_attributes(file_attributes(settings, 10, 1, 0.5)) == settings


def test_a_file_written_before_configurations_were_recorded_names_the_old_detector(tmp_path, jets_file, capsys):
    legacy = GeneratorSettings(detector=DETECTOR_CONFIGURATIONS["atlas-delphes-3.4"])
    attrs = {k: v for k, v in file_attributes(legacy, 300, 7, 0.5).items() if k not in NEW_ATTRIBUTES}
    path = str(tmp_path / "old.h5")
    write_jets(path, read_jets(jets_file), attrs)
    assert file_configuration(path) == "atlas-delphes-3.4"
    assert cli_main(["info", path]) in (None, 0)
    assert "configuration atlas-delphes-3.4" in capsys.readouterr().out


def test_configuration_names():
    assert detector_name(ATLAS_DELPHES_3_3) == "atlas-delphes-3.3"
    assert detector_name(replace(ATLAS_DELPHES_3_3, bz=3.8)) == "custom"
    settings = GeneratorSettings(detector=ATLAS_DELPHES_3_3, mpi=True, top_matching="w", pthat_min=300.0, pthat_max=1000.0)
    assert configuration_name(settings) == "atlas-delphes-3.3+mpi+w-matching+pthat-300-1000"
    assert configuration_name(GeneratorSettings(level="particle", mpi=False, top_matching="quarks")) == "particle"
    assert configuration_name(GeneratorSettings()) == "atlas-delphes-3.3+mpi+w-matching"  # the default


def test_w_matching_accepts_every_quark_matched_top_and_more():
    """Both readings on the same events: every top jet whose W quarks are within 0.8 also has its W
    within 0.8 (a W between its quarks), and the W reading admits partly contained tops."""
    from kerasjet.data.generate import ProcessJets

    quarks = ProcessJets("signal", 21, replace(GeneratorSettings(), top_matching="quarks"))
    w = ProcessJets("signal", 21, replace(GeneratorSettings(), top_matching="w"), detector_rng=np.random.default_rng(21))
    quarks.detector_rng = np.random.default_rng(21)
    batch = quarks.pythia.nextBatch(150)
    strict, loose = quarks.select(batch).passed, w.select(batch).passed
    assert strict.sum() >= 20 and (loose >= strict).all() and loose.sum() > strict.sum()


# --- the mass cut's two scores --------------------------------------------------------------------

def test_mass_cut_scores_and_leading_constituents(jets_file):
    jets = read_jets(jets_file)
    labels, mass = mass_cut(jets_file, "mass")
    _, window = mass_cut(jets_file, "window")
    np.testing.assert_allclose(window, -np.abs(mass - 173.0))
    _, mass16 = mass_cut(jets_file, "mass", n_constituents=16)
    expected = kinematics.mass(kinematics.jet_four_momentum(jets.pmu[:, :16].astype(np.float64)))
    np.testing.assert_allclose(mass16, expected)
    assert (mass16 <= mass + 1e-6).mean() > 0.95 and not np.allclose(mass16, mass)


def test_evaluate_masscut_says_which_score_and_constituents(jets_file, capsys):
    cli_main(["evaluate", "masscut", jets_file, "--score", "window", "--n-constituents", "16"])
    out = capsys.readouterr().out
    assert "the 16 leading constituents" in out and "window" in out
    cli_main(["evaluate", "masscut", jets_file])
    assert "every constituent, one-sided" in capsys.readouterr().out


# --- against the reference ----------------------------------------------------------------------

def test_regime_figures_of_the_reference_itself_are_at_distance_zero():
    figures = {**REFERENCE, "jets": {"top": 10_000, "qcd": 10_000}, "pt_slope_counts": (2400, 1500)}
    assert regime_distance(figures) == 0.0
    assert regime_distance({**figures, "qcd_mass_median": REFERENCE["qcd_mass_median"] + 13 * 2.0}) == pytest.approx(169 / 13)


def test_regime_figures_on_known_samples():
    rng = np.random.default_rng(0)
    mass = np.r_[rng.normal(173, 10, 5000), rng.uniform(0, 250, 5000)]
    is_signal = np.r_[np.ones(5000, int), np.zeros(5000, int)]
    figures = regime_figures(mass, np.full(10_000, 600.0), is_signal, np.full(10_000, 40))
    assert figures["top_mass_median"] == pytest.approx(173, abs=0.5)
    np.testing.assert_allclose(figures["qcd_mass_fractions"], 0.2, atol=0.02)
    assert figures["mass_window_auc"] > figures["mass_auc"] > 0.5


def test_regime_benchmark_puts_the_default_jets_near_the_reference(tmp_path):
    """The benchmark in a small mode on 2,000 jets at the default configuration: its table and
    JSON, and the default's QCD median mass and one-sided mass AUC in generous bands around the
    reference's (82.6 GeV, 0.903)."""
    default = configuration_name(GeneratorSettings())
    result = subprocess.run([sys.executable, os.path.join(REPOSITORY, "benchmarks", "regime.py"), "--jets", "2000", "--workers", "2",
                             "--candidates", default, "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "regime.json").read_text())
    figures = report["configurations"][0]["figures"]
    assert report["closest"] == default and figures["jets"] == {"top": 1000, "qcd": 1000}
    assert 74.0 <= figures["qcd_mass_median"] <= 92.0
    assert 0.88 <= figures["mass_auc"] <= 0.925
    assert "| **reference dataset** |" in (tmp_path / "out" / "regime.md").read_text()
