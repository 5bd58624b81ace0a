"""hls4ml's command line with the kerasjet extension loaded:
``python -m kerasjet.hls convert -c hls_configs/nanopelican_c2_n16_8bit.yml`` (also ``build``,
``report``, ``config``: see ``python -m kerasjet.hls --help``).

``convert -c CONFIG`` checks CONFIG as ``kerasjet convert`` does (kerasjet.hls.config.load_config:
duplicate and unknown keys, every value, the output folder) before hls4ml reads it; a refused
input is one line ``kerasjet: error: ...`` and exit status 2, as on every kerasjet entry point.
"""

import argparse
import sys

import kerasjet.hls  # noqa: F401  (registers the extension and the YAML tags)
from hls4ml.cli import main as hls4ml_main

from kerasjet.errors import KerasjetError, error_line


def _config_of(argv):
    """The -c/--config file of a ``convert`` command line, else None."""
    if not argv or argv[0] != "convert":
        return None
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--config")
    return parser.parse_known_args(argv[1:])[0].config


def main(argv=None):
    """hls4ml's CLI; returns 2 with one line for a refused input."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        config = _config_of(argv)
        if config is not None:
            from kerasjet.hls.config import load_config

            load_config(config)
        sys.argv = [sys.argv[0], *argv]
        hls4ml_main()
    except KerasjetError as err:
        print(error_line(err), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    status = main()
    if status:  # hls4ml's own command line ends normally without an exit status
        sys.exit(status)
