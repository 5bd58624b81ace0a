"""The ``kerasjet.rtl:`` section of a deployment YAML: defaults and validation."""

import math

from kerasjet.errors import KerasjetError

RTL_DEFAULTS = {"clock_period": 5.0, "latency_cutoff": 5.0, "part": "xcvu13p-flga2577-2-e", "family": "xcup", "jets": 1000,
                "synthesis": True}
FAMILIES = ("xcup", "xcu", "xc7")  # Yosys synth_xilinx families: UltraScale+, UltraScale, 7-series


def check_rtl_config(rtl, source):
    """The rtl: section with defaults filled in; KerasjetError naming the key for bad values.

    clock_period (ns) goes into the constraints; latency_cutoff is da4ml's pipelining limit in
    adder delays per stage (5 pairs with a 5 ns clock on UltraScale+).
    """
    config = {**RTL_DEFAULTS, **rtl}
    for key in ("clock_period", "latency_cutoff"):
        if not math.isfinite(config[key]) or config[key] <= 0:
            raise KerasjetError(f"{source}: kerasjet.rtl.{key}: must be a finite positive number, got {config[key]}")
    if config["jets"] < 1:
        raise KerasjetError(f"{source}: kerasjet.rtl.jets: must be positive, got {config['jets']}")
    if config["family"] not in FAMILIES:
        raise KerasjetError(f"{source}: kerasjet.rtl.family: must be one of {', '.join(FAMILIES)}, got '{config['family']}'")
    return config
