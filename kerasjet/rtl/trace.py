"""Trace quantized kerasjet models with da4ml into combinational logic, bit for bit.

The traced arithmetic is the quantized Keras layers' arithmetic (kerasjet.layers.quantized,
QKeras QDense/QActivation): exact sums and products; at each declared type of kerasjet's layers
truncation (free in hardware) with saturation, and where QKeras rounds (its activations),
rounding half to even with saturation (``round_half_even``: da4ml offers truncation and half-up
rounding; the tie-to-even correction costs one extra bit). The structure is exploited:

* d_ij is symmetric: each of the N(N+1)/2 products, and its weighted pair term, is computed once;
* padding is applied to the 2N row and column terms, not to the N² pair values;
* the multiplicity-dependent biases are lookup tables on the constituent count n;
* the ReLU comes before the hidden type's saturation, which it makes one-sided (_hidden_relu);
* constant weights are da4ml constant multiplications (shift-and-add; ternary codes with a
  power-of-two β become additions and subtractions);
* widths follow from the trained ranges: the declared types of the quantizers.

The firmware input is one vector: the momenta (N·4, in units of the model's momentum scale, on
the input type's grid, zero on padding) followed by the mask (N bits) for nanoPELICAN — for a
nanoPELICAN of trigger words the words' codes (N·3: pT, η, φ of each candidate) followed by the
mask; the features for the dense taggers. The output is the logit.
"""

import numpy as np
from kerasjet.errors import KerasjetError
from kerasjet.extras import import_extra

# the rtl extra (kerasjet.extras): without da4ml, one line naming it
_trace = import_extra("da4ml.trace", "rtl", "tracing a model into logic (kerasjet.rtl)")
FixedVariableArray, FixedVariableArrayInput, comb_trace = _trace.FixedVariableArray, _trace.FixedVariableArrayInput, _trace.comb_trace
quantize = import_extra("da4ml.trace.ops", "rtl", "tracing a model into logic (kerasjet.rtl)").quantize
from kerasjet.layers.lorentz import METRIC
from kerasjet.models import n_constituents_of
from kerasjet.quantizers import mean_shift


def kif(quantizer):
    """(signed, integer bits without sign, fractional bits) of quantized_bits / quantized_relu."""
    from qkeras.quantizers import quantized_bits, quantized_relu

    if isinstance(quantizer, quantized_relu):
        return 0, int(quantizer.integer), int(quantizer.bits) - int(quantizer.integer)
    if isinstance(quantizer, quantized_bits):
        signed = int(bool(quantizer.keep_negative))
        return signed, int(quantizer.integer), int(quantizer.bits) - signed - int(quantizer.integer)
    raise KerasjetError(f"no fixed-point form for {quantizer}")


def _fractional_bits(x):
    """Largest fractional bit count among the elements of a FixedVariableArray."""
    return int(np.max(np.asarray(x.kif)[2]))


def round_half_even(x, k, i, f):
    """Round to f fractional bits, ties to even, then saturate to (k, i): QKeras/AP_RND_CONV,AP_SAT.

    With ε the input's LSB: floor(x + 2^-(f+1) − ε/2 + b·ε/2), b the parity of floor(x·2^f),
    rounds every value as half-to-even does; exact inputs (no bits below f) only saturate.
    """
    if isinstance(x, np.ndarray):  # evaluated exactly in float64: np.round rounds half to even
        return quantize(np.round(x * 2.0**f) * 2.0**-f, k, i, f, "SAT", "TRN")
    f_in = _fractional_bits(x)
    if f_in <= f:
        return quantize(x, k, i, f, "SAT", "TRN")
    eps = 2.0**-f_in
    parity = quantize(quantize(x, 0, 0, f, "WRAP", "TRN") * 2.0 ** (f - 1), 0, 0, 1, "WRAP", "TRN") * 2.0
    return quantize(x + (2.0 ** -(f + 1) - eps / 2) + parity * (eps / 2), k, i, f, "SAT", "TRN")


