"""Yosys shows progress (issue 43, item 5): while a synthesis runs, a line every HEARTBEAT_S
seconds gives the time so far and the pass Yosys is in (from its log); its output is kept."""

import sys

from kerasjet.rtl.yosys import last_step, run_with_heartbeat


def test_heartbeat_lines_while_the_process_runs(tmp_path):
    (tmp_path / "yosys.log").write_text("\n1. Executing Verilog-2005 frontend.\n\n3.2. Executing SYNTH_XILINX pass.\nstuff\n")
    lines = []
    script = "import time, sys; time.sleep(1.3); print('out'); print('err', file=sys.stderr)"
    result = run_with_heartbeat([sys.executable, "-c", script], tmp_path, "yosys.log",
                                progress=lambda line, flush=False: lines.append(line), every=0.4)
    assert result.returncode == 0 and result.stdout == "out\n" and result.stderr == "err\n"
    assert len(lines) >= 2
    assert lines[0].startswith("  Yosys: running for 0 min 00 s") and lines[0].endswith("step 3.2: SYNTH_XILINX pass")


def test_last_step_of_a_missing_or_empty_log(tmp_path):
    assert last_step(tmp_path / "absent.log") == ""
    (tmp_path / "empty.log").write_text("")
    assert last_step(tmp_path / "empty.log") == ""
    silent = run_with_heartbeat([sys.executable, "-c", "import time; time.sleep(0.5)"], tmp_path, "absent.log", every=0.1)
    assert silent.returncode == 0
