#!/usr/bin/env python
"""Deploy a model from its YAML: ``python convert.py hls_configs/nanopelican_c2_n16_8bit.yml [--synth] [--rtl [--no-synthesis]]``.

Same as ``kerasjet convert``: checks every key of the YAML (an hls4ml configuration plus a
``kerasjet:`` section, kerasjet.hls.config), writes the hls4ml project through hls4ml's
``convert_from_config``, compiles and runs the C simulation on the config's test jets, writes
report.json (an old one is deleted first), and exits non-zero when Keras and the C simulation
disagree beyond the config's tolerance or a requested step (--synth, --rtl) could not run.
"""

import sys

from kerasjet.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", *sys.argv[1:]]))