def truncate(x, k, i, f):
    """Drop the bits below f, saturate to (k, i): kerasjet's layer outputs (AP_TRN, AP_SAT)."""
    return quantize(x, k, i, f, "SAT", "TRN")


def _fraction_of(weights, kind):
    """Fractional bits that hold every weight whose name contains ``kind`` exactly."""
    from kerasjet.hls.types import Fixed

    return Fixed.holding(np.concatenate([v.ravel() for k, v in weights.items() if kind in k])).fractional


def _array(elements, shape):
    """A FixedVariableArray from FixedVariable elements in row-major order."""
    objects = np.empty(len(elements), dtype=object)
    objects[:] = elements
    return FixedVariableArray(objects.reshape(shape))


def _elements(array):
    return list(array._vars.ravel())


TABLE_BITS = 30  # significant bits of one lookup table entry (da4ml: 32-bit words)


def _polynomial(coefficients, count, n_bar, fractional, n_max):
    """Σ_k c_k (n/N̄)^k as lookup tables on the constituent count n (no multiplier).

    coefficients (D+1,) exact; count: the FixedVariable n; fractional: bits of the exact result;
    n_max: the number of slots N (entries above it are unreachable and hold 0). da4ml stores a
    table in 32-bit words, so an exact result wider than TABLE_BITS is split into a high table
    (the value truncated to fit) and a low table (the exact remainder), added in the fabric.
    """
    coefficients = np.asarray(coefficients, np.float64)
    if not np.any(coefficients[1:]):
        return float(coefficients[0])
    n = np.arange(0, 2 ** int(np.ceil(np.log2(n_max + 1))), dtype=np.float64)
    values = np.where(n <= n_max, sum(c * (n / n_bar) ** k for k, c in enumerate(coefficients)), 0.0)
    top = max(np.abs(values).max(), 2.0**-fractional)
    integer = int(np.ceil(np.log2(top + 2.0**-fractional))) + 1
    high_fractional = min(fractional, TABLE_BITS - integer)
    high = np.floor(values * 2.0**high_fractional) / 2.0**high_fractional
    parts = [(high, integer, high_fractional)]
    if high_fractional < fractional:
        parts.append((values - high, 1 - high_fractional, fractional))  # exact: 0 ≤ low < 2^-high_fractional
    total = 0.0
    for part, part_integer, part_fractional in parts:
        lookup = dict(zip(n, part))
        total = total + _array([count], (1,)).apply(lambda x, lookup=lookup: np.vectorize(lookup.__getitem__)(np.asarray(x, np.float64))) \
            .quantize(1, part_integer, part_fractional)._vars[0]
    return total


MULTIPLY = 7  # da4ml opcode of a variable × variable multiplication (a DSP)


def adder_cost(inputs, outputs):
    """(da4ml's cost estimate of the logic from inputs to outputs with the multiplications left
    out, the number of those multiplications): LUT-like units (one per adder bit, comparators
    and multiplexers included) and the variable × variable products, which go to DSPs."""
    comb = comb_trace(inputs, outputs)
    products = [op for op in comb.ops if op.opcode == MULTIPLY]
    return comb.cost - sum(op.cost for op in products), len(products)


def nanopelican_cost(model):
    """(adder cost, multiplications) of a whole quantized nanoPELICAN (adder_cost)."""
    stages = nanopelican_stages(model)
    return adder_cost(stages["input"], stages["logit"])


def trace_nanopelican(model):
    """(input, output, CombLogic) of a quantized nanoPELICAN (QLorentzDot → QLinEq2to2 →
    QActivation(quantized_relu) → QLinEq2to0)."""
    stages = nanopelican_stages(model)
    return stages["input"], stages["logit"], comb_trace(stages["input"], stages["logit"])


