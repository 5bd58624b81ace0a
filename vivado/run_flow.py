#!/usr/bin/env python
"""The Vivado/Vitis synthesis flow for a deployment YAML, reports as JSON.

    python vivado/run_flow.py hls_configs/nanopelican_c2_n16.yml [--reuse-factor R] [--no-cosim] [--ooc]

Converts the model (hls4ml project + C simulation check, as convert.py), then runs C synthesis,
co-simulation, export and logic synthesis with the backend's tool (vivado_hls, or vitis-run for
Vitis), and optionally an out-of-context Vivado synthesis with a timing summary
(vivado/ooc_synth.tcl). Prints and writes <output_dir>/synthesis.json: latency (cycles, ns),
II, LUT, FF, DSP, BRAM. Without the tools on PATH it says so before converting and exits 2.

    python vivado/run_flow.py --parse <project_dir>

only parses the reports of a project that was synthesised elsewhere.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kerasjet.errors import KerasjetError  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", help="deployment YAML")
    parser.add_argument("--reuse-factor", type=int)
    parser.add_argument("--no-cosim", action="store_true")
    parser.add_argument("--ooc", action="store_true", help="also out-of-context Vivado synthesis with timing")
    parser.add_argument("--parse", metavar="PROJECT_DIR", help="only parse an existing project's reports")
    args = parser.parse_args()
    from kerasjet.hls.synthesis import out_of_context_timing, parse_reports, require_tool, synthesize

    try:
        if args.parse:
            print(json.dumps(parse_reports(args.parse), indent=2))
            return 0
        if not args.config:
            parser.error("a deployment YAML (or --parse PROJECT_DIR) is required")
        from kerasjet.hls.config import load_config
        from kerasjet.hls.convert import deploy, format_report

        config = load_config(args.config)
        require_tool(config["backend"])
        report, hls_model = deploy(config, reuse_factor=args.reuse_factor)
        print(format_report(report))
        result = synthesize(hls_model, report["output_dir"], config["backend"], cosim=not args.no_cosim)
        if args.ooc:
            result["out_of_context"] = out_of_context_timing(report["output_dir"], config["part"], config["clock_period"])
        print(json.dumps(result, indent=2))
        return 0 if report["passed"] else 1
    except KerasjetError as err:
        print(f"run_flow: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
