"""Fold a trained nanoPELICAN into its analytic form (the seed paper's eq. 3) and evaluate it.

Folding, for inference:

1. BatchNorm → weights. At inference each MaskedBatchNorm is x → a·x + c on real pairs. Scales
   multiply the next layer's weights. A shift c is a constant on real pairs, and an aggregator of
   a constant depends on the multiplicity: Σ_i c/N̄ = c·(n/N̄), Σ_ij c/N̄² = c·(n/N̄)². So the
   biases of the folded model are polynomials in r = n/N̄ (exponents α_b under N-scaling).
   Without BatchNorm they are constants.
2. ReLU homogeneity. ReLU(λy) = λ·ReLU(y) for λ > 0, so each hidden channel h can be divided by
   λ_h = |total-sum readout weight| and that weight becomes ε_h = ±1: one parameter per channel
   folds away (9·C + 1 free parameters for the model without BatchNorm, 19 for C = 2).

The folded model, per hidden channel h (δ_ij terms only on the diagonal, zero on padding):

    y_h,ij = a1 d_ij + a3 s_j + a4 s_i + a5 t + β_h(r) + δ_ij [a2 s_i + a6 t + β'_h(r)]
    w      = b(r) + Σ_h [ ε_h (1/N̄²) Σ_ij ReLU(y_h,ij) + κ_h (1/N̄) Σ_i ReLU(y_h,ii) ]

with d_ij = p_i·p_j in units of (momentum_scale)², s_j = Σ_i d_ij / N̄, t = Σ_j s_j / N̄, and
N-scaling factors r^(α_b − k_b) on the summed aggregates when the model is scaled.
``folded_logits`` evaluates this form with numpy, independently of the Keras layers.
"""

import numpy as np

from kerasjet import kinematics
from kerasjet.errors import KerasjetError
from kerasjet.layers.equivariant import NANO_BASIS, SUMMED_INDICES
from kerasjet.models import input_format_of, word_tables_of

# nano basis element index → name in the formula
ELEMENT_NAMES = ("a1", "a2", "a3", "a4", "a5", "a6")


def _layer(model, name, required=True):
    try:
        return model.get_layer(name)
    except ValueError:
        if required:
            raise KerasjetError(f"model '{model.name}' has no layer '{name}': not a nanoPELICAN model") from None
        return None


def _normalization_affine(model, batchnorm_name, equivariant):
    """(scale, shift) of the BatchNorm in front of an equivariant layer — its own input
    normalisation, or a separate MaskedBatchNorm layer (with Dropout) — or None without one."""
    layer = equivariant if equivariant.normalize_input else _layer(model, batchnorm_name, required=False)
    if layer is None:
        return None
    scale, shift = layer.affine()
    return np.asarray(scale, np.float64), np.asarray(shift, np.float64)


def _alpha(layer):
    """α per basis element (k_b for the unscaled layer)."""
    summed = np.array(layer.summed, np.float64)
    return np.asarray(layer.alpha.numpy(), np.float64) if layer.scaled else summed


def _add_term(terms, exponent, coefficient):
    """Add coefficient·r^exponent to a {exponent: coefficient} polynomial."""
    key = round(float(exponent), 12)
    terms[key] = terms.get(key, 0.0) + float(coefficient)