def nanopelican_stages(model):
    """The traced values of a quantized nanoPELICAN by stage: {'input': firmware input (5N,) ((4N,) from words),
    'dot': the N(N+1)/2 products d_ij (i ≤ j), 'hidden': the ReLU outputs (C, N, N), 'logit': (1,)}."""
    dot, lineq2, act, lineq0 = (model.get_layer(name) for name in ("lorentz_dot", "lineq_2to2", "relu", "lineq_2to0"))
    if not hasattr(dot, "output_quantizer") or not hasattr(act, "quantizer"):
        raise KerasjetError(f"model '{model.name}' is not a quantized nanoPELICAN (compress it first)")
    n = n_constituents_of(model)
    shift = 2.0 ** -np.log2(lineq2.n_bar)
    rows, cols = np.triu_indices(n)  # d_ij: N(N+1)/2 values, mirrored
    if hasattr(dot, "tables"):  # trigger words (QWordLorentzDot): 3N codes, then the mask
        inp = FixedVariableArrayInput((4 * n,))
        d_upper = truncate(_word_products(dot, inp[: 3 * n], n, rows, cols), *kif(dot.output_quantizer))
        mask = quantize(inp[3 * n :], 0, 1, 0)
    else:  # Cartesian momenta (QLorentzDot): 4N on the input type's grid, then the mask
        inp = FixedVariableArrayInput((5 * n,))
        p = quantize(inp[: 4 * n], *kif(dot.input_quantizer)).reshape((n, 4))
        mask = quantize(inp[4 * n :], 0, 1, 0)
        d_upper = truncate(np.sum(p[rows] * p[cols] * np.array(METRIC), axis=-1), *kif(dot.output_quantizer))
    position = np.zeros((n, n), int)
    position[rows, cols] = np.arange(len(rows))
    position[cols, rows] = np.arange(len(rows))
    d = d_upper[position.ravel()].reshape((n, n))

    count = np.sum(mask)  # n, the number of real constituents
    w = {k: np.asarray(v, np.float64) for k, v in lineq2.effective_weights().items()}
    degree = lineq2.multiplicity_degree
    k_shift = int(round(np.log2(lineq2.n_bar)))
    bias_bits = _fraction_of(w, "bias") + k_shift * degree  # exact fractional bits of Σ b_k r^k
    s = np.sum(d, axis=0) * shift  # column sums / N̄ (= row sums: d is symmetric)
    t = np.sum(s) * shift
    kernel = w["kernel"][:, 0, :]  # (6, H): d, δ s, s_j, s_i, t, δ t
    accumulator = lineq2.accumulator_quantizer

    def partial(v):
        return truncate(v, *kif(accumulator)) if accumulator is not None else v

    padding = mask * -1.0 + 1.0  # 1 on padding slots
    none = np.zeros((0, kernel.shape[1]))  # the multiplicity coefficients of a model without them (degree 0)
    hidden = []
    for h in range(kernel.shape[1]):
        bias = _polynomial(np.r_[w["bias"][h], w.get("multiplicity_bias", none)[:, h]], count, lineq2.n_bar, bias_bits, n)
        diag_bias = _polynomial(np.r_[w["diag_bias"][h], w.get("multiplicity_diag_bias", none)[:, h]], count,
                                lineq2.n_bar, bias_bits, n)
        pair = partial(d_upper * kernel[0, h])[position.ravel()].reshape((n, n))  # symmetric: once per unordered pair
        row = partial(s * kernel[3, h] + (t * kernel[4, h] + bias))
        col = partial(s * kernel[2, h])
        diag = partial(s * kernel[1, h] + (t * kernel[5, h] + diag_bias))
        # Padding: instead of zeroing N² outputs, push the row and column terms of padding slots
        # down (by a power of two above any sum of the terms) so that every pre-activation they
        # enter is ≤ 0: its ReLU is 0, as the Keras layer's zeroed output gives after the ReLU.
        big = 2.0 ** int(np.ceil(np.log2(sum(max(_highest(v), 0.0) for v in (pair, row, col, diag)) + 2.0**-16)))
        row = row - padding * big
        col = col - padding * big
        pre = pair + row[:, None] + col[None, :]
        elements = _elements(pre)
        for i, extra in enumerate(_elements(diag)):
            elements[i * n + i] = elements[i * n + i] + extra
        hidden.append(_hidden_relu(_array(elements, (n, n)), lineq2.output_quantizer, act.quantizer))

    w0 = {k: np.asarray(v, np.float64) for k, v in lineq0.effective_weights().items()}
    out = _polynomial(np.r_[w0["bias"][0], w0.get("multiplicity_bias", np.zeros((0, 1)))[:, 0]], count, lineq0.n_bar,
                      _fraction_of(w0, "bias") + k_shift * lineq0.multiplicity_degree, n)
    for h, relu in enumerate(hidden):
        total = np.sum(relu) * shift * shift
        trace = np.sum(_array([relu._vars[i, i] for i in range(n)], (n,))) * shift
        out = total * w0["kernel"][0, h, 0] + trace * w0["kernel"][1, h, 0] + out
    logit = truncate(_array([out], (1,)), *kif(lineq0.output_quantizer))
    return {"input": inp, "dot": d_upper, "hidden": _array([v for h in hidden for v in _elements(h)], (len(hidden), n, n)),
            "logit": logit}


