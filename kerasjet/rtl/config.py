"""The ``kerasjet.rtl:`` section of a deployment YAML: defaults and validation."""

import math

from kerasjet.errors import KerasjetError

RTL_DEFAULTS = {"clock_period": 5.0, "latency_cutoff": 5.0, "part": "xcvu13p-flga2577-2-e", "family": "xcup", "jets": 1000,
                "synthesis": True}
FAMILIES = ("xcup", "xcu", "xc7")
UPPER = {"clock_period": 1000.0, "latency_cutoff": 1000.0}  # ns; adder delays per stage
MAX_JETS = 10_000_000  # Yosys synth_xilinx families: UltraScale+, UltraScale, 7-series


def check_rtl_config(rtl, source):
    """The rtl: section with defaults filled in; KerasjetError naming the key for bad values.

    clock_period (ns) goes into the constraints; latency_cutoff is da4ml's pipelining limit in
    adder delays per stage (5 pairs with a 5 ns clock on UltraScale+).
    """
    config = {**RTL_DEFAULTS, **rtl}
    for key in ("clock_period", "latency_cutoff"):
        if not math.isfinite(config[key]) or config[key] <= 0:
            raise KerasjetError(f"{source}: kerasjet.rtl.{key}: must be a finite positive number, got {config[key]}")
        if config[key] > UPPER[key]:
            raise KerasjetError(f"{source}: kerasjet.rtl.{key}: must be at most {UPPER[key]}, got {config[key]}")
    if config["clock_period"] < 0.1:
        raise KerasjetError(f"{source}: kerasjet.rtl.clock_period: must lie in [0.1, 1000.0] ns, got {config['clock_period']}")
    if not 1 <= config["jets"] <= MAX_JETS:
        raise KerasjetError(f"{source}: kerasjet.rtl.jets: must lie in [1, {MAX_JETS}], got {config['jets']}")
    if config["family"] not in FAMILIES:
        raise KerasjetError(f"{source}: kerasjet.rtl.family: must be one of {', '.join(FAMILIES)}, got '{config['family']}'")
    return config
