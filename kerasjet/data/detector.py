"""A fast parametric detector: Pythia's stable particles → massless energy-flow objects.

A vectorised numpy stand-in for Delphes with its ATLAS card (the detector simulation of the Top
Quark Tagging Reference Dataset), applied to a whole batch of events at once. Two calorimeter
models (``DetectorSettings.calorimeter``), after the two eras of the Delphes ATLAS card:

- ``"combined"`` (Delphes 3.3.x, ``modules/Calorimeter.cc``; the cards that predate the reference
  dataset's first paper, January 2017): one η–φ grid of towers (0.1 × 10°) each holding an ECAL
  and an HCAL energy; see :func:`_combined_calorimeter`;
- ``"separate"`` (Delphes ≥ 3.4, after commit e0a1a44 "Separate ECAL and HCAL also for ATLAS
  card", September 2016): two SimpleCalorimeters, a fine ECAL and a coarse HCAL grid, merged by
  the card's EFlowMerger; see :func:`_calorimeters`.

Either way:

1. propagation (Delphes' ParticlePropagator): with ``bz`` ≠ 0 a charged particle from the
   origin follows its helix in the solenoid (``bz`` T, ``calorimeter_radius`` and
   ``calorimeter_half_length`` m) and deposits at the point where it leaves the cylinder; tracks
   keep the direction at the origin;
2. tracks: every charged particle within the tracker acceptance is reconstructed with the card's
   efficiency; its pT is smeared log-normally with the card's relative resolution (capped at
   100%); a track is a massless four-vector along the particle's direction;
3. towers: photons and electrons deposit their energy in the ECAL, all other hadrons (charged or
   neutral: π±, K±, p, n, K0L) in the HCAL, muons and neutrinos nowhere, in the tower that
   contains their position at the calorimeter; tower energies are smeared log-normally with the
   calorimeter's resolution and zeroed unless they pass the card's EnergyMin and
   EnergySignificanceMin;
4. energy flow: the measured energy of the tracks is taken out of their towers; what remains
   significantly becomes neutral massless objects uniformly within the tower (the card's
   SmearTowerCenter; at its centre if switched off).

Every output is massless, E = |p⃗|, like Delphes' energy-flow objects.

Simplifications against Delphes: every charged particle (also e, μ) uses the card's
charged-hadron tracking efficiency and momentum resolution; particles start at the origin
(Pythia's displaced decay vertices are not followed); the calorimeter grids are uniform in η
up to the acceptance (the card's few coarser towers at 2.5 < |η| < 3.3 and its forward
calorimeter touch only the edge of an |η| < 2, R = 0.8 jet); particles decaying in Pythia (K0S,
Λ) never reach the detector, so the card's 30/70 ECAL/HCAL split for them is moot.
"""

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from kerasjet import kinematics