def _field_kif(field):
    """(signed, integer bits without sign, 0) of a word field's integer codes."""
    return (1, field.width - 1, 0) if field.signed else (0, field.width, 0)


def _word_products(dot, codes, n, rows, cols):
    """The exact d_ij (i ≤ j, in the order of ``rows``, ``cols``) of a QWordLorentzDot from the
    words' codes (3N inputs: pT, η, φ of each candidate), as its Keras layer computes them:

        p̃ = pT code · LSB / scale (a shift), |Δη| and the wrapped |Δφ| clipped to the tables,
        d_ij = P_ij (T_η[|Δη|] + T_φ[|Δφ|]), P_ij = p̃_i p̃_j in the layer's product type,
        and d_ii = 0 (a massless candidate): two products per pair, one DSP each.

    Δφ wraps as min(|Δφ|, P − |Δφ|), P the codes per 2π (_phi_index): the wrapped difference for
    codes inside the format's φ range (−P/2 … P/2 − 1), the only codes a trigger sends.
    """
    tables, fmt = dot.tables, dot.tables.fmt
    words = codes.reshape((n, 3))
    pt = _elements(quantize(words[:, 0], *_field_kif(fmt.pt)) * (fmt.pt.lsb / dot.momentum_scale))
    eta = _elements(quantize(words[:, 1], *_field_kif(fmt.eta)))
    phi = _elements(quantize(words[:, 2], *_field_kif(fmt.phi)))
    last = tables.size - 1
    upper = [(i, j) for i, j in zip(rows, cols) if i != j]
    deta = _array([abs(eta[i] - eta[j]).min_of(last) for i, j in upper], (len(upper),))
    dphi = _array([_phi_index(abs(phi[i] - phi[j]), fmt.phi_period, tables.size) for i, j in upper], (len(upper),))
    g = _lookup(deta, tables.eta, tables.fraction_bits) + _lookup(dphi, tables.phi, tables.fraction_bits)
    product = (0, dot.product_integer_bits, dot.product_fraction_bits)  # P_ij's declared type: truncation, saturation
    off_diagonal = iter(_elements(g))
    zero = pt[0] * 0.0
    return _array([zero if i == j else truncate(_array([pt[i] * pt[j]], (1,)), *product)._vars[0] * next(off_diagonal)
                   for i, j in zip(rows, cols)], (len(rows),))


def _phi_index(a, period, size):
    """The table index of a |Δφ| code difference ``a``: the wrapped difference min(a, period − a)
    clipped to the table's last entry, as the Keras layer computes it for codes inside the
    format's φ range (a < period). Its comparisons are against constants and run side by side:
    min(a, size − 1) when a < period − (size − 1), else period − a (then below size; kept to
    the table's index bits, so codes outside the range only read some entry)."""
    last = size - 1
    if 2 * last >= period:  # the table reaches half a turn: no clipping after the wrap
        return a.min_of(period - a).relu().min_of(last)
    far = (period - a).quantize(0, int(np.ceil(np.log2(size))), 0, "WRAP", "TRN")
    return (a - (period - last)).msb_mux(a.min_of(last), far)