def fold(model, momentum_scale=None):
    """The folded analytic form of a nanoPELICAN Keras model, as a JSON-ready dict.

    ``momentum_scale`` (GeV) re-expresses the form for momenta in that unit (the firmware's
    fixed-point unit); by default the model's own unit. d_ij is linear in the unit squared, so
    only the weights on d_ij and its sums change, by (momentum_scale / model's unit)².
    """
    lineq2 = _layer(model, "lineq_2to2")
    lineq0 = _layer(model, "lineq_2to0")
    if lineq2.basis != "nano" or lineq2.kernel.shape[1] != 1:
        raise KerasjetError("fold handles the nano basis on one input channel (d_ij) only")
    kernel = np.asarray(lineq2.kernel.numpy(), np.float64)[:, 0, :]  # (6, C)
    bias = np.asarray(lineq2.bias.numpy(), np.float64)
    diag_bias = np.asarray(lineq2.diag_bias.numpy(), np.float64)
    alpha2, alpha0 = _alpha(lineq2), _alpha(lineq0)
    readout = np.asarray(lineq0.kernel.numpy(), np.float64)[:, :, 0]  # (2, C): total, trace
    out_bias = {}
    _add_term(out_bias, 0.0, lineq0.bias.numpy()[0])
    n_hidden = kernel.shape[1]
    hidden_bias = [dict() for _ in range(n_hidden)]
    hidden_diag_bias = [dict() for _ in range(n_hidden)]
    for h in range(n_hidden):
        _add_term(hidden_bias[h], 0.0, bias[h])
        _add_term(hidden_diag_bias[h], 0.0, diag_bias[h])
    # a model's own biases polynomial in r (LinEq multiplicity_degree): b_k r^k, k = 1 … D
    for layer, targets in ((lineq2, {"multiplicity_bias": hidden_bias, "multiplicity_diag_bias": hidden_diag_bias}),
                           (lineq0, {"multiplicity_bias": [out_bias]})):
        for name, polynomials in targets.items():
            if layer.multiplicity_degree:
                for k, row in enumerate(np.asarray(getattr(layer, name).numpy(), np.float64)):
                    for h, polynomial in enumerate(polynomials):
                        _add_term(polynomial, k + 1, row[h])

    bn_input = _normalization_affine(model, "bn_input", lineq2)
    if bn_input is not None:
        a, c = bn_input[0][0], bn_input[1][0]
        for b, (kind, source) in enumerate(NANO_BASIS):
            # the aggregate of the constant c on real pairs is c·r^k, times the scaling r^(α−k)
            exponent = alpha2[b] if SUMMED_INDICES[source] else 0.0
            target = hidden_diag_bias if kind == "diag" else hidden_bias
            for h in range(n_hidden):
                _add_term(target[h], exponent, c * kernel[b, h])
        kernel = kernel * a
    model_scale = _layer(model, "lorentz_dot").momentum_scale
    momentum_scale = model_scale if momentum_scale is None else float(momentum_scale)
    kernel = kernel * (momentum_scale / model_scale) ** 2

    bn_hidden = _normalization_affine(model, "bn_hidden", lineq0)
    if bn_hidden is not None:
        a, c = bn_hidden
        for k in range(2):  # total (k = 2 indices), trace (k = 1)
            for h in range(n_hidden):
                _add_term(out_bias, alpha0[k], c[h] * readout[k, h])
        readout = readout * a[None, :]

    channels = []
    for h in range(n_hidden):
        scale = abs(readout[0, h]) or abs(readout[1, h]) or 1.0
        channels.append({
            **{name: kernel[b, h] * scale for b, name in enumerate(ELEMENT_NAMES)},
            "bias": sorted([e, v * scale] for e, v in hidden_bias[h].items()),
            "diag_bias": sorted([e, v * scale] for e, v in hidden_diag_bias[h].items()),
            "epsilon": float(np.sign(readout[0, h])),
            "kappa": readout[1, h] / scale,
        })
    folded = {
        "momentum_scale": momentum_scale,
        "input_format": input_format_of(model),  # None: d_ij of Cartesian momenta; else of trigger words' tables
        "word_tables": word_tables_of(model),
        "n_bar": lineq2.n_bar,
        "scaled": bool(lineq2.scaled),
        "alpha_2to2": alpha2.tolist(),
        "alpha_2to0": alpha0.tolist(),
        "channels": channels,
        "bias": sorted([e, v] for e, v in out_bias.items()),
    }
    folded["free_parameters"] = free_parameters(folded)
    return folded


