"""Precision search: the cheapest fixed-point types of a quantized nanoPELICAN that keep its AUC.

A quantized nanoPELICAN has one declared type per stage (``STAGES``): the momenta, the products
d_ij, the LinEq2→2 partial sums, its output, the ReLU and the logit. A nanoPELICAN of trigger
words has its pair tables (their fractional bits, ``TABLES``) where the momenta's type would be.
The search trims their fractional bits; the integer bits (the ranges, set from the trained and
calibrated ranges) and the weights stay as they are, so saturation is unchanged and every type stays one that the
layers, hls4ml and the da4ml tracer implement alike (the result converts bit-exactly as the
starting model does; tests/test_precision.py checks it).

The cost is da4ml's estimate of the traced design: adders in LUT-like units plus 55 (the
frontier's DSP_IN_LUTS) per variable product, which goes to a DSP. The search:

1. per stage alone, bisection for the fewest fractional bits that keep the AUC on the given jets
   at or above ``floor`` (the other stages at their starting types);
2. all stages at those bounds together; while the AUC is below the floor, give one bit back to
   the stage that buys the most AUC per unit of cost, judged with da4ml's estimate.

AUCs are evaluated on the jets given (validation jets: the test set stays for the table).
"""

import numpy as np

from kerasjet.errors import KerasjetError

STAGES = {  # stage → (layer, key of its quantizer in the layer config)
    "input": ("lorentz_dot", "input_quantizer"),
    "dot": ("lorentz_dot", "output_quantizer"),
    "accumulator": ("lineq_2to2", "accumulator_quantizer"),
    "hidden": ("lineq_2to2", "output_quantizer"),
    "activation": ("relu", "activation"),
    "output": ("lineq_2to0", "output_quantizer"),
}
TABLES = "tables"  # a word nanoPELICAN's pair tables (QWordLorentzDot's fraction_bits): one more stage, no quantizer
BATCH = 4096  # jets per model call
MIN_FRACTION = 1  # fewest fractional bits a stage is trimmed to (one-bit QKeras types behave apart)


def _layer_config(model_config, name):
    return next(entry["config"] for entry in model_config["layers"] if entry["config"]["name"] == name)


def _quantizer_config(model_config, stage):
    layer, key = STAGES[stage]
    quantizer = _layer_config(model_config, layer).get(key)
    if not isinstance(quantizer, dict) or quantizer.get("class_name") not in ("quantized_bits", "quantized_relu"):
        raise KerasjetError(f"layer '{layer}' has no fixed-point {key} (compress the model first)")
    return quantizer["config"]


def model_stages(model_config):
    """The stages of a quantized nanoPELICAN's config: STAGES for Cartesian momenta; for trigger
    words the pair tables instead of the momenta's type (the words enter as they are)."""
    if "fraction_bits" in _layer_config(model_config, "lorentz_dot"):
        return [TABLES] + [stage for stage in STAGES if stage != "input"]
    return list(STAGES)


def stage_fraction(model_config, stage):
    """Fractional bits of one stage in a model config."""
    if stage == TABLES:
        return int(_layer_config(model_config, "lorentz_dot")["fraction_bits"])
    return fractional_bits(_quantizer_config(model_config, stage))


def fractional_bits(quantizer_config):
    """Fractional bits of a quantized_bits / quantized_relu config (bits − sign − integer)."""
    sign = 1 if quantizer_config.get("keep_negative", False) else 0
    return int(quantizer_config["bits"]) - sign - int(quantizer_config["integer"])


def stage_types(model):
    """{stage: (bits, integer bits without sign)} of a quantized nanoPELICAN (a word model's
    tables: (fractional bits, integer bits of their largest entry))."""
    config = model.get_config()
    types = {}
    for stage in model_stages(config):
        if stage == TABLES:
            dot = model.get_layer("lorentz_dot")
            integer = int(np.ceil(np.log2(max(dot.tables.eta.max(), dot.tables.phi.max()) + 2.0**-dot.fraction_bits)))
            types[stage] = (dot.fraction_bits + integer, integer)
        else:
            q = _quantizer_config(config, stage)
            types[stage] = (int(q["bits"]), int(q["integer"]))
    return types


def with_fractions(model, fractions):
    """A copy of a quantized nanoPELICAN with the given {stage: fractional bits} (stages left out
    keep theirs); the weights and every integer part stay."""
    import tensorflow as tf

    from kerasjet.models import custom_objects

    from qkeras.quantizers import quantized_relu

    config = model.get_config()
    for stage, fraction in fractions.items():
        if stage == TABLES:
            _layer_config(config, "lorentz_dot")["fraction_bits"] = int(fraction)
            continue
        quantizer = _quantizer_config(config, stage)
        quantizer["bits"] = int(quantizer["bits"]) - fractional_bits(quantizer) + int(fraction)
    relu = _layer_config(config, STAGES["activation"][0])
    relu["activation"] = quantized_relu(**relu["activation"]["config"])  # QActivation takes no serialised quantizer
    copy = tf.keras.Model.from_config(config, custom_objects=custom_objects())
    copy.set_weights(model.get_weights())
    return copy


