"""The main job behind ``make demo``, run on the embedded default dataset."""

import os

from kerasjet.data.generate import generate
from kerasjet.data.summary import format_summary, plot_mass, summarize

DEMO_SEED = 2024


def run_demo(data_path="data/demo.h5", n_jets=4000, workers=1):
    """Generate the default dataset if it is missing, then print its summary and plot its masses."""
    if os.path.exists(data_path):
        print(f"[1/1] dataset: using cached {data_path}")
    else:
        print(f"[1/1] dataset: generating {n_jets} jets (seed {DEMO_SEED}, {workers} workers) into {data_path}")
        generate(data_path, n_jets, DEMO_SEED, workers=workers)
    summary, observables = summarize(data_path)
    print(format_summary(summary))
    plot = os.path.splitext(data_path)[0] + "_mass.png"
    plot_mass(observables, plot, title=os.path.basename(data_path))
    print(f"jet-mass plot: {plot}")