# |PDG id| of the charged particles that Pythia leaves stable (e, μ, π, K, p, Σ±, Ξ, Ω)
CHARGED_IDS = (11, 13, 211, 321, 2212, 3112, 3222, 3312, 3334)
ELECTROMAGNETIC_IDS = (11, 22)  # deposit in the ECAL
INVISIBLE_IDS = (12, 13, 14, 16)  # deposit nothing (muons and neutrinos)
LEVELS = ("detector", "particle")  # of generated jets: energy-flow objects of this detector, or stable particles
TOP_MATCHINGS = ("quarks", "w")  # of generated top jets (kerasjet.data.generate.GeneratorSettings.top_matching)
ECAL, HCAL = 0, 1
CALORIMETERS = ("combined", "separate")  # DetectorSettings.calorimeter: Delphes 3.3's Calorimeter, or ≥ 3.4's ECal + HCal
# charge of the particle with the positive PDG id, per |id| of CHARGED_IDS (e⁻ and μ⁻ have +11, +13)
CHARGE_OF_POSITIVE_ID = {11: -1, 13: -1, 211: 1, 321: 1, 2212: 1, 3112: -1, 3222: 1, 3312: -1, 3334: -1}
GEV_PER_TESLA_METRE = 0.299792458  # pT = 0.3 · B · r: a 1 GeV track in 1 T curls with radius 3.34 m
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
      centre [ECal/HCal SmearTowerCenter true];
    - ``calorimeter``: ``"separate"`` (the ECal and HCal grids above, Delphes ≥ 3.4) or
      ``"combined"`` (Delphes 3.3's one Calorimeter module: the ECAL grid must then equal the
      HCAL grid, which every tower uses);
    - ``bz``, ``calorimeter_radius``, ``calorimeter_half_length``: solenoid field 2 T, radius
      1.15 m, half-length 3.51 m [ParticlePropagator]; ``bz = 0`` deposits every particle along
      its direction.

    The dataclass defaults are the separate-calorimeter card without propagation (kerasjet 0.1's
    detector, "atlas-delphes-3.4"); :data:`DETECTOR_CONFIGURATIONS` names it and Delphes 3.3's,
    the generator's default (:data:`DEFAULT_DETECTOR`).
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
    calorimeter: str = "separate"
    bz: float = 0.0
    calorimeter_radius: float = 1.15
    calorimeter_half_length: float = 3.51

    def __post_init__(self):
        if self.calorimeter not in CALORIMETERS:
            raise ValueError(f"calorimeter must be one of {', '.join(CALORIMETERS)} (got '{self.calorimeter}')")
        same_grid = (self.ecal_eta_step, self.ecal_phi_bins, self.ecal_abs_eta_max) == \
            (self.hcal_eta_step, self.hcal_phi_bins, self.hcal_abs_eta_max)
        if self.calorimeter == "combined" and not same_grid:
            raise ValueError("a combined calorimeter has one tower grid: the ecal_* grid must equal the hcal_* grid")
        if self.calorimeter_radius <= 0 or self.calorimeter_half_length <= 0:
            raise ValueError("calorimeter_radius and calorimeter_half_length must be positive")

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


# Delphes 3.3.x's ATLAS card (tags 3.3.0–3.3.3, cards/delphes_card_ATLAS.tcl): one Calorimeter of
# 0.1 × 10° towers with EnergySignificanceMin 1.0 for ECAL and HCAL (EnergyMin 0.5 and 1.0 GeV,
# the same resolution formulas), the 2 T solenoid, and its charged-hadron momentum resolution
# (a, b) = (0.01, 1.5e-4), (0.015, 2.5e-4), (0.025, 5.5e-4); tracking efficiencies as in 3.4.
ATLAS_DELPHES_3_3 = DetectorSettings(
    calorimeter="combined", bz=2.0, ecal_eta_step=0.1, ecal_phi_bins=36, ecal_abs_eta_max=3.2,
    ecal_significance_min=1.0, hcal_significance_min=1.0,
    track_resolution_a_1=0.01, track_resolution_b_1=1.5e-4, track_resolution_a_2=0.015, track_resolution_b_2=2.5e-4,
    track_resolution_a_3=0.025, track_resolution_b_3=5.5e-4)
# named detector configurations: name → settings (file attributes record the name)
DETECTOR_CONFIGURATIONS = {
    "atlas-delphes-3.3": ATLAS_DELPHES_3_3,
    "atlas-delphes-3.3-no-field": replace(ATLAS_DELPHES_3_3, bz=0.0),
    "atlas-delphes-3.4": DetectorSettings(),  # kerasjet 0.1's detector: files without detector_calorimeter hold it
}
LEGACY_DETECTOR = "atlas-delphes-3.4"
DEFAULT_DETECTOR = "atlas-delphes-3.3"  # GeneratorSettings' detector: the closest to the reference (results/detector/regime.md)


def detector_name(settings):
    """The name in :data:`DETECTOR_CONFIGURATIONS` of ``settings``, or 'custom'."""
    return next((name for name, known in DETECTOR_CONFIGURATIONS.items() if known == settings), "custom")


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


