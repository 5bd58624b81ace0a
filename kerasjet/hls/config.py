"""The deployment YAML (hls_configs/*.yml): an hls4ml configuration plus one ``kerasjet:`` section.

    KerasModel: !kerasjet_model ../models/nanopelican_c2_n16_8bit.h5
    OutputDir: !kerasjet_path ../hls_projects/nanopelican_c2_n16_8bit
    ProjectName: kerasjet
    Backend: Vivado                      # Vivado | Vitis
    Part: xcvu13p-flga2577-2-e
    ClockPeriod: 5.0                     # ns
    IOType: io_parallel                  # the kerasjet layers have no io_stream form
    HLSConfig:
      Model:                             # types: default, and per variable ('auto': inferred)
        Precision: {default: ap_fixed<16,6>, result: auto, accum: auto}
        ReuseFactor: 1                   # of every layer
      LayerName: {lineq_2to2: {Precision: {result: ap_fixed<16,6>}, ReuseFactor: 2}}   # optional
    kerasjet:                            # what hls4ml has no key for
      description: "..."
      n_constituents: 16                 # N, the constituent slots of the model's input
      test_data: {file: ../data/demo.h5, jets: 2000}
      tolerance: {max_abs_diff: 0.0, decision_agreement: 1.0, auc_diff: 0.001}
      rtl: {...}                         # the da4ml section (kerasjet.rtl.config)

Relative paths resolve against the YAML's folder. ``import kerasjet.hls`` teaches hls4ml's YAML
reader (yaml.safe_load) the two tags, so that its ``convert_from_config`` reads the file the same
way: ``!kerasjet_path`` is a path, ``!kerasjet_model`` a kerasjet model file loaded by
``kerasjet.models.load_model`` (custom objects registered, the committed files' dict inputs made
list inputs; hls4ml 1.3's ``convert_from_config`` reads no KerasH5 key). Untagged paths are
resolved against the YAML's folder by kerasjet only. Every key is checked: an unknown or
duplicate key, a wrong type or an impossible value is a KerasjetError ``<file>: <key>: <what>``.
"""

import math
import os
import re

import yaml

from kerasjet.errors import KerasjetError

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH_TAG = "!kerasjet_path"
MODEL_TAG = "!kerasjet_model"
CHECK_FLOW = "parse_qonnx"  # the first flow of every hls4ml conversion (kerasjet.hls.passes.FIRST_FLOW)

NUMBER = (int, float)
PRECISION = re.compile(r"^(ap_u?fixed<\s*(?P<w>\d+)\s*,\s*-?\d+\s*(,\s*AP_(RND|RND_ZERO|RND_MIN_INF|RND_INF|RND_CONV|TRN|TRN_ZERO)\s*"
                       r"(,\s*AP_(SAT|SAT_ZERO|SAT_SYM|WRAP)\s*)?)?>|ap_u?int<\s*(?P<iw>\d+)\s*>)$")
LAYER_SCHEMA = {"Precision": ((str, dict), False), "ReuseFactor": (int, False)}
SCHEMA = {
    "KerasModel": (str, True),
    "OutputDir": (str, True),
    "ProjectName": (str, True),
    "Backend": (str, True),
    "Part": (str, True),
    "ClockPeriod": (NUMBER, True),
    "IOType": (str, True),
    "HLSConfig": ({"Model": ({"Precision": ((str, dict), True), "ReuseFactor": (int, True), "Strategy": (str, False)}, True),
                   "LayerName": (dict, False)}, True),
    "kerasjet": ({
        "description": (str, False),
        "n_constituents": (int, True),
        "test_data": ({"file": (str, True), "jets": (int, False)}, True),
        "tolerance": ({"max_abs_diff": (NUMBER, False), "decision_agreement": (NUMBER, False), "auc_diff": (NUMBER, False)}, False),
        "rtl": ({"clock_period": (NUMBER, False), "latency_cutoff": (NUMBER, False), "part": (str, False), "family": (str, False),
                 "output_dir": (str, False), "jets": (int, False), "synthesis": (bool, False)}, False),
    }, True),
}
CHOICES = {"Backend": ("Vivado", "Vitis"), "IOType": ("io_parallel",), "HLSConfig.Model.Strategy": ("Latency", "Resource")}
WHY_NOT = {"io_stream": " (the kerasjet layers' pair arrays (C, N, N) have no streaming form)"}
TOLERANCE_DEFAULTS = {"max_abs_diff": 0.0, "decision_agreement": 1.0, "auc_diff": 0.001}