def da4ml_cost(model):
    """da4ml's cost estimate of a quantized nanoPELICAN: adders + DSP_IN_LUTS per product."""
    from kerasjet.rtl.frontier import DSP_IN_LUTS
    from kerasjet.rtl.trace import nanopelican_cost

    adders, products = nanopelican_cost(model)
    return float(adders + DSP_IN_LUTS * products)


class _Evaluator:
    """AUC and cost of models with given fractions, each computed once."""

    def __init__(self, model, inputs, labels, progress):
        from kerasjet.metrics import roc_auc

        self.model, self.inputs, self.labels, self.roc_auc = model, inputs, labels, roc_auc
        self.aucs, self.costs, self.progress = {}, {}, progress

    def key(self, fractions):
        return tuple(sorted(fractions.items()))

    def auc(self, fractions):
        key = self.key(fractions)
        if key not in self.aucs:
            model = with_fractions(self.model, fractions)
            jets = len(self.labels)  # called directly: predict() would trace a new function per model
            scores = np.concatenate([np.asarray(model({k: v[i : i + BATCH] for k, v in self.inputs.items()}, training=False)).reshape(-1)
                                     for i in range(0, jets, BATCH)])
            self.aucs[key] = float(self.roc_auc(self.labels, scores))
            self.progress.update(1)
        return self.aucs[key]

    def cost(self, fractions):
        key = self.key(fractions)
        if key not in self.costs:
            self.costs[key] = da4ml_cost(with_fractions(self.model, fractions))
        return self.costs[key]


def search_precision(model, inputs, labels, floor, show_progress=True, stages=None):
    """The cheapest fractional bits per stage found for ``model`` whose AUC on (inputs, labels)
    stays ≥ ``floor``; ``stages``: only these (default every stage of the model). Returns a
    dict: 'start' and 'found' ({stage: fractional bits}), their 'auc' and 'cost' (start_auc,
    found_auc, start_cost, found_cost), 'bounds' (each stage's fewest bits alone) and 'model'
    (the model with the found types)."""
    from tqdm import tqdm

    config = model.get_config()
    present = model_stages(config)
    if stages is not None and not set(stages) <= set(present):
        raise KerasjetError(f"stages {sorted(set(stages) - set(present))} are not stages of model '{model.name}' ({', '.join(present)})")
    stages = present if stages is None else list(stages)
    start = {stage: stage_fraction(config, stage) for stage in stages}
    with tqdm(desc="precision search", unit="model", disable=not show_progress) as progress:
        evaluator = _Evaluator(model, inputs, labels, progress)
        start_auc = evaluator.auc(start)
        if start_auc < floor:
            raise KerasjetError(f"the starting types give AUC {start_auc:.4f}, below the floor {floor:.4f}: nothing to trim")
        bounds = {}
        for stage in stages:  # 1. each stage alone: the fewest bits with AUC ≥ floor (bisection)
            low, high = MIN_FRACTION, start[stage]  # high passes
            while low < high:
                middle = (low + high) // 2
                if evaluator.auc({**start, stage: middle}) >= floor:
                    high = middle
                else:
                    low = middle + 1
            bounds[stage] = high
        found = dict(bounds)  # 2. together; give bits back where they buy the most AUC per cost
        while evaluator.auc(found) < floor:  # ends: with every stage back at its start the AUC is start_auc
            here_auc, here_cost = evaluator.auc(found), evaluator.cost(found)
            candidates = [{**found, stage: found[stage] + 1} for stage in stages if found[stage] < start[stage]]
            found = max(candidates, key=lambda c: (evaluator.auc(c) - here_auc) / max(evaluator.cost(c) - here_cost, 1.0))
    return {"start": start, "found": found, "bounds": bounds, "start_auc": start_auc, "found_auc": evaluator.auc(found),
            "start_cost": evaluator.cost(start), "found_cost": evaluator.cost(found), "floor": float(floor),
            "evaluated": len(evaluator.aucs), "model": with_fractions(model, found)}


def search_against_float(model, float_model, val_file, auc_loss=0.003, show_progress=True, stages=None):
    """search_precision with the floor the firmware targets: the AUC of ``float_model`` (the
    float model at the same N) on the jets of ``val_file`` minus ``auc_loss``. Adds 'float_auc'."""
    from kerasjet.data.pipeline import load_inputs
    from kerasjet.metrics import roc_auc
    from kerasjet.models import input_spec_of

    spec = input_spec_of(model)
    if input_spec_of(float_model) != spec:
        raise KerasjetError(f"the float model takes {input_spec_of(float_model)}, the quantized one {spec}: compare like with like")
    inputs, labels = load_inputs(val_file, spec)
    float_auc = float(roc_auc(labels, float_model.predict(inputs, batch_size=2048, verbose=0).reshape(-1)))
    return {**search_precision(model, inputs, labels, float_auc - auc_loss, show_progress, stages), "float_auc": float_auc}