def simulate(ids, p, event, rng, settings=DETECTOR_CONFIGURATIONS[DEFAULT_DETECTOR]):
    """The energy-flow objects of stable particles: PDG ``ids`` (n,), four-momenta ``p`` (n, 4)
    GeV, ``event`` (n,) int64 the event of each; random draws from the numpy Generator ``rng``.
    Returns an :class:`EnergyFlow` (tracks and neutral tower excesses, ordered by event)."""
    pt, eta, phi = kinematics.pt(p), kinematics.eta(p), kinematics.phi(p)
    track = np.isin(np.abs(ids), CHARGED_IDS) & (rng.random(len(ids)) < settings.track_efficiency(pt, eta))
    resolution = np.zeros(len(ids))
    resolution[track] = np.minimum(settings.track_resolution(pt[track], eta[track]), 1.0)  # capped as in Delphes
    width = np.sqrt(np.log1p(resolution[track] ** 2))
    track_pt = pt[track] * np.exp(width * rng.standard_normal(len(width)) - width ** 2 / 2)
    track_energy = np.zeros(len(ids))
    track_energy[track] = track_pt * np.cosh(eta[track])
    tower_eta, tower_phi = calorimeter_position(ids, p, settings)
    if settings.calorimeter == "combined":
        neutral_p, neutral_event, track_scale = _combined_calorimeter(ids, event, tower_eta, tower_phi, p[:, 0], track, track_energy,
                                                                       resolution, rng, settings)
    else:
        calorimeter = np.where(np.isin(np.abs(ids), ELECTROMAGNETIC_IDS), ECAL, HCAL)
        deposits = np.flatnonzero(~np.isin(np.abs(ids), INVISIBLE_IDS))
        neutral_p, neutral_event, scale = _calorimeters(calorimeter[deposits], event[deposits], tower_eta[deposits],
                                                         tower_phi[deposits], p[deposits, 0], track_energy[deposits],
                                                         (resolution * track_energy)[deposits] ** 2, rng, settings)
        track_scale = np.ones(len(ids))
        track_scale[deposits] = scale
    kept = track_scale[track] > 0  # a track whose calorimeter kept no energy for it is lost
    tracks = massless((track_pt * track_scale[track])[kept], eta[track][kept], phi[track][kept])
    objects = np.concatenate([tracks, neutral_p])
    owner = np.concatenate([event[track][kept], neutral_event])
    order = np.argsort(owner, kind="stable")
    return EnergyFlow(objects[order], owner[order], (np.arange(len(owner)) < len(tracks))[order])


_CHARGE_TABLE = np.zeros(max(CHARGE_OF_POSITIVE_ID) + 1)
_CHARGE_TABLE[list(CHARGE_OF_POSITIVE_ID)] = list(CHARGE_OF_POSITIVE_ID.values())


def calorimeter_position(ids, p, settings):
    """Where particles of PDG ``ids`` (n,) and four-momenta ``p`` (n, 4) GeV, starting at the
    origin, leave the solenoid's cylinder (Delphes' ParticlePropagator): (η (n,), φ (n,)) of that
    point as seen from the origin; NaN for a particle that never leaves it.

    Neutral particles, and every particle when ``settings.bz`` is 0, fly straight. A charged one
    follows its helix of radius r = pT / (0.3 · |B|) (m, pT in GeV, B in T), its direction
    turning by α = s / r after a transverse path s: it reaches the barrel (ρ = R) after
    α = 2 asin(R / 2r) if 2r ≥ R and |z| ≤ half-length there, else the endcap (|z| = half-length)
    after α = half-length · pT / (|pz| · r). The point lies at x + iy = (r/κ) e^{iφ0} (1 − e^{−iκα})
    · (−i), κ = sign(q · B): φ drops by α/2 for κ = +1.
    """
    eta, phi = kinematics.eta(p), kinematics.phi(p)
    absolute = np.abs(ids)
    charged = np.flatnonzero(np.isin(absolute, CHARGED_IDS))
    if settings.bz == 0 or len(charged) == 0:
        return eta, phi
    kappa = _CHARGE_TABLE[absolute[charged]] * np.sign(ids[charged]) * np.sign(settings.bz)
    pt, pz, phi0 = kinematics.pt(p[charged]), p[charged, 3], phi[charged]
    radius = pt / (GEV_PER_TESLA_METRE * abs(settings.bz))
    barrel_radius, half_length = settings.calorimeter_radius, settings.calorimeter_half_length
    with np.errstate(divide="ignore", invalid="ignore"):
        barrel_turn = 2 * np.arcsin(np.minimum(barrel_radius / (2 * radius), 1.0))
        barrel = (2 * radius >= barrel_radius) & (np.abs(pz / pt * radius * barrel_turn) <= half_length)
        turn = np.where(barrel, barrel_turn, half_length * pt / (np.abs(pz) * radius))
        x = radius / kappa * (np.sin(phi0) - np.sin(phi0 - kappa * turn))
        y = radius / kappa * (np.cos(phi0 - kappa * turn) - np.cos(phi0))
        z = pz / pt * radius * turn
        eta[charged] = np.where(np.isfinite(z), np.arcsinh(z / np.hypot(x, y)), np.nan)
    phi[charged] = np.arctan2(y, x)
    return eta, phi