# What reaches a shell command, a file name or generated C++ (hls4ml pastes ProjectName, OutputDir,
# Part and layer names unquoted into build scripts, file names and C++ sources): checked on every entry
# point (load_config; check_hls4ml_config for hls4ml's own convert_from_config with kerasjet imported).
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
CXX_KEYWORDS = frozenset((
    "alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class compl "
    "concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype default delete "
    "do double dynamic_cast else enum explicit export extern false float for friend goto if inline int long mutable "
    "namespace new noexcept not not_eq nullptr operator or or_eq private protected public register reinterpret_cast "
    "requires return short signed sizeof static static_assert static_cast struct switch template this thread_local throw "
    "true try typedef typeid typename union unsigned using virtual void volatile wchar_t while xor xor_eq main nnet").split())
PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SHELL_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./+-]+$")
PRECISION_CHARACTERS = re.compile(r"^[A-Za-z0-9_<>, -]{1,64}$")  # hls4ml's own spellings too: fixed<8,1,RND_CONV,SAT,0>
STAMP = re.compile(r"^[A-Za-z0-9]{1,32}$")
CLOCK_NS = (0.1, 1000.0)  # ns: 10 GHz to 1 MHz, beyond any FPGA fabric either way
MAX_REUSE_FACTOR = 1 << 20
MAX_N_CONSTITUENTS = 1024
MAX_TEST_JETS = 10_000_000


def _fail(path, key, what):
    raise KerasjetError(f"{path}: {key}: {what}")


def _type_name(kind):
    if kind == NUMBER:
        return "a number"
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({str: "a string", int: "an integer", bool: "a boolean", dict: "a mapping"}[k] for k in kinds)


def _check(mapping, schema, where, path):
    """Unknown keys, missing keys and wrong types of ``mapping`` against ``schema``."""
    if not isinstance(mapping, dict):
        _fail(path, where or "the file", "must be a mapping")
    for key in mapping:
        if key not in schema:
            _fail(path, f"{where}.{key}" if where else str(key), f"unknown key (allowed: {', '.join(schema)})")
    for key, (kind, required) in schema.items():
        name = f"{where}.{key}" if where else key
        if key not in mapping:
            if required:
                _fail(path, name, "missing")
            continue
        value = mapping[key]
        if isinstance(kind, dict):
            _check(value, kind, name, path)
        elif isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            _fail(path, name, f"must be {_type_name(kind)}, got {value!r}")


def check_precision(text, path, key, auto=False):
    """KerasjetError unless ``text`` is ap_fixed<W,I>, ap_ufixed<W,I> (optional rounding and
    saturation modes), ap_int<W> or ap_uint<W> with 1 ≤ W ≤ 1024 (or 'auto' where allowed)."""
    if auto and text == "auto":
        return
    match = PRECISION.match(str(text).replace(" ", ""))
    width = match and int(match.group("w") or match.group("iw"))
    if not match or not 1 <= width <= 1024:
        _fail(path, key, f"'{text}' is not a precision: expected ap_fixed<W,I>, ap_ufixed<W,I>, ap_int<W> or ap_uint<W> "
                         f"with 1 ≤ W ≤ 1024{' (or auto)' if auto else ''}")


def _positive(value, path, key, allow_zero=False):
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        _fail(path, key, f"must be a finite {'non-negative' if allow_zero else 'positive'} number, got {value}")


def check_identifier(name, path, key, what="name", keywords=False):
    """KerasjetError unless ``name`` is a C identifier (≤ 64 characters; with ``keywords``, no C++
    keyword either: the project name is a C++ function's name): it becomes part of generated C++
    and of file names."""
    if not isinstance(name, str) or not IDENTIFIER.match(name) or (keywords and name in CXX_KEYWORDS):
        _fail(path, key, f"{what} {name!r} is not a C identifier (letters, digits and _, not starting with a digit, "
                         f"at most 64 characters{', no C++ keyword' if keywords else ''}): it is pasted into generated "
                         "C++, file names and build scripts")


def check_part(part, path, key):
    """KerasjetError unless ``part`` looks like an FPGA part name (letters, digits, '-', '_', '.')."""
    if not isinstance(part, str) or not PART.match(part):
        _fail(path, key, f"{part!r} is not an FPGA part name (letters, digits, '-', '_' and '.', at most 64 characters): "
                         "it is pasted into the build scripts")


