"""Four-vector kinematics on numpy arrays.

Every function takes four-momenta in the last axis ordered (E, px, py, pz), in GeV, with the
metric (+,-,-,-). Leading axes are broadcast, so a (n_jets, n_constituents, 4) array gives
(n_jets, n_constituents) results and a (n_jets, 4) array gives (n_jets,) results.
"""

import numpy as np


def pt(p):
    """Transverse momentum sqrt(px² + py²) in GeV."""
    return np.hypot(p[..., 1], p[..., 2])


def phi(p):
    """Azimuth in (-π, π]."""
    return np.arctan2(p[..., 2], p[..., 1])


def eta(p):
    """Pseudorapidity arcsinh(pz / pT); ±inf along the beam axis, 0 for a null vector."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(np.arcsinh(p[..., 3] / pt(p)), nan=0.0, posinf=np.inf, neginf=-np.inf)


def mass(p):
    """Invariant mass sqrt(max(p·p, 0)) in GeV."""
    return np.sqrt(np.maximum(minkowski_dot(p, p), 0.0))


def minkowski_dot(p, q):
    """p·q = E_p E_q − p⃗·q⃗ in GeV²."""
    return p[..., 0] * q[..., 0] - p[..., 1] * q[..., 1] - p[..., 2] * q[..., 2] - p[..., 3] * q[..., 3]


def delta_r(eta1, phi1, eta2, phi2):
    """Angular distance sqrt(Δη² + Δφ²) with Δφ wrapped into [-π, π]."""
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


def jet_four_momentum(pmu):
    """Sum of constituent four-momenta: (..., N, 4) → (..., 4). Zero padding adds nothing."""
    return pmu.sum(axis=-2)
