"""hls4ml's command line with the kerasjet extension loaded:
``python -m kerasjet.hls convert -c hls_configs/nanopelican_c2_n16_8bit.yml`` (also ``build``,
``report``, ``config``: see ``python -m kerasjet.hls --help``)."""

import kerasjet.hls  # noqa: F401  (registers the extension and the YAML tags)
from hls4ml.cli import main

if __name__ == "__main__":
    main()
