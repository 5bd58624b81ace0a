#!/usr/bin/env python
"""Deploy a model from its YAML: ``python convert.py hls_configs/nanopelican_c2_n16.yml [--synth] [--rtl]``.

Same as ``kerasjet convert``: writes the hls4ml project, compiles and runs the C simulation on
the config's test jets, writes report.json, and exits non-zero when Keras and the C simulation
disagree beyond the config's tolerance.
"""

import sys

from kerasjet.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", *sys.argv[1:]]))
