"""A fast parametric detector: Pythia's stable particles → massless energy-flow objects.

A vectorised numpy stand-in for Delphes with its ATLAS card (the detector simulation of the Top
Quark Tagging Reference Dataset), applied to a whole batch of events at once:

1. tracks: every charged particle within the tracker acceptance is reconstructed with the card's
   efficiency; its pT is smeared log-normally with the card's relative resolution (capped at
   100%); a track is a massless four-vector along the particle's direction;
2. towers: every particle deposits its energy in one calorimeter — photons and electrons in the
   ECAL, all other hadrons (charged or neutral: π±, K±, p, n, K0L) in the HCAL, muons and
   neutrinos nowhere — in the tower of an η–φ grid that contains its direction; each tower's
   summed energy is smeared log-normally with the calorimeter's resolution and zeroed unless it
   passes the card's EnergyMin and EnergySignificanceMin;
3. energy flow (Delphes' SimpleCalorimeter, merged by the card's EFlowMerger): the measured
   energy of the tracks that deposit in a tower is subtracted from it; an excess above
   EnergyMin and EnergySignificanceMin standard deviations (calorimeter and tracks combined)
   becomes a neutral massless object uniformly within the tower (the card's SmearTowerCenter;
   at its centre if switched off), otherwise the tower's tracks are rescaled to the
   resolution-weighted mean of their energy and the tower's.

Every output is massless, E = |p⃗|, like Delphes' energy-flow objects.

Simplifications against Delphes: no magnetic-field propagation (a charged particle reaches
the calorimeter along its direction); every charged particle (also e, μ) uses the card's
charged-hadron tracking efficiency and momentum resolution; the calorimeter grids are uniform
in η up to the acceptance (the card's few coarser towers at 2.5 < |η| < 3.3 and its forward
calorimeter touch only the edge of an |η| < 2, R = 0.8 jet); particles decaying in
Pythia (K0S, Λ) never reach the detector, so the card's 30/70 ECAL/HCAL split for them is moot.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from kerasjet import kinematics

# |PDG id| of the charged particles that Pythia leaves stable (e, μ, π, K, p, Σ±, Ξ, Ω)
CHARGED_IDS = (11, 13, 211, 321, 2212, 3112, 3222, 3312, 3334)
ELECTROMAGNETIC_IDS = (11, 22)  # deposit in the ECAL
INVISIBLE_IDS = (12, 13, 14, 16)  # deposit nothing (muons and neutrinos)
LEVELS = ("detector", "particle")  # of generated jets: energy-flow objects of this detector, or stable particles
ECAL, HCAL = 0, 1
# tower keys: (event, calorimeter, η index + ETA_INDEX_OFFSET, φ index) packed into one int64
ETA_INDEX_OFFSET = 1 << 10
MAX_PHI_BINS = 1 << 10


@dataclass(frozen=True)
class DetectorSettings:
    """Parameters of the detector stage (energies and momenta in GeV, angles in radians).

    Source: Delphes ``cards/delphes_card_ATLAS.tcl`` (github.com/delphes/delphes, tag 3.4.1,
    2017; the values are unchanged in the current card), module named in brackets. Smearing is
    log-normal with the true value as mean (Delphes' LogNormal) and standard deviation σ: for
    tracks relative, σ(pT)/pT = sqrt(a² + (b·pT)²) per |η| region; for towers absolute,
    σ(E) = sqrt((c·E)² + s²·E + n²).

    - ``track_abs_eta_max``, ``track_pt_min``: tracker acceptance |η| ≤ 2.5, pT > 0.1
      [ChargedHadronTrackingEfficiency];
    - ``track_efficiency_*``: 0.70 (|η| ≤ 1.5, pT ≤ 1), 0.95 (|η| ≤ 1.5, pT > 1), 0.60
      (1.5 < |η| ≤ 2.5, pT ≤ 1), 0.85 (1.5 < |η| ≤ 2.5, pT > 1), split at
      ``track_efficiency_eta_split`` and ``track_efficiency_pt_split`` [ChargedHadronTrackingEfficiency];
    - ``track_resolution_*``: (a, b) = (0.06, 1.3e-3) for |η| ≤ 0.5, (0.10, 1.7e-3) for
      0.5 < |η| ≤ 1.5, (0.25, 3.1e-3) for 1.5 < |η| ≤ 2.5 [ChargedHadronMomentumSmearing];
    - ``ecal_eta_step``, ``ecal_phi_bins``, ``ecal_abs_eta_max``: 0.0174 × 1° towers up to
      |η| = 2.958 [ECal EtaPhiBins];
    - ``ecal_constant``, ``ecal_stochastic``: c = 0.0017, s = 0.101 for |η| ≤ 3.2
      [ECal ResolutionFormula];
    - ``ecal_energy_min``, ``ecal_significance_min``: 0.5 GeV, 2σ [ECal EnergyMin, EnergySignificanceMin];
    - ``hcal_eta_step``, ``hcal_phi_bins``, ``hcal_abs_eta_max``: 0.1 × 10° towers up to |η| = 3.2
      [HCal EtaPhiBins; uniform here, see the module docstring];
    - ``hcal_central_*``: c = 0.0302, s = 0.5205, n = 1.59 for |η| ≤ 1.7 (``hcal_central_abs_eta_max``);
      ``hcal_forward_*``: c = 0.05, s = 0.706, n = 0 for 1.7 < |η| ≤ 3.2 [HCal ResolutionFormula];
    - ``hcal_energy_min``, ``hcal_significance_min``: 1.0 GeV, 2σ [HCal EnergyMin, EnergySignificanceMin];
    - ``smear_tower_centre``: a neutral object sits uniformly within its tower instead of at its
      centre [ECal/HCal SmearTowerCenter true].
    """

    track_abs_eta_max: float = 2.5
    track_pt_min: float = 0.1
    track_efficiency_eta_split: float = 1.5
    track_efficiency_pt_split: float = 1.0
    track_efficiency_central_low_pt: float = 0.70
    track_efficiency_central_high_pt: float = 0.95
    track_efficiency_forward_low_pt: float = 0.60
    track_efficiency_forward_high_pt: float = 0.85
    track_resolution_eta_split_1: float = 0.5
    track_resolution_eta_split_2: float = 1.5
    track_resolution_a_1: float = 0.06
    track_resolution_b_1: float = 1.3e-3
    track_resolution_a_2: float = 0.10
    track_resolution_b_2: float = 1.7e-3
    track_resolution_a_3: float = 0.25
    track_resolution_b_3: float = 3.1e-3
    ecal_eta_step: float = 0.0174
    ecal_phi_bins: int = 360
    ecal_abs_eta_max: float = 2.958
    ecal_constant: float = 0.0017
    ecal_stochastic: float = 0.101
    ecal_energy_min: float = 0.5
    ecal_significance_min: float = 2.0
    hcal_eta_step: float = 0.1
    hcal_phi_bins: int = 36
    hcal_abs_eta_max: float = 3.2
    hcal_central_abs_eta_max: float = 1.7
    hcal_central_constant: float = 0.0302
    hcal_central_stochastic: float = 0.5205
    hcal_central_noise: float = 1.59
    hcal_forward_constant: float = 0.05
    hcal_forward_stochastic: float = 0.706
    hcal_forward_noise: float = 0.0
    hcal_energy_min: float = 1.0
    hcal_significance_min: float = 2.0
    smear_tower_centre: bool = True

    def track_efficiency(self, pt, eta):
        """Reconstruction probability of a charged particle, (n,) from pT (n,) GeV and η (n,)."""
        central = np.abs(eta) <= self.track_efficiency_eta_split
        high = pt > self.track_efficiency_pt_split
        efficiency = np.select([central & ~high, central & high, ~central & ~high],
                               [self.track_efficiency_central_low_pt, self.track_efficiency_central_high_pt,
                                self.track_efficiency_forward_low_pt], self.track_efficiency_forward_high_pt)
        return np.where((pt > self.track_pt_min) & (np.abs(eta) <= self.track_abs_eta_max), efficiency, 0.0)

    def track_resolution(self, pt, eta):
        """Relative pT resolution σ(pT)/pT, (n,) from pT (n,) GeV and η (n,)."""
        region = np.searchsorted([self.track_resolution_eta_split_1, self.track_resolution_eta_split_2], np.abs(eta))
        a = np.array([self.track_resolution_a_1, self.track_resolution_a_2, self.track_resolution_a_3])[region]
        b = np.array([self.track_resolution_b_1, self.track_resolution_b_2, self.track_resolution_b_3])[region]
        return np.hypot(a, b * pt)

    def tower_resolution(self, calorimeter, energy, eta):
        """Absolute energy resolution σ(E) in GeV of towers (n,) of ``calorimeter`` (n,) (ECAL 0,
        HCAL 1) with energy (n,) GeV at η (n,)."""
        central = np.abs(eta) <= self.hcal_central_abs_eta_max
        ecal = calorimeter == ECAL
        c = np.where(ecal, self.ecal_constant, np.where(central, self.hcal_central_constant, self.hcal_forward_constant))
        s = np.where(ecal, self.ecal_stochastic, np.where(central, self.hcal_central_stochastic, self.hcal_forward_stochastic))
        n = np.where(ecal, 0.0, np.where(central, self.hcal_central_noise, self.hcal_forward_noise))
        return np.sqrt((c * energy) ** 2 + s ** 2 * np.maximum(energy, 0.0) + n ** 2)

    def thresholds(self, calorimeter):
        """(EnergyMin GeV, EnergySignificanceMin) per tower (n,) of ``calorimeter`` (n,)."""
        ecal = calorimeter == ECAL
        return (np.where(ecal, self.ecal_energy_min, self.hcal_energy_min),
                np.where(ecal, self.ecal_significance_min, self.hcal_significance_min))

    def passes_threshold(self, calorimeter, energy, eta):
        """Whether tower energies (n,) GeV pass EnergyMin and EnergySignificanceMin (n,) bool."""
        energy_min, significance_min = self.thresholds(calorimeter)
        return (energy >= energy_min) & (energy >= significance_min * self.tower_resolution(calorimeter, energy, eta))

    def grid(self, calorimeter):
        """(η step, φ bins, |η| acceptance) per tower (n,) of ``calorimeter`` (n,)."""
        ecal = calorimeter == ECAL
        return (np.where(ecal, self.ecal_eta_step, self.hcal_eta_step), np.where(ecal, self.ecal_phi_bins, self.hcal_phi_bins),
                np.where(ecal, self.ecal_abs_eta_max, self.hcal_abs_eta_max))


class EnergyFlow(NamedTuple):
    """Energy-flow objects of a batch of events, ordered by event: four-momenta ``p`` (k, 4)
    (E, px, py, pz) GeV with E = |p⃗|, ``event`` (k,) int64 and ``is_track`` (k,) bool."""

    p: np.ndarray
    event: np.ndarray
    is_track: np.ndarray


def massless(pt, eta, phi):
    """Massless four-vectors (n, 4) from pT (n,) GeV, η, φ; E = |p⃗| to the last bit."""
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)
    return np.concatenate([np.linalg.norm(momentum, axis=-1, keepdims=True), momentum], axis=-1)


def simulate(ids, p, event, rng, settings=DetectorSettings()):
    """The energy-flow objects of stable particles: PDG ``ids`` (n,), four-momenta ``p`` (n, 4)
    GeV, ``event`` (n,) int64 the event of each; random draws from the numpy Generator ``rng``.
    Returns an :class:`EnergyFlow` (tracks and neutral tower excesses, ordered by event)."""
    pt, eta, phi = kinematics.pt(p), kinematics.eta(p), kinematics.phi(p)
    track = np.isin(np.abs(ids), CHARGED_IDS) & (rng.random(len(ids)) < settings.track_efficiency(pt, eta))
    resolution = np.minimum(settings.track_resolution(pt[track], eta[track]), 1.0)  # capped as in Delphes
    width = np.sqrt(np.log1p(resolution ** 2))
    track_pt = pt[track] * np.exp(width * rng.standard_normal(len(width)) - width ** 2 / 2)
    track_energy, track_variance = np.zeros(len(ids)), np.zeros(len(ids))
    track_energy[track] = track_pt * np.cosh(eta[track])
    track_variance[track] = (resolution * track_energy[track]) ** 2
    calorimeter = np.where(np.isin(np.abs(ids), ELECTROMAGNETIC_IDS), ECAL, HCAL)
    deposits = np.flatnonzero(~np.isin(np.abs(ids), INVISIBLE_IDS))
    neutral_p, neutral_event, scale = _calorimeters(calorimeter[deposits], event[deposits], eta[deposits], phi[deposits],
                                                     p[deposits, 0], track_energy[deposits], track_variance[deposits], rng, settings)
    track_scale = np.ones(len(ids))
    track_scale[deposits] = scale
    tracks = massless(track_pt * track_scale[track], eta[track], phi[track])
    objects = np.concatenate([tracks, neutral_p])
    owner = np.concatenate([event[track], neutral_event])
    order = np.argsort(owner, kind="stable")
    return EnergyFlow(objects[order], owner[order], (np.arange(len(owner)) < len(tracks))[order])


def _calorimeters(calorimeter, event, eta, phi, energy, track_energy, track_variance, rng, settings):
    """The towers hit by depositing particles (n,), merged with their tracks as Delphes' ECal and
    HCal modules do: a tower whose measured energy exceeds its tracks' measured energy
    significantly (by EnergyMin and EnergySignificanceMin standard deviations of calorimeter
    and tracks combined) gives a neutral object with the excess; otherwise its tracks are
    rescaled to the resolution-weighted mean of the track and tower energies.

    ``track_energy`` and ``track_variance`` (n,): measured energy (GeV) and its variance (GeV²)
    of the particle's track, 0 if it has none. Returns the neutral four-momenta (t, 4) GeV, their
    events (t,) and each particle's track rescaling factor (n,).
    """
    inside = np.flatnonzero(np.abs(eta) < settings.grid(calorimeter)[2])
    eta_step, phi_bins, _ = settings.grid(calorimeter[inside])
    ieta = np.floor(eta[inside] / eta_step).astype(np.int64) + ETA_INDEX_OFFSET
    iphi = np.floor((phi[inside] + np.pi) / (2 * np.pi) * phi_bins).astype(np.int64) % phi_bins
    keys, hit = np.unique(((event[inside] * 2 + calorimeter[inside]) * 2 * ETA_INDEX_OFFSET + ieta) * MAX_PHI_BINS + iphi,
                          return_inverse=True)
    tower_energy = np.bincount(hit, weights=energy[inside])
    tower_track_energy = np.bincount(hit, weights=track_energy[inside])
    tower_track_sigma = np.sqrt(np.bincount(hit, weights=track_variance[inside]))
    tower_event, keys = np.divmod(keys, 4 * ETA_INDEX_OFFSET * MAX_PHI_BINS)
    kind, keys = np.divmod(keys, 2 * ETA_INDEX_OFFSET * MAX_PHI_BINS)
    ieta, iphi = np.divmod(keys, MAX_PHI_BINS)
    eta_step, phi_bins, _ = settings.grid(kind)
    offset = rng.random((len(keys), 2)) if settings.smear_tower_centre else np.full((len(keys), 2), 0.5)
    centre_eta = (ieta - ETA_INDEX_OFFSET + offset[:, 0]) * eta_step
    centre_phi = (iphi + offset[:, 1]) * 2 * np.pi / phi_bins - np.pi
    width = np.sqrt(np.log1p((settings.tower_resolution(kind, tower_energy, centre_eta) / tower_energy) ** 2))
    measured = tower_energy * np.exp(width * rng.standard_normal(len(keys)) - width ** 2 / 2)
    measured = np.where(settings.passes_threshold(kind, measured, centre_eta), measured, 0.0)
    sigma = settings.tower_resolution(kind, measured, centre_eta)
    excess = np.maximum(measured - tower_track_energy, 0.0)
    energy_min, significance_min = settings.thresholds(kind)
    with np.errstate(divide="ignore", invalid="ignore"):
        neutral = (excess > energy_min) & (excess / np.hypot(tower_track_sigma, sigma) > significance_min)
        weight_track = np.where(tower_track_sigma > 0, 1 / tower_track_sigma ** 2, 0.0)
        weight_calo = np.where(sigma > 0, 1 / sigma ** 2, 0.0)
        best = (weight_track * tower_track_energy + weight_calo * measured) / (weight_track + weight_calo)
        scale = np.where(neutral | (tower_track_energy <= 0) | (weight_track + weight_calo == 0), 1.0, best / tower_track_energy)
    particle_scale = np.ones(len(eta))
    particle_scale[inside] = scale[hit]
    p = massless(excess[neutral] / np.cosh(centre_eta[neutral]), centre_eta[neutral], centre_phi[neutral])
    return p, tower_event[neutral], particle_scale