def check_clock(value, path, key):
    low, high = CLOCK_NS
    if isinstance(value, bool) or not isinstance(value, NUMBER) or not math.isfinite(value) or value <= 0:
        _fail(path, key, f"must be a finite positive number, got {value}")
    if not low <= value <= high:
        _fail(path, key, f"must lie in [{low}, {high}] ns, got {value}")


def _is_within(inner, outer):
    """Whether ``inner`` is ``outer`` or lies below it (absolute, normalised paths)."""
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def check_output_dir(value, resolved, path, key, folder):
    """KerasjetError unless ``resolved`` (``value`` of the YAML, resolved) is a project folder of
    its own: not empty, not the config's folder or ``folder`` (where relative paths start), the
    working directory, or a folder above one of them; only characters that are safe in the unquoted
    shell commands of hls4ml's build scripts; not a file, not below a file, writable."""
    from kerasjet.files import check_output_folder

    if not isinstance(value, str) or not value.strip():
        _fail(path, key, f"must name the project's own folder, got {value!r}")
    if not SHELL_SAFE_PATH.match(resolved):
        _fail(path, key, f"'{resolved}' holds characters other than letters, digits and _ . / + - (hls4ml's build "
                         "scripts paste it unquoted into shell commands)")
    for where, name in ((os.path.abspath(folder), "the config's folder"), (os.getcwd(), "the working directory")):
        if _is_within(where, resolved):
            _fail(path, key, f"'{resolved}' is {name} or a folder above it: the project would be written among "
                             "other files; name a folder of its own")
    try:
        check_output_folder(resolved)
    except KerasjetError as err:
        _fail(path, key, str(err))


def check_hls4ml_config(config, path, folder):
    """The values of an hls4ml configuration dict that reach a shell, a file name or generated C++:
    ProjectName, OutputDir (resolved against ``folder``), Part, Backend, ClockPeriod, the
    precision strings and layer names of HLSConfig, and a Stamp if given. ``path`` names the
    source in the message."""
    project = config.get("ProjectName", "myproject")
    check_identifier(project, path, "ProjectName", "project name", keywords=True)
    output = config.get("OutputDir", "my-hls-test")
    check_output_dir(output, resolve(output, folder) if isinstance(output, str) else "", path, "OutputDir", folder)
    if "Part" in config:
        check_part(config["Part"], path, "Part")
    if "Backend" in config and config["Backend"] not in CHOICES["Backend"]:
        _fail(path, "Backend", f"must be one of {', '.join(CHOICES['Backend'])}, got {config['Backend']!r}")
    if "ClockPeriod" in config:
        check_clock(config["ClockPeriod"], path, "ClockPeriod")
    if "Stamp" in config and not STAMP.match(str(config["Stamp"])):
        _fail(path, "Stamp", f"{config['Stamp']!r} is not letters and digits (it is pasted into build_lib.sh)")
    hls = config.get("HLSConfig", {})
    if not isinstance(hls, dict):
        _fail(path, "HLSConfig", "must be a mapping")
    for section in ("LayerName", "LayerType"):
        for name, settings in (hls.get(section) or {}).items():
            check_identifier(name, path, f"HLSConfig.{section}.{name}", "layer name" if section == "LayerName" else "layer type")
            _check_precisions((settings or {}).get("Precision") if isinstance(settings, dict) else None, path,
                              f"HLSConfig.{section}.{name}.Precision")
    _check_precisions((hls.get("Model") or {}).get("Precision"), path, "HLSConfig.Model.Precision")


def _check_precisions(precision, path, key):
    if precision is None:
        return
    for var, text in (precision.items() if isinstance(precision, dict) else [("", precision)]):
        if var:
            check_identifier(var, path, f"{key}.{var}", "variable")
        if not isinstance(text, str) or not PRECISION_CHARACTERS.match(text):
            _fail(path, f"{key}.{var}" if var else key, f"{text!r} is not a precision (letters, digits, _ < > , and "
                                                        "spaces only: it is pasted into generated C++)")


def _check_layers(layers, path):
    for name, settings in layers.items():
        where = f"HLSConfig.LayerName.{name}"
        check_identifier(name, path, where, "layer name")
        _check(settings, LAYER_SCHEMA, where, path)
        precision = settings.get("Precision", {})
        for var, text in (precision.items() if isinstance(precision, dict) else [("", precision)]):
            check_precision(text, path, f"{where}.Precision{'.' + var if var else ''}", auto=True)
        if "ReuseFactor" in settings:
            _check_reuse(settings["ReuseFactor"], path, f"{where}.ReuseFactor")