def _towers(event, calorimeter, eta, phi, eta_step, phi_bins):
    """The towers hit by n deposits of ``event`` (n,) in ``calorimeter`` (n,) at (``eta``,
    ``phi``) (n,) on grids of ``eta_step`` and ``phi_bins`` (scalars or (n,)): each deposit's
    tower index ``hit`` (n,), then per tower (ordered by event, calorimeter, η, φ) its event,
    calorimeter, η index (+ ETA_INDEX_OFFSET) and φ index."""
    ieta = np.floor(eta / eta_step).astype(np.int64) + ETA_INDEX_OFFSET
    iphi = np.floor((phi + np.pi) / (2 * np.pi) * phi_bins).astype(np.int64) % phi_bins
    keys, hit = np.unique(((event * 2 + calorimeter) * 2 * ETA_INDEX_OFFSET + ieta) * MAX_PHI_BINS + iphi, return_inverse=True)
    tower_event, keys = np.divmod(keys, 4 * ETA_INDEX_OFFSET * MAX_PHI_BINS)
    tower_calorimeter, keys = np.divmod(keys, 2 * ETA_INDEX_OFFSET * MAX_PHI_BINS)
    tower_ieta, tower_iphi = np.divmod(keys, MAX_PHI_BINS)
    return hit, tower_event, tower_calorimeter, tower_ieta, tower_iphi


