"""The Vivado/Vitis flow of a converted project and its reports as JSON.

``synthesize`` runs, when ``vitis_hls``/``vivado_hls`` (and ``vivado``) are on PATH, C synthesis,
co-simulation, export and logic synthesis of an hls4ml project through hls4ml's own
build_prj.tcl, then ``parse_reports`` turns the tools' reports (hls4ml's parser) into one JSON:
latency in cycles and ns, initiation interval, LUT, FF, DSP, BRAM. The scripts in vivado/ drive
the same functions from the shell.
"""

import os
import shutil

from kerasjet.errors import KerasjetError
from kerasjet.files import write_json

TOOLS = {"Vivado": ("vivado_hls",), "Vitis": ("vitis-run", "vitis_hls")}


def tool_available(backend):
    """The HLS executable of a backend found on PATH, or None."""
    return next((path for path in map(shutil.which, TOOLS[backend]) if path), None)


def _number(value):
    try:
        return float(str(value).split()[0])
    except (TypeError, ValueError, IndexError):
        return None


def parse_reports(project_dir):
    """Latency, II and resources from a project's csynth.xml and vivado_synth.rpt (JSON-ready)."""
    from hls4ml.report import parse_vivado_report

    if not os.path.isdir(project_dir):
        raise KerasjetError(f"{project_dir}: no such HLS project")
    report = parse_vivado_report(project_dir) or {}
    csynth = report.get("CSynthesisReport")
    if not csynth:
        raise KerasjetError(f"{project_dir}: no C synthesis report (run the flow with synthesis first)")
    clock = _number(csynth["TargetClockPeriod"])
    out = {
        "clock_period_ns": clock,
        "estimated_clock_ns": _number(csynth["EstimatedClockPeriod"]),
        "latency_cycles": [_number(csynth["BestLatency"]), _number(csynth["WorstLatency"])],
        "latency_ns": [_number(csynth["BestLatency"]) * clock, _number(csynth["WorstLatency"]) * clock],
        "interval_cycles": [_number(csynth["IntervalMin"]), _number(csynth["IntervalMax"])],
        "hls_estimate": {k: _number(csynth.get(k)) for k in ("LUT", "FF", "DSP", "BRAM_18K", "URAM")},
    }
    synth = report.get("VivadoSynthReport")
    if synth:
        out["logic_synthesis"] = {"LUT": _number(synth.get("LUT")), "FF": _number(synth.get("FF")), "DSP": _number(synth.get("DSP48E")),
                                  "BRAM_18K": _number(synth.get("BRAM_18K")), "URAM": _number(synth.get("URAM"))}
    cosim = report.get("CosimReport")
    if cosim:
        out["cosim"] = {"status": cosim.get("Status"), "latency_cycles": [_number(cosim.get("LatencyMin")), _number(cosim.get("LatencyMax"))]}
    return out


def require_tool(backend):
    """KerasjetError naming the missing executable unless the backend's HLS tool is on PATH."""
    if tool_available(backend) is None:
        raise KerasjetError(f"{' or '.join(TOOLS[backend])} not on PATH: the {backend} synthesis (--synth) cannot run")


def synthesize(hls_model, project_dir, backend, cosim=True, logic_synthesis=True):
    """Run C synthesis, co-simulation, export and logic synthesis of a converted hls4ml model
    (hls4ml's ``build(csim=False, ...)``) and write synthesis.json; returns the parsed report.
    KerasjetError when the backend's tool is not on PATH or wrote no report."""
    require_tool(backend)
    print(f"running the {backend} flow in {project_dir} (C synthesis{', co-simulation' if cosim else ''}, export"
          f"{', logic synthesis' if logic_synthesis else ''}; tens of minutes) ...", flush=True)
    hls_model.build(csim=False, synth=True, cosim=cosim, export=True, vsynth=logic_synthesis)
    report = parse_reports(project_dir)
    write_json(report, os.path.join(project_dir, "synthesis.json"))
    return report


def out_of_context_timing(project_dir, part, clock_period):
    """Vivado out-of-context synthesis of the exported RTL with a timing summary
    (vivado/ooc_synth.tcl); returns {'wns_ns', 'LUT', 'FF', 'DSP'} or None without vivado."""
    import subprocess

    if shutil.which("vivado") is None:
        print("vivado not on PATH: skipping out-of-context synthesis")
        return None
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "vivado", "ooc_synth.tcl")
    subprocess.run(["vivado", "-mode", "batch", "-nojournal", "-nolog", "-source", script, "-tclargs", project_dir, part,
                    str(clock_period)], check=True, cwd=project_dir)
    return parse_ooc_reports(project_dir)


def parse_ooc_reports(project_dir):
    """WNS and utilisation from ooc_timing.rpt / ooc_utilization.rpt (Vivado's text reports)."""
    import re

    out = {}
    with open(os.path.join(project_dir, "ooc_timing.rpt")) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("WNS(ns)"):
            out["wns_ns"] = float(lines[i + 2].split()[0])
            break
    with open(os.path.join(project_dir, "ooc_utilization.rpt")) as f:
        for line in f:
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 3 and re.match(r"^(CLB|Slice) LUTs\*?$", cells[1]):
                out["LUT"] = float(cells[2])
            elif len(cells) > 3 and re.match(r"^(CLB|Slice) Registers\*?$", cells[1]):
                out["FF"] = float(cells[2])
            elif len(cells) > 3 and cells[1] == "DSPs":
                out["DSP"] = float(cells[2])
    return out