def _check_reuse(value, path, key):
    if not 1 <= value <= MAX_REUSE_FACTOR:
        _fail(path, key, f"must lie in [1, {MAX_REUSE_FACTOR}], got {value}")


def _check_values(raw, path):
    """Choices and ranges of the hls4ml keys and the kerasjet section."""
    for key, allowed in CHOICES.items():
        value = raw
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and value not in allowed:
            _fail(path, key, f"must be one of {', '.join(allowed)}, got '{value}'{WHY_NOT.get(value, '')}")
    check_clock(raw["ClockPeriod"], path, "ClockPeriod")
    check_identifier(raw["ProjectName"], path, "ProjectName", "project name", keywords=True)
    check_part(raw["Part"], path, "Part")
    model = raw["HLSConfig"]["Model"]
    precision = model["Precision"]
    if isinstance(precision, dict):
        if "default" not in precision:
            _fail(path, "HLSConfig.Model.Precision.default", "missing")
        for var, text in precision.items():
            check_identifier(var, path, f"HLSConfig.Model.Precision.{var}", "variable")
            check_precision(text, path, f"HLSConfig.Model.Precision.{var}", auto=var != "default")
    else:
        check_precision(precision, path, "HLSConfig.Model.Precision")
    _check_reuse(model["ReuseFactor"], path, "HLSConfig.Model.ReuseFactor")
    _check_layers(raw["HLSConfig"].get("LayerName", {}), path)
    kerasjet = raw["kerasjet"]
    if kerasjet["n_constituents"] < 1:
        _fail(path, "kerasjet.n_constituents", f"must be positive, got {kerasjet['n_constituents']}")
    if kerasjet["n_constituents"] > MAX_N_CONSTITUENTS:
        _fail(path, "kerasjet.n_constituents", f"must be at most {MAX_N_CONSTITUENTS}, got {kerasjet['n_constituents']}")
    if kerasjet["test_data"].get("jets", 1) < 1:
        _fail(path, "kerasjet.test_data.jets", f"must be positive, got {kerasjet['test_data']['jets']}")
    if kerasjet["test_data"].get("jets", 1) > MAX_TEST_JETS:
        _fail(path, "kerasjet.test_data.jets", f"must be at most {MAX_TEST_JETS}, got {kerasjet['test_data']['jets']}")
    for key, value in kerasjet.get("tolerance", {}).items():
        _positive(value, path, f"kerasjet.tolerance.{key}", allow_zero=True)
    if kerasjet.get("tolerance", {}).get("decision_agreement", 0) > 1:
        _fail(path, "kerasjet.tolerance.decision_agreement", f"is a fraction, at most 1, got {kerasjet['tolerance']['decision_agreement']}")


def _path_constructor(loader, node):
    """``!kerasjet_path PATH``: PATH against the folder of the YAML file being read (the
    working directory for a YAML string)."""
    folder = os.path.dirname(os.path.abspath(loader.name)) if os.path.exists(str(loader.name)) else os.getcwd()
    return resolve(loader.construct_scalar(node), folder)


def _validate_whole_file(loader):
    """hls4ml's reader (yaml.safe_load) meets a kerasjet tag: check the whole YAML file as
    ``kerasjet convert`` does (duplicate keys, every key and value, OutputDir) before the model is
    loaded or anything written — once per file read."""
    name = str(getattr(loader, "name", ""))
    if isinstance(loader, _StrictLoader) or getattr(loader, "_kerasjet_checked", False) or not os.path.isfile(name):
        return
    loader._kerasjet_checked = True
    load_config(name)


def _path_tag(loader, node):
    """``!kerasjet_path PATH`` for hls4ml's reader: the whole file checked first."""
    _validate_whole_file(loader)
    return _path_constructor(loader, node)


def _model_constructor(loader, node):
    """``!kerasjet_model PATH`` for hls4ml's reader: the whole file checked, then the Keras model,
    loaded (list inputs)."""
    from kerasjet.models import load_model

    _validate_whole_file(loader)
    return load_model(_path_constructor(loader, node))


def _check_model_graph(model):
    """hls4ml model pass, first of every conversion (nothing is written yet): the values of the
    configuration that reach a shell, a file name or generated C++, and the layer names."""
    config = model.config.config
    source = "hls4ml configuration"
    check_hls4ml_config(config, source, os.getcwd())
    for name in model.graph:
        check_identifier(name, source, f"layer {name!r}", "layer name")
    return False