def _lookup(index, table, fraction_bits):
    """table[index] for a FixedVariableArray of integer indices: da4ml lookup tables over each
    index's range, entries (multiples of 2^-fraction_bits, ≥ 0) stored exactly."""
    integer = int(np.ceil(np.log2(table.max() + 2.0**-fraction_bits)))
    last = len(table) - 1  # an index beyond the table (codes outside the format's range) reads its last entry
    return index.apply(lambda x: table[np.minimum(np.round(np.asarray(x, np.float64)).astype(int), last)]) \
        .quantize(0, max(integer, 1), fraction_bits)


def _highest(x):
    """The largest value any element of a FixedVariableArray can take."""
    return max(float(v.high) for v in _elements(x))


def _hidden_relu(pre, hidden_quantizer, relu_quantizer):
    """relu_quantizer(ReLU(hidden_quantizer(pre))), as the Keras layers compute it (truncation
    with saturation to the hidden type, then QKeras' rounding ReLU).

    When the hidden type reaches at least as high as the ReLU type (the defaults: both end at
    8 − 2^-8), its saturation is redundant: the ReLU comes first, the hidden type only truncates,
    and one upper saturation remains — half the comparators of the literal order, same results
    (truncation, ReLU and rounding are monotone and 0 is on every grid).
    """
    k, i, f = kif(hidden_quantizer)
    relu_type = kif(relu_quantizer)
    if k == 0 or 2.0**i - 2.0**-f < 2.0 ** relu_type[1] - 2.0 ** -relu_type[2]:  # the literal order
        return round_half_even(_relu(truncate(pre, k, i, f)), *relu_type)
    wide_enough = max(int(np.max(np.asarray(pre.kif)[1])), i)  # truncation without saturation
    return round_half_even(_relu(truncate(pre, 1, wide_enough, f)), *relu_type)


def _relu(y):
    """max(y, 0) elementwise (exact; the ReLU's own type is applied by the caller)."""
    if isinstance(y, np.ndarray):
        return np.maximum(y, 0.0)
    return _array([v.relu() for v in _elements(y)], y.shape)


def sorting_network(n):
    """Batcher's odd–even merge sort on n = 2^m slots: the compare-exchange pairs (i, j), i < j,
    in order (after each, slot i holds the larger key)."""
    if n & (n - 1):
        raise KerasjetError(f"a sorting network here needs N a power of two (got N = {n})")
    pairs, p = [], 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def _larger_first(a, b):
    """(the slot with the larger key, the other) of two slots {'key', ...}: one comparison, one
    multiplexer per field."""
    smaller = a["key"] - b["key"]  # negative: a's key is the smaller (keys are unique)
    return ({name: smaller.msb_mux(b[name], a[name]) for name in a}, {name: smaller.msb_mux(a[name], b[name]) for name in a})