def free_parameters(folded):
    """Parameters of the folded form: six weights, the bias terms and κ per channel, the output
    bias terms, and the α exponents when scaled (ε_h = ±1 are signs, not parameters)."""
    count = len(folded["bias"])
    for ch in folded["channels"]:
        count += len(ELEMENT_NAMES) + len(ch["bias"]) + len(ch["diag_bias"]) + 1
    if folded["scaled"]:
        count += len(folded["alpha_2to2"]) - 1 + len(folded["alpha_2to0"])  # the pair element is never scaled
    return count


def _polynomial(terms, r):
    return sum(c * r**e for e, c in terms)


def folded_logits(folded, pmu, mask):
    """Evaluate the folded form with numpy: pmu (B, N, 4) GeV (or, for a model of trigger words,
    the words (B, N, 3)), mask (B, N) → logits (B,)."""
    n_bar = folded["n_bar"]
    valid = np.asarray(mask, bool)
    pairs = valid[:, :, None] & valid[:, None, :]
    d = _lorentz_products(folded, pmu, mask)
    n = valid.sum(axis=1).astype(np.float64)
    r = np.maximum(n, 1.0) / n_bar
    s = d.sum(axis=1) / n_bar
    t = s.sum(axis=1) / n_bar
    summed = [SUMMED_INDICES[source] for _, source in NANO_BASIS]
    f2 = [r ** (a - k) if k else np.ones_like(r) for a, k in zip(folded["alpha_2to2"], summed)]
    f_total, f_trace = (r ** (a - k) for a, k in zip(folded["alpha_2to0"], (2, 1)))
    eye = np.eye(d.shape[1], dtype=bool)[None]
    logits = _polynomial(folded["bias"], r)
    for ch in folded["channels"]:
        y = (ch["a1"] * d
             + (ch["a3"] * f2[2][:, None] * s)[:, None, :]
             + (ch["a4"] * f2[3][:, None] * s)[:, :, None]
             + (ch["a5"] * f2[4] * t + _polynomial(ch["bias"], r))[:, None, None])
        diag = ch["a2"] * f2[1][:, None] * s + (ch["a6"] * f2[5] * t + _polynomial(ch["diag_bias"], r))[:, None]
        y = np.where(eye, y + diag[:, :, None], y)
        relu = np.where(pairs, np.maximum(y, 0.0), 0.0)
        total = relu.sum(axis=(1, 2)) / n_bar**2
        trace = np.trace(relu, axis1=1, axis2=2) / n_bar
        logits = logits + ch["epsilon"] * f_total * total + ch["kappa"] * f_trace * trace
    return logits


def _lorentz_products(folded, first, mask):
    """d_ij (B, N, N) in units of the folded form's momentum_scale squared (float64)."""
    if folded.get("input_format"):
        from kerasjet.data.words import PairTables, input_format

        tables = PairTables(input_format(folded["input_format"]), **folded["word_tables"])
        return tables.lorentz_products(first, mask, folded["momentum_scale"])
    p = np.asarray(first, np.float64) * np.asarray(mask, np.float64)[..., None] / folded["momentum_scale"]
    return kinematics.minkowski_dot(p[:, :, None, :], p[:, None, :, :])


def _number(x):
    return f"{x:+.4g}".replace("+", "+ ").replace("-", "− ")


def _bias_text(terms):
    parts = []
    for exponent, coefficient in terms:
        if exponent == 0:
            parts.append(_number(coefficient))
        else:
            power = "r" if exponent == 1 else f"r^{exponent:.3g}"
            parts.append(f"{_number(coefficient)} {power}")
    return " ".join(parts) if parts else "+ 0"