def register_config_checks():
    """Make check_hls4ml_config a pass of hls4ml's first conversion flow, so that
    ``convert_from_config`` and ``convert_from_keras_model`` refuse what ``kerasjet convert`` does."""
    from hls4ml.model.flow.flow import get_flow, update_flow
    from hls4ml.model.optimizer import ModelOptimizerPass, get_available_passes, register_pass

    name = "kerasjet_check_config"
    if name not in get_available_passes():
        register_pass(name, ModelOptimizerPass(name, _check_model_graph))
    if name not in get_flow(CHECK_FLOW).optimizers:
        update_flow(CHECK_FLOW, add_optimizers=[name])


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise KerasjetError(f"{self.name}: {key}: duplicate key (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep)


def register_yaml_tags():
    """Teach yaml.safe_load — hls4ml's YAML reader — the tags (a file read with one is checked
    whole first, as load_config checks it); kerasjet's own reader takes both as paths (validation
    loads no model). Also registers the config checks of hls4ml's conversions
    (register_config_checks)."""
    yaml.SafeLoader.add_constructor(PATH_TAG, _path_tag)
    yaml.SafeLoader.add_constructor(MODEL_TAG, _model_constructor)
    _StrictLoader.add_constructor(PATH_TAG, _path_constructor)
    _StrictLoader.add_constructor(MODEL_TAG, _path_constructor)
    register_config_checks()


def read_yaml(path):
    """The parsed YAML at ``path``; KerasjetError for a missing file, a folder, non-UTF-8 bytes,
    a syntax error, a complex key, deep nesting (kerasjet.files.read_yaml_text) or a duplicate key."""
    from kerasjet.files import read_yaml_text

    text = read_yaml_text(path)
    loader = _StrictLoader(text)
    loader.name = path
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        _fail(path, "the file", f"not valid YAML ({' '.join(str(err).split())})")
    finally:
        loader.dispose()


def resolve(path, folder=REPOSITORY):
    """A path from a config: absolute, or relative to ``folder``."""
    return os.path.normpath(os.path.join(folder, os.path.expanduser(path)))


def load_config(path):
    """The validated deployment config: the YAML's hls4ml keys under 'hls4ml' (paths resolved), and
    flat keys — model, output_dir, backend, part, clock_period, io_type, reuse_factor,
    n_constituents, test_data, tolerance (defaults filled), rtl (kerasjet.rtl.config), source."""
    from kerasjet.rtl.config import check_rtl_config

    raw = read_yaml(path)
    if isinstance(raw, dict) and "KerasH5" in raw:
        _fail(path, "KerasH5", "hls4ml 1.3's convert_from_config reads no KerasH5 key (it returns no model); "
                               "use KerasModel: !kerasjet_model PATH")
    _check(raw, SCHEMA, "", path)
    _check_values(raw, path)
    folder = os.path.dirname(os.path.abspath(path))
    hls = {**raw, "KerasModel": resolve(raw["KerasModel"], folder), "OutputDir": resolve(raw["OutputDir"], folder)}
    check_output_dir(raw["OutputDir"], hls["OutputDir"], path, "OutputDir", folder)
    if not os.path.isfile(hls["KerasModel"]):
        _fail(path, "KerasModel", f"no such file {hls['KerasModel']}")
    section = hls.pop("kerasjet")
    rtl = dict(section.get("rtl", {}))
    if "output_dir" in rtl:
        rtl["output_dir"] = resolve(rtl["output_dir"], folder)
        check_output_dir(section["rtl"]["output_dir"], rtl["output_dir"], path, "kerasjet.rtl.output_dir", folder)
    if "part" in rtl:
        check_part(rtl["part"], path, "kerasjet.rtl.part")
    return {
        "source": path, "hls4ml": hls, "model": hls["KerasModel"], "output_dir": hls["OutputDir"], "backend": hls["Backend"],
        "part": hls["Part"], "clock_period": hls["ClockPeriod"], "io_type": hls["IOType"],
        "reuse_factor": hls["HLSConfig"]["Model"]["ReuseFactor"], "n_constituents": section["n_constituents"],
        "description": section.get("description", ""),
        "test_data": {"jets": 2000, **section["test_data"], "file": resolve(section["test_data"]["file"], folder)},
        "tolerance": {**TOLERANCE_DEFAULTS, **section.get("tolerance", {})},
        "rtl": check_rtl_config(rtl, path),
    }


# hls4ml's own spelling of a fixed-point type (config_from_keras_model) and the defaults it leaves out
_HLS4ML_TYPE = re.compile(r"^(u?)fixed<(\d+),(-?\d+)(?:,(\w+),(\w+),\d+)?>$")


def _vivado_type(text):
    """hls4ml's 'fixed<8,1,RND_CONV,SAT,0>' as the ap_ type 'ap_fixed<8,1,AP_RND_CONV,AP_SAT>'
    (truncation and wrapping, the defaults, left out)."""
    match = _HLS4ML_TYPE.match(text.replace(" ", ""))
    if not match:
        raise KerasjetError(f"hls4ml type '{text}' has no ap_fixed spelling")
    unsigned, width, integer, rounding, saturation = match.groups()
    modes = "" if (rounding, saturation) in ((None, None), ("TRN", "WRAP")) else f",AP_{rounding},AP_{saturation}"
    return f"ap_{unsigned}fixed<{width},{integer}{modes}>"


def quantizer_types(model, backend="Vivado"):
    """{layer name: {variable: ap type}}: the result, weight and bias types that the QKeras
    quantizers of ``model`` fix, as hls4ml's config_from_keras_model(granularity='name') reports
    them; layers whose types are all inferred ('auto') are left out. These are the LayerName
    entries a shipped YAML needs for a bit-exact conversion (kerasjet's passes infer the rest)."""
    import hls4ml

    import kerasjet.hls  # noqa: F401  (the extension: kerasjet layers known to hls4ml)

    layers = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)["LayerName"]
    types = {}
    for name, settings in layers.items():
        fixed = {var: _vivado_type(text) for var, text in settings.get("Precision", {}).items()
                 if var in ("result", "weight", "bias") and text != "auto"}
        if fixed:
            types[name] = fixed
    return types