def _word_features(layer, codes, mask, n):
    """The features of a WordConstituentFeatures layer from the words' codes (3N) and the mask
    (N bits), traced as its firmware computes them (kerasjet.data.words.RelativeCoordinates): the
    unique keys pT·2^b + (N − 1 − slot), Batcher's sorting network on them (``sort``) or a
    tournament for the leading slot, the pT sum indexing the reciprocal table, one product per
    slot for r, code differences for Δη and the wrapped Δφ (comparisons against constants), all
    zeroed on padding by multiplexers. Output (F·N,), F = 3 or 4 per slot, as the layer's."""
    c, fmt = layer.coordinates, layer.coordinates.fmt
    words = codes.reshape((n, 3))
    pt, eta, phi = (_elements(quantize(words[:, f], *_field_kif(field))) for f, field in enumerate((fmt.pt, fmt.eta, fmt.phi)))
    padding = _elements(mask * 1.0 - 1.0)  # −1 on padding: its sign bit selects
    zero = pt[0] * 0.0
    bits = c.key_bits(n)
    slots = [{"key": padding[i].msb_mux(zero, pt[i]) * 2.0**bits + float(n - 1 - i), "eta": eta[i], "phi": phi[i],
              "padding": padding[i]} for i in range(n)]
    if layer.sort:
        for i, j in sorting_network(n):
            slots[i], slots[j] = _larger_first(slots[i], slots[j])
        lead = slots[0]
    else:
        contenders = slots  # a tournament: the larger key of each pair goes on
        while len(contenders) > 1:
            contenders = [_larger_first(*contenders[k:k + 2])[0] if k + 1 < len(contenders) else contenders[k]
                          for k in range(0, len(contenders), 2)]
        lead = contenders[0]
    pts = [quantize(_array([slot["key"] * 2.0**-bits], (1,)), 0, fmt.pt.width, 0, "WRAP", "TRN")._vars[0] for slot in slots]
    total = sum(pts[1:], pts[0])
    floor = quantize(_array([total * 2.0**-c.sum_shift], (1,)), 0, fmt.pt.width + bits, 0, "WRAP", "TRN")._vars[0]
    index = _array([floor.min_of(c.reciprocal_size - 1)], (1,))
    reciprocal = _lookup(index, c.reciprocals, c.reciprocal_bits)._vars[0]
    half, period, scale = fmt.phi_period // 2, fmt.phi_period, 2.0**-c.angle_shift
    features = []
    for slot, p in zip(slots, pts):
        ratio = truncate(_array([p * reciprocal], (1,)), 0, 1, c.ratio_bits)._vars[0]
        dphi = slot["phi"] - lead["phi"]
        for _ in range(fmt.phi_wraps):
            dphi = (dphi - half).msb_mux(dphi, dphi - period)
            dphi = (dphi + half).msb_mux(dphi + period, dphi)
        values = [ratio, (slot["eta"] - lead["eta"]) * scale, dphi * scale] + ([slot["padding"] + 1.0] if layer.with_one else [])
        features += [slot["padding"].msb_mux(zero, v) for v in values]
    return _array(features, (len(features),))


def trace_word_dense(model):
    """(input, output, CombLogic) of a quantized constituent peer of trigger words (the pT-sorted
    MLP or Deep Sets with WordConstituentFeatures): firmware input the words' codes (3N) and the
    mask (N), the features traced (_word_features), then dense_stages from them, the first
    quantizer rounding them as QKeras does."""
    from kerasjet.hls.convert import dense_view
    from kerasjet.models.mlp import WordConstituentFeatures

    layer = next(layer for layer in model.layers if isinstance(layer, WordConstituentFeatures))
    n = n_constituents_of(model)
    inp = FixedVariableArrayInput((4 * n,))
    features = _word_features(layer, inp[: 3 * n], quantize(inp[3 * n :], 0, 1, 0), n)
    logit = dense_stages(dense_view(model, features.shape), features, declared=True)
    return inp, logit, comb_trace(inp, logit)


FLOAT64_SIGNIFICAND = 53  # bits of a float64 significand: sums up to this width are exact


def trace_dense(view):
    """(input, output, CombLogic) of a quantized dense tagger or Deep Sets from its features on
    (the model ``kerasjet.hls.convert.firmware_view`` returns), the arithmetic of dense_stages."""
    inp = FixedVariableArrayInput((view.input.shape[-1],))
    logit = dense_stages(view, inp)
    return inp, logit, comb_trace(inp, logit)


def exact_dense_logits(view, rows):
    """The logits (B,) of a quantized dense tagger or Deep Sets, computed exactly: dense_stages
    evaluated in float64 on the firmware input ``rows`` (B, F: the features on the first
    quantizer's grid, kerasjet.rtl.flow.da4ml_inputs).

    QKeras computes in float32, exact only while products and sums need at most 24 bits (16-bit
    inputs × 16-bit weights need more); float64 holds them up to 53 bits, checked per layer
    (KerasjetError beyond). The firmware computes these values: the reference its C simulation
    and RTL are compared with.
    """
    return dense_stages(view, np.asarray(rows, np.float64))[:, 0]