def format_formula(folded):
    """The folded model (``fold``'s dict) as readable text in the layout of the seed paper's
    eq. (3): d_ij in units of its momentum_scale (GeV) squared, one line per hidden channel."""
    n_bar = folded["n_bar"]
    scale = folded["momentum_scale"]
    dot_source = f" (massless, from '{folded['input_format']}' trigger words and tables)" if folded.get("input_format") else ""
    lines = [
        f"nanoPELICAN, folded: {len(folded['channels'])} hidden channels, {folded['free_parameters']} free parameters",
        f"  d_ij = p_i·p_j / ({scale:g} GeV)²{dot_source},  s_j = Σ_i d_ij / {n_bar:g},  t = Σ_j s_j / {n_bar:g},  r = n / {n_bar:g}",
    ]
    if folded["scaled"]:
        lines.append(f"  N-scaling exponents α (2→2: {', '.join(f'{a:.3f}' for a in folded['alpha_2to2'][1:])};"
                     f" 2→0: {', '.join(f'{a:.3f}' for a in folded['alpha_2to0'])}) multiply sums over k indices by r^(α−k)")
    readout = []
    for h, ch in enumerate(folded["channels"], start=1):
        lines.append(
            f"  y{h}_ij = {ch['a1']:.4g} d_ij {_number(ch['a3'])} s_j {_number(ch['a4'])} s_i {_number(ch['a5'])} t "
            f"{_bias_text(ch['bias'])}"
        )
        lines.append(f"  y{h}_ii += {ch['a2']:.4g} s_i {_number(ch['a6'])} t {_bias_text(ch['diag_bias'])}")
        sign = "+" if ch["epsilon"] >= 0 else "−"
        readout.append(f"{sign} (1/{n_bar:g}²) Σ_ij ReLU(y{h}_ij) {_number(ch['kappa'])} (1/{n_bar:g}) Σ_i ReLU(y{h}_ii)")
    lines.append(f"  w = {_bias_text(folded['bias'])} " + " ".join(readout))
    lines.append("  top if w > 0")
    return "\n".join(lines)


def firmware_weights(folded, n_bar=64.0, hidden_scale=None):
    """Weights of ``nanopelican_folded`` (kerasjet.models.nanopelican) from a folded form.

    The sums are renormalised from N̄ = folded['n_bar'] to ``n_bar``: an aggregate over k
    indices and a bias term r^k scale by (n_bar/N̄)^k. ``hidden_scale`` (C,) multiplies hidden
    channel h (ReLU homogeneity; default 1, i.e. readout weight ±1), to fit a fixed-point range.
    Returns (weights list in layer order, multiplicity degree).
    """
    if folded["scaled"]:
        raise KerasjetError("the N-scaled model has no folded fixed-point form (non-integer powers of n)")
    ratio = n_bar / folded["n_bar"]
    channels = folded["channels"]
    scale = np.ones(len(channels)) if hidden_scale is None else np.asarray(hidden_scale, np.float64)
    exponents = {e for ch in channels for e, _ in ch["bias"] + ch["diag_bias"]} | {e for e, _ in folded["bias"]}
    degree = int(max(exponents))
    if any(e != int(e) for e in exponents):
        raise KerasjetError("bias exponents must be integers for the folded fixed-point form")

    def polynomial(terms, factor):
        coefficients = np.zeros(degree + 1)
        for e, c in terms:
            coefficients[int(e)] += c * factor * ratio ** e
        return coefficients

    summed = [SUMMED_INDICES[source] for _, source in NANO_BASIS]
    kernel = np.array([[ch[name] * scale[h] * ratio ** k for h, ch in enumerate(channels)] for name, k in zip(ELEMENT_NAMES, summed)])
    bias = np.array([polynomial(ch["bias"], scale[h]) for h, ch in enumerate(channels)])  # (C, degree+1)
    diag_bias = np.array([polynomial(ch["diag_bias"], scale[h]) for h, ch in enumerate(channels)])
    readout = np.array([[ch["epsilon"] / scale[h] * ratio**2 for h, ch in enumerate(channels)],
                        [ch["kappa"] / scale[h] * ratio for h, ch in enumerate(channels)]])
    out_bias = polynomial(folded["bias"], 1.0)
    lineq2 = [kernel[:, None, :], bias[:, 0], diag_bias[:, 0]]
    lineq0 = [readout[:, :, None], out_bias[:1]]
    if degree:
        lineq2 += [bias[:, 1:].T, diag_bias[:, 1:].T]
        lineq0 += [out_bias[1:, None]]
    return [w.astype(np.float32) for w in lineq2 + lineq0], degree
