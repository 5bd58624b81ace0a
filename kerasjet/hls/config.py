"""The deployment YAML (hls_configs/*.yml): schema, defaults, validation.

    n_constituents: 16                         # N, the constituent slots of the model's input
    model: models/nanopelican_c2_n16_8bit.h5   # Keras model; paths are relative to the repository root
    backend: Vivado                            # Vivado | Vitis
    part: xcvu13p-flga2577-2-e
    clock_period: 5.0                          # ns
    io_type: io_parallel
    reuse_factor: 1                            # every layer; must divide each layer's multiplications
    precision:                                 # optional: types of float models / overrides
      default: ap_fixed<16,6>
      layers: {lineq_2to2: {result: ap_fixed<16,6>}}
    output_dir: hls_projects/nanopelican_c2_n16
    test_data: {file: data/demo.h5, jets: 2000}
    tolerance: {max_abs_diff: 0.0, decision_agreement: 1.0, auc_diff: 0.001}
    rtl: {...}                                 # the da4ml section (kerasjet.rtl)

Any unknown key, wrong type or impossible value is a KerasjetError naming the file and the key.
"""

import os

import yaml

from kerasjet.errors import KerasjetError

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NUMBER = (int, float)
SCHEMA = {
    "model": (str, True),
    "n_constituents": (int, True),
    "description": (str, False),
    "backend": (str, False),
    "part": (str, False),
    "clock_period": (NUMBER, False),
    "io_type": (str, False),
    "reuse_factor": (int, False),
    "precision": ({"default": (str, False), "layers": (dict, False)}, False),
    "output_dir": (str, True),
    "test_data": ({"file": (str, True), "jets": (int, False)}, True),
    "tolerance": ({"max_abs_diff": (NUMBER, False), "decision_agreement": (NUMBER, False), "auc_diff": (NUMBER, False)}, False),
    "rtl": ({"clock_period": (NUMBER, False), "latency_cutoff": (NUMBER, False), "part": (str, False), "family": (str, False),
             "output_dir": (str, False), "jets": (int, False), "synthesis": (bool, False)}, False),
}
DEFAULTS = {
    "backend": "Vivado",
    "part": "xcvu13p-flga2577-2-e",
    "clock_period": 5.0,
    "io_type": "io_parallel",
    "reuse_factor": 1,
    "precision": {},
    "tolerance": {"max_abs_diff": 0.0, "decision_agreement": 1.0, "auc_diff": 0.001},
    "rtl": {},
}
CHOICES = {"backend": ("Vivado", "Vitis"), "io_type": ("io_parallel",)}


def _check(mapping, schema, where, path):
    if not isinstance(mapping, dict):
        raise KerasjetError(f"{path}: '{where or 'the file'}' must be a mapping")
    for key in mapping:
        if key not in schema:
            raise KerasjetError(f"{path}: unknown key '{where + '.' if where else ''}{key}' (allowed: {', '.join(schema)})")
    for key, (kind, required) in schema.items():
        name = f"{where}.{key}" if where else key
        if key not in mapping:
            if required:
                raise KerasjetError(f"{path}: missing key '{name}'")
            continue
        value = mapping[key]
        if isinstance(kind, dict):
            _check(value, kind, name, path)
        elif isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            expected = kind.__name__ if isinstance(kind, type) else "number"
            raise KerasjetError(f"{path}: key '{name}' must be a {expected}, got {value!r}")


def resolve(path):
    """A path from the YAML: absolute, or relative to the repository root."""
    return path if os.path.isabs(path) else os.path.join(REPOSITORY, path)


def load_config(path):
    """The validated config dict of a deployment YAML, defaults filled in, paths resolved."""
    if not os.path.exists(path):
        raise KerasjetError(f"{path}: no such file")
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise KerasjetError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    _check(raw, SCHEMA, "", path)
    config = {**DEFAULTS, **raw}
    config["tolerance"] = {**DEFAULTS["tolerance"], **raw.get("tolerance", {})}
    for key, allowed in CHOICES.items():
        if config[key] not in allowed:
            raise KerasjetError(f"{path}: key '{key}' must be one of {', '.join(allowed)}, got '{config[key]}'")
    if config["reuse_factor"] < 1:
        raise KerasjetError(f"{path}: key 'reuse_factor' must be at least 1, got {config['reuse_factor']}")
    if config["n_constituents"] < 1:
        raise KerasjetError(f"{path}: key 'n_constituents' must be positive, got {config['n_constituents']}")
    if config["clock_period"] <= 0:
        raise KerasjetError(f"{path}: key 'clock_period' must be positive, got {config['clock_period']}")
    from kerasjet.rtl.config import check_rtl_config

    config["rtl"] = check_rtl_config(config["rtl"], path)
    config["model"] = resolve(config["model"])
    if not os.path.exists(config["model"]):
        raise KerasjetError(f"{path}: key 'model': no such file {config['model']}")
    config["output_dir"] = resolve(config["output_dir"])
    config["test_data"] = {"jets": 2000, **config["test_data"], "file": resolve(config["test_data"]["file"])}
    config["source"] = path
    return config