def dense_stages(view, x, declared=False):
    """The quantized dense tagger's arithmetic from its features ``x`` to its logit:
    QActivation quantizers round half to even, QDense and the pointwise QConv1D multiply by their
    quantized constant weights exactly, Reshape regroups the features per constituent, the mean
    over N = 2^e slots is a sum and a shift. The logit is left at full precision.

    x: a da4ml FixedVariableArrayInput (F,) (traced into logic; logit shape (1,)) or float64
    feature rows (B, F) (evaluated, exact while every sum fits FLOAT64_SIGNIFICAND bits: checked;
    logits (B, 1)). ``declared``: x is computed in the firmware (traced features), so the first
    quantizer rounds it as QKeras does instead of declaring the input's type.
    """
    import tensorflow as tf
    from qkeras import QActivation, QConv1D, QDense

    from kerasjet.hls.types import Fixed
    from kerasjet.quantizers import apply_quantizer

    # the values' format, (integer bits with sign, fractional bits), for the float64 exactness check
    evaluated, integer, fractional = isinstance(x, np.ndarray), None, None
    for layer in view.layers[1:]:
        if isinstance(layer, QActivation):
            quantizer = layer.quantizer
            k, i, f = kif(quantizer)
            if not declared:  # the first quantizer declares the input type
                x, declared = quantize(x, k, i, f), True
            elif quantizer.__class__.__name__ == "quantized_relu":
                x = round_half_even(_relu(x), k, i, f)
            else:
                x = round_half_even(x, k, i, f)
            integer, fractional = k + i, f
        elif isinstance(layer, (QDense, QConv1D)):
            if not declared:
                raise KerasjetError(f"model '{view.name}': the first {layer.__class__.__name__} needs an input quantizer for a "
                                    "fixed-point input")
            if isinstance(layer, QConv1D) and layer.kernel_size != (1,):
                raise KerasjetError(f"layer '{layer.name}': only kernel size 1 (per constituent) has a traced form")
            kernel = apply_quantizer(layer.kernel_quantizer_internal, layer.kernel).numpy().astype(np.float64)
            kernel = kernel.reshape(kernel.shape[-2:])
            x = x @ kernel
            weights = Fixed.holding(kernel)
            integer += weights.integer + int(np.ceil(np.log2(kernel.shape[0] + 1)))  # products, their sum and a bias term
            fractional += weights.fractional
            if layer.use_bias:
                bias = apply_quantizer(layer.bias_quantizer_internal, layer.bias).numpy().astype(np.float64)
                x = x + bias
                biases = Fixed.holding(bias)
                integer, fractional = max(integer, biases.integer + 1), max(fractional, biases.fractional)
        elif isinstance(layer, tf.keras.layers.Reshape):
            x = x.reshape(x.shape[:-1] + tuple(layer.target_shape))  # rows keep their leading axis
        elif isinstance(layer, tf.keras.layers.GlobalAveragePooling1D):
            slots = x.shape[-2]
            if mean_shift(slots) is None:
                raise KerasjetError(f"layer '{layer.name}': a mean over N = {slots} slots is exact in fixed point only for N a power of two")
            x = np.sum(x, axis=-2) * (1.0 / slots)
            fractional += mean_shift(slots)
        else:
            raise KerasjetError(f"layer '{layer.name}' ({layer.__class__.__name__}) has no traced form")
        if evaluated and declared and integer + fractional > FLOAT64_SIGNIFICAND:
            raise KerasjetError(f"layer '{layer.name}': its sums need {integer + fractional} bits, more than float64 holds exactly")
    return x


def compile_solver():
    """Trace one small constant matrix product, so that da4ml's numba-compiled CMVM solver (cached
    on disk, in the da4ml install) is compiled once at install time — about two minutes on
    2 cores — rather than inside the first design traced after a fresh install."""
    x = quantize(FixedVariableArrayInput((4,)), 1, 3, 4)
    comb_trace(x, x @ np.arange(-3.0, 5.0).reshape(4, 2))


if __name__ == "__main__":  # python -m kerasjet.rtl.trace (the Makefile's install step)
    compile_solver()
