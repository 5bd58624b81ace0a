"""Run the notebooks in their full mode and store them with their outputs, for the docs site.

    python scripts/render_notebooks.py                      # every notebook in notebooks/
    python scripts/render_notebooks.py trigger_n16 compress # some of them

The docs render the notebooks as committed (``nb_execution_mode = "off"``), so what the site
shows is what this script last stored. Each notebook runs top to bottom with
``KERASJET_NOTEBOOK_FAST`` unset (its full mode: 20,000 training jets, generated on first use
under data/notebook/ or data/trigger/ and reused after), from notebooks/ as the working directory.
The executed notebook replaces the committed one only when every cell ran without error; it
is written to a temporary name first, then renamed. Warnings (stderr: TensorFlow's start-up
lines, deprecation notices; TensorFlow's warning lines on stdout) are left out of the stored outputs; the notebook's
metadata records the commit, the date and the wall time of the run.

About 1.5 hours on 2 cores for all four: jet generation and training dominate, then Yosys in
trigger_n16. compress and train_nanopelican share data/notebook's jets.
"""

import argparse
import datetime
import os
import subprocess
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
RUN_ORDER = ["train_nanopelican", "compress", "deploy_hls4ml", "trigger_n16"]  # compress reuses the first's jets
CELL_TIMEOUT_S = 4 * 3600  # the longest cell (training, Yosys) on 2 cores, with room to spare


def commit():
    """The repository's HEAD commit, with '+changes' when the package (kerasjet/) differs from it
    (the notebooks themselves change as they are rendered)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "kerasjet"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return f"{head}+changes" if dirty else head


TENSORFLOW_WARNING = "WARNING:tensorflow:"  # TensorFlow's logger writes to stdout inside a kernel


def without_warnings(notebook):
    """Drop the stderr streams of every code cell and TensorFlow's warning lines on stdout
    (warnings, not results)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream":
                if output.get("name") == "stderr":
                    continue
                output.text = "".join(line for line in output.text.splitlines(keepends=True) if not line.startswith(TENSORFLOW_WARNING))
                if not output.text:
                    continue
            kept.append(output)
        cell.outputs = kept
    return notebook


def render(name):
    """Execute notebooks/NAME.ipynb in full mode and store it with its outputs; returns seconds."""
    path = os.path.join(NOTEBOOKS, f"{name}.ipynb")
    if not os.path.exists(path):
        raise SystemExit(f"kerasjet: error: {path}: no such notebook")
    notebook = nbformat.read(path, as_version=4)
    env_fast = os.environ.pop("KERASJET_NOTEBOOK_FAST", None)
    start = time.time()
    try:
        NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                       resources={"metadata": {"path": NOTEBOOKS}}).execute()
    except Exception as err:  # a failing cell: the committed notebook stays as it was
        raise SystemExit(f"kerasjet: error: {path}: a cell failed in full mode ({type(err).__name__}); the notebook is unchanged\n"
                         f"{str(err)[-2000:]}") from None
    finally:
        if env_fast is not None:
            os.environ["KERASJET_NOTEBOOK_FAST"] = env_fast
    seconds = time.time() - start
    notebook.metadata["kerasjet_rendered"] = {"commit": commit(), "date": datetime.date.today().isoformat(),
                                              "wall_time_s": round(seconds), "mode": "full",
                                              "by": "scripts/render_notebooks.py"}
    temporary = path + ".rendering"
    nbformat.write(without_warnings(notebook), temporary)
    os.replace(temporary, path)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all, in the order they share data)")
    args = parser.parse_args(argv)
    present = sorted(name[:-6] for name in os.listdir(NOTEBOOKS) if name.endswith(".ipynb"))
    names = args.names or sorted(present, key=lambda name: RUN_ORDER.index(name) if name in RUN_ORDER else len(RUN_ORDER))
    for name in names:
        print(f"{name}: running in full mode ...", flush=True)
        seconds = render(name)
        print(f"{name}: stored with outputs ({seconds / 60:.1f} min)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
