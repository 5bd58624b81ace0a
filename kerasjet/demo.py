"""The main job behind ``make demo``, run on the embedded default dataset.

1. dataset: 4000 generated jets (seed 2024), cached in data/demo.h5;
2. model: the shipped nanoPELICAN C = 2 (models/nanopelican_c2.keras, trained by the study on
   100k independent jets), or, if it is missing, a brief training on half of the demo jets;
3. metrics against the jet-mass cut, and the folded analytic formula.
"""

import os

from kerasjet.data.generate import generate
from kerasjet.data.summary import format_summary, plot_mass, summarize

DEMO_SEED = 2024
SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "nanopelican_c2.keras")


def _dataset(data_path, n_jets, workers):
    if os.path.exists(data_path):
        print(f"using cached {data_path}")
    else:
        print(f"generating {n_jets} jets (seed {DEMO_SEED}, {workers} workers) into {data_path}")
        generate(data_path, n_jets, DEMO_SEED, workers=workers)
    summary, observables = summarize(data_path)
    print(format_summary(summary))
    plot = os.path.splitext(data_path)[0] + "_mass.png"
    plot_mass(observables, plot, title=os.path.basename(data_path))
    print(f"jet-mass plot: {plot}")


def _model(data_path):
    """Path of the model to demonstrate and the file (and jet range) to evaluate it on."""
    if os.path.exists(SHIPPED_MODEL):
        print(f"loading the shipped model {os.path.relpath(SHIPPED_MODEL)}")
        return SHIPPED_MODEL, data_path
    from kerasjet.data.io import read_jets, write_jets
    from kerasjet.train import RunConfig, train

    jets = read_jets(data_path)
    half = len(jets) // 2
    parts = {}
    for name, rows in (("train", slice(0, half)), ("test", slice(half, None))):
        parts[name] = os.path.splitext(data_path)[0] + f"_{name}.h5"
        if not os.path.exists(parts[name]):
            write_jets(parts[name], jets.select(rows))
    print(f"no shipped model: training nanoPELICAN C=2 for 10 epochs on {half} demo jets")
    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=2, batchnorm=False), train=parts["train"],
                       val=parts["test"], epochs=10, batch_size=256)
    run_dir = os.path.join(os.path.dirname(data_path), "demo_run")
    train(run_dir, config, verbose=2)
    return os.path.join(run_dir, "best.keras"), parts["test"]


def run_demo(data_path="data/demo.h5", n_jets=4000, workers=1):
    """Dataset summary → model → metrics against the mass cut → folded formula."""
    print("== [1/3] dataset")
    _dataset(data_path, n_jets, workers)

    print("\n== [2/3] nanoPELICAN C=2 against the jet-mass cut")
    from kerasjet.evaluate import evaluate
    from kerasjet.metrics import format_table

    model_path, test_path = _model(data_path)
    rows = [("Jet mass cut", evaluate("masscut", test_path)[0]), ("nanoPELICAN C=2", evaluate(model_path, test_path)[0])]
    print(format_table(rows, title=f"{test_path}: {rows[0][1]['jets']} jets"))

    print("\n== [3/3] the folded model")
    from kerasjet.fold import fold, format_formula
    from kerasjet.models import load_model

    print(format_formula(fold(load_model(model_path))))
