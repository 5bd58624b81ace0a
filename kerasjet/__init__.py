"""kerasjet: tiny symmetry-aware jet taggers, from Pythia8 jets to FPGA firmware.

The public Python API is importable from the package itself; ``import kerasjet`` stays light
(no TensorFlow): each name is imported from its module on first use (``kerasjet.nanopelican``
imports kerasjet.models, and TensorFlow, then). Units: momenta in GeV, (E, px, py, pz) in the
last axis; a jet is ``pmu`` (B, N, 4) with ``mask`` (B, N) (1 for a real constituent, 0 for a
padding slot), and every model maps {'pmu', 'mask'} (or [pmu, mask]) to a (B, 1) logit of "top".

=================  ==========================================================================
models             nanopelican, nanopelican_folded, qnanopelican, lorentznet, topodnn,
                   hls4ml_tagger, constituent_mlp, deep_sets, build_model, load_model,
                   save_model, n_constituents_of
layers             LorentzDot, LinEq2to2, LinEq2to0, MaskedBatchNorm, QLorentzDot, QLinEq2to2,
                   QLinEq2to0
quantizers         bitlinear_ternary, blockwise_bits, pair_po2_bits, absmax_quantizer
data               read_jets, write_jets, JetArrays, InputSpec, leading_constituents,
                   load_inputs, make_dataset
training           momentum_unit, initialise_from_data, RelativeAdam, step_scales,
                   NO_BATCHNORM_STEP_GAIN, WarmupCosine, RunConfig, train_run (kerasjet.train.train: the CLI's recipe)
folding            fold_model (kerasjet.fold.fold), format_formula, folded_nanopelican
compression        quantized_copy, nano_precision, fine_tune, weight_summary,
                   compress_model (kerasjet.compress.compress), write_hls_config
hls4ml             for_hls4ml, firmware_inputs, quantizer_types (after ``import kerasjet.hls``,
                   hls4ml's own converters take kerasjet models)
=================  ==========================================================================

docs/guide/python_api.md builds, trains, folds, quantises and converts a nanoPELICAN with these.

Importing kerasjet before TensorFlow turns on TensorFlow's BFC allocator on the CPU: the pair
arrays of nanoPELICAN are tens of MB per batch, and TensorFlow's default CPU allocator returns
fresh pages for each, which made every elementwise op 4-5 times slower on our machines.
"""

import importlib
import os

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

# public name → the module that defines it (imported on first access, PEP 562)
_API = {
    # models: builders and files
    "nanopelican": "kerasjet.models.nanopelican",
    "nanopelican_folded": "kerasjet.models.nanopelican",
    "qnanopelican": "kerasjet.models.nanopelican",
    "lorentznet": "kerasjet.models.lorentznet",
    "topodnn": "kerasjet.models.mlp",
    "hls4ml_tagger": "kerasjet.models.mlp",
    "constituent_mlp": "kerasjet.models.mlp",
    "deep_sets": "kerasjet.models.deepsets",
    "build_model": "kerasjet.models",
    "load_model": "kerasjet.models",
    "save_model": "kerasjet.models",
    "n_constituents_of": "kerasjet.models",
    # layers
    "LorentzDot": "kerasjet.layers",
    "LinEq2to2": "kerasjet.layers",
    "LinEq2to0": "kerasjet.layers",
    "MaskedBatchNorm": "kerasjet.layers",
    "QLorentzDot": "kerasjet.layers",
    "QLinEq2to2": "kerasjet.layers",
    "QLinEq2to0": "kerasjet.layers",
    # quantizers (QKeras-style, beside QKeras' own quantized_bits / quantized_relu)
    "bitlinear_ternary": "kerasjet.quantizers",
    "blockwise_bits": "kerasjet.quantizers",
    "pair_po2_bits": "kerasjet.quantizers",
    "absmax_quantizer": "kerasjet.quantizers",
    # data
    "read_jets": "kerasjet.data.io",
    "write_jets": "kerasjet.data.io",
    "JetArrays": "kerasjet.data.io",
    "InputSpec": "kerasjet.data.pipeline",
    "leading_constituents": "kerasjet.data.pipeline",
    "load_inputs": "kerasjet.data.pipeline",
    "make_dataset": "kerasjet.data.pipeline",
    # training
    "momentum_unit": "kerasjet.train",
    "initialise_from_data": "kerasjet.models.nanopelican",
    "RelativeAdam": "kerasjet.train",
    "NO_BATCHNORM_STEP_GAIN": "kerasjet.train",
    "step_scales": "kerasjet.train",
    "WarmupCosine": "kerasjet.train",
    "RunConfig": "kerasjet.train",
    # folding
    "fold_model": "kerasjet.fold",
    "format_formula": "kerasjet.fold",
    "folded_nanopelican": "kerasjet.compress",
    # compression
    "quantized_copy": "kerasjet.compress",
    "nano_precision": "kerasjet.compress",
    "compress_model": "kerasjet.compress",
    "fine_tune": "kerasjet.compress",
    "weight_summary": "kerasjet.compress",
    "write_hls_config": "kerasjet.compress",
    # hls4ml conversion (importing kerasjet.hls registers the extension with hls4ml)
    "for_hls4ml": "kerasjet.hls",
    "firmware_inputs": "kerasjet.hls",
    "quantizer_types": "kerasjet.hls.config",
}

# names that differ from the defining function's: kerasjet.fold, kerasjet.compress and
# kerasjet.train are the modules (``import kerasjet.fold`` must not be shadowed by a function)
_ALIASES = {"fold_model": "fold", "compress_model": "compress", "train_run": "train"}
_API["train_run"] = "kerasjet.train"
_SUBPACKAGES = ("data", "hls", "layers", "models", "rtl", "compress", "fold", "train", "quantizers", "extras", "errors",
                "metrics", "evaluate", "kinematics")

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    module = _API.get(name)
    if module is None:
        if name in _SUBPACKAGES:  # kerasjet.hls, kerasjet.data, ... without an import statement
            return importlib.import_module(f"kerasjet.{name}")
        raise AttributeError(f"module 'kerasjet' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), _ALIASES.get(name, name))
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))