def _combined_calorimeter(ids, event, eta, phi, energy, tracked, track_energy, track_resolution, rng, settings):
    """Delphes 3.3's ``Calorimeter`` module (modules/Calorimeter.cc, FinalizeTower) for particles
    of PDG ``ids`` (n,) of ``event`` (n,) reaching the calorimeter at (``eta``, ``phi``) (n,)
    (NaN: never) with true ``energy`` (n,) GeV; ``tracked`` (n,) bool marks those with a track of
    measured energy ``track_energy`` (n,) GeV and relative resolution ``track_resolution`` (n,).

    Every tower of the one η–φ grid (the ``hcal_*`` grid) sums an ECAL (e, γ) and an HCAL
    (hadrons) energy, each smeared log-normally and zeroed below EnergyMin or
    EnergySignificanceMin · σ. A track belongs to its own particle's calorimeter and tower (a
    muon's to none: it passes untouched). Where that calorimeter measures the track's energy
    better than the tracker (σ_cal(E)/E < σ(pT)/pT at the tower's centre), the track takes over
    the calorimeter's energy left after the other tracks' subtraction (such tracks share it in
    proportion to their energies) and no neutral object is made from it; otherwise the track's
    energy is subtracted. What remains in each calorimeter and passes the thresholds again
    becomes a photon (ECAL) or neutral hadron (HCAL), both at one point drawn within the tower.

    Returns the neutral four-momenta (t, 4) GeV, their events (t,) and each particle's track
    rescaling factor (n,): 1 for a subtracted track, the calorimeter's share for an absorbing one
    (≤ 0 where nothing was left for it).
    """
    kind = np.where(np.isin(np.abs(ids), ELECTROMAGNETIC_IDS), ECAL, HCAL)
    step, phi_bins = settings.hcal_eta_step, settings.hcal_phi_bins
    with np.errstate(invalid="ignore"):
        inside = np.flatnonzero(~np.isin(np.abs(ids), INVISIBLE_IDS) & (np.abs(eta) < settings.hcal_abs_eta_max))
    hit, tower_event, _, tower_ieta, tower_iphi = _towers(event[inside], np.zeros(len(inside), np.int64), eta[inside],
                                                          phi[inside], step, phi_bins)
    n_towers = len(tower_event)
    centre_eta = (tower_ieta - ETA_INDEX_OFFSET + 0.5) * step
    draws = rng.standard_normal((n_towers, 2))
    offset = rng.random((n_towers, 2)) if settings.smear_tower_centre else np.full((n_towers, 2), 0.5)
    position_eta = (tower_ieta - ETA_INDEX_OFFSET + offset[:, 0]) * step
    position_phi = (tower_iphi + offset[:, 1]) * 2 * np.pi / phi_bins - np.pi
    particle_kind, particle_track_energy = kind[inside], np.where(tracked, track_energy, 0.0)[inside]
    with np.errstate(divide="ignore", invalid="ignore"):
        calorimeter_better = tracked[inside] & (settings.tower_resolution(particle_kind, particle_track_energy, centre_eta[hit])
                                                < track_resolution[inside] * particle_track_energy)
    scale = np.ones(len(ids))
    neutral_p, neutral_event = [], []
    for calorimeter in (ECAL, HCAL):
        mine = particle_kind == calorimeter
        towers = np.full(n_towers, calorimeter)
        true = np.bincount(hit, weights=energy[inside] * mine, minlength=n_towers)
        with np.errstate(divide="ignore", invalid="ignore"):
            width = np.sqrt(np.log1p((settings.tower_resolution(towers, true, centre_eta) / true) ** 2))
            measured = np.where(true > 0, true * np.exp(width * draws[:, calorimeter] - width ** 2 / 2), 0.0)
        measured = np.where(settings.passes_threshold(towers, measured, centre_eta), measured, 0.0)
        absorbing = mine & calorimeter_better
        remaining = measured - np.bincount(hit, weights=particle_track_energy * (mine & ~absorbing), minlength=n_towers)
        absorbed = np.bincount(hit, weights=particle_track_energy * absorbing, minlength=n_towers)
        scale[inside[absorbing]] = remaining[hit[absorbing]] / absorbed[hit[absorbing]]
        remaining = np.where(absorbed > 0, 0.0, remaining)
        neutral = settings.passes_threshold(towers, remaining, centre_eta)
        neutral_p.append(massless(remaining[neutral] / np.cosh(position_eta[neutral]), position_eta[neutral], position_phi[neutral]))
        neutral_event.append(tower_event[neutral])
    return np.concatenate(neutral_p), np.concatenate(neutral_event), scale


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
    hit, tower_event, kind, ieta, iphi = _towers(event[inside], calorimeter[inside], eta[inside], phi[inside], eta_step, phi_bins)
    tower_energy = np.bincount(hit, weights=energy[inside])
    tower_track_energy = np.bincount(hit, weights=track_energy[inside])
    tower_track_sigma = np.sqrt(np.bincount(hit, weights=track_variance[inside]))
    eta_step, phi_bins, _ = settings.grid(kind)
    offset = rng.random((len(kind), 2)) if settings.smear_tower_centre else np.full((len(kind), 2), 0.5)
    centre_eta = (ieta - ETA_INDEX_OFFSET + offset[:, 0]) * eta_step
    centre_phi = (iphi + offset[:, 1]) * 2 * np.pi / phi_bins - np.pi
    width = np.sqrt(np.log1p((settings.tower_resolution(kind, tower_energy, centre_eta) / tower_energy) ** 2))
    measured = tower_energy * np.exp(width * rng.standard_normal(len(kind)) - width ** 2 / 2)
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