CONFIG_TEMPLATE = """\
# {description}
# An hls4ml configuration: `import kerasjet.hls`, then hls4ml.converters.convert_from_config(THIS_FILE),
# or `python convert.py THIS_FILE` (+ C simulation and checks). Relative paths: from this file's folder.
# Written by {writer} from the model's quantizers: rebuild the model, not this file.
KerasModel: !kerasjet_model {model_ref}
OutputDir: !kerasjet_path {output_ref}
ProjectName: kerasjet
Backend: Vivado
Part: xcvu13p-flga2577-2-e
ClockPeriod: 5.0
IOType: io_parallel
HLSConfig:
  Model:
    Precision:
      default: ap_fixed<16,6>   # only for types neither the model (its quantizers) nor inference defines
      result: auto              # hls4ml infers results and accumulators: exact for quantized models
      accum: auto
    ReuseFactor: 1
  LayerName:{layer_lines}
kerasjet:                       # what hls4ml has no key for
  description: "{description}"
  n_constituents: {n_constituents}
  test_data:
    file: {test_ref}
    jets: 2000
  tolerance:                    # quantized model, every type declared: bit-exact
    max_abs_diff: 0.0
    decision_agreement: 1.0
    auc_diff: 0.001
"""


def render_config(model_ref, output_ref, test_ref, description, n_constituents, layer_types, writer):
    """The text of a deployment YAML for a quantized model: reuse factor 1, Vivado, the
    repository's part at 5 ns, ``layer_types`` (``quantizer_types``) as its LayerName entries,
    bit-exact tolerances. ``model_ref``, ``output_ref`` and ``test_ref`` (the model file, the HLS
    project folder and the test jets) are paths relative to the YAML's folder; ``writer`` names
    the script that writes the file."""
    lines = []
    for name, types in layer_types.items():
        entries = ", ".join(f"{var}: '{text}'" for var, text in types.items())
        lines.append(f"    {name}: {{Precision: {{{entries}}}}}")
    # the QKeras quantizers' types, as config_from_keras_model(granularity='name') gives them
    layer_lines = ("                      # the QKeras quantizers' types, as config_from_keras_model(granularity='name') gives them\n"
                   + "\n".join(lines)) if lines else " {}"
    return CONFIG_TEMPLATE.format(description=description, model_ref=model_ref, output_ref=output_ref, test_ref=test_ref,
                                  writer=writer, n_constituents=n_constituents, layer_lines=layer_lines)


def render_shipped_config(model_file, description, n_constituents, layer_types):
    """The text of hls_configs/<stem>.yml for the quantized model models/``model_file`` (see
    ``render_config``), the demo jets as test data."""
    return render_config(f"../models/{model_file}", f"../hls_projects/{os.path.splitext(model_file)[0]}", "../data/demo.h5",
                         description, n_constituents, layer_types, "scripts/build_models.py")
