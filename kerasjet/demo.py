"""The main job behind ``make demo``, run on the embedded default dataset.

1. dataset: 4000 generated detector-level jets (seed 2024; the configuration the shipped
   models were trained on, kerasjet.study.shipped_settings: the default jets), cached in
   data/demo.h5;
2. model: the shipped nanoPELICAN C = 2 (models/nanopelican_c2.keras, trained by the study on
   100k independent jets), or, if it is missing, a brief training on half of the demo jets;
   its metrics against the jet-mass cut;
3. the folded analytic formula;
4. the shipped 8-bit quantized model next to the float one;
5. hls4ml: hls_configs/nanopelican_c2_n16_8bit.yml converted, C-simulated, agreement printed;
6. firmware: the 8-bit model at N = 8 through da4ml → Verilog → Verilator → Yosys.
"""

import os

from kerasjet.data.generate import generate
from kerasjet.data.summary import format_summary, plot_mass, summarize
from kerasjet.study import MODELS_DIR as MODELS
from kerasjet.study import shipped_float, shipped_settings

DEMO_SEED = 2024
REPOSITORY = os.path.dirname(MODELS)
SHIPPED_MODEL = shipped_float()


def _dataset(data_path, n_jets, workers):
    from kerasjet.data.settings import configuration_name, file_configuration

    settings = shipped_settings()
    wanted = configuration_name(settings)
    cached = file_configuration(data_path) if os.path.exists(data_path) else None
    if cached == wanted:
        print(f"using cached {data_path}")
    else:
        if cached is not None:
            print(f"{data_path} holds {cached} jets, the shipped models were trained on {wanted} jets: regenerating it")
        print(f"generating {n_jets} {wanted} jets (seed {DEMO_SEED}, {workers} workers) into {data_path}")
        generate(data_path, n_jets, DEMO_SEED, settings, workers=workers)
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
    print("== [1/6] dataset")
    _dataset(data_path, n_jets, workers)

    print("\n== [2/6] nanoPELICAN C=2 against the jet-mass cut")
    from kerasjet.evaluate import evaluate
    from kerasjet.metrics import format_table

    model_path, test_path = _model(data_path)
    rows = [("Jet mass cut, one-sided", evaluate("masscut", test_path, mass_score="mass")[0]),
            ("Jet mass cut, window", evaluate("masscut", test_path, mass_score="window")[0]),
            ("nanoPELICAN C=2", evaluate(model_path, test_path)[0])]
    print(format_table(rows, title=f"{test_path}: {rows[0][1]['jets']} jets"))

    print("\n== [3/6] the folded model")
    from kerasjet.fold import fold, format_formula
    from kerasjet.models import load_model

    print(format_formula(fold(load_model(model_path))))

    if model_path != SHIPPED_MODEL:
        return
    _quantized(data_path, rows)
    _hls(data_path)
    _firmware(data_path)


def _quantized(data_path, float_rows):
    from kerasjet.compress import weight_summary
    from kerasjet.evaluate import evaluate
    from kerasjet.metrics import format_table
    from kerasjet.models import load_model

    print("\n== [4/6] quantized: 8-bit weights and activations (QAT), N = 80")
    path = os.path.join(MODELS, "nanopelican_c2_n80_8bit.h5")
    bits, nonzero = weight_summary(load_model(path))
    metrics = evaluate(path, data_path)[0]
    print(format_table([float_rows[1], (f"nanoPELICAN C=2, 8-bit ({bits:.0f} bits/weight)", metrics)], title="float vs quantized"))


def _hls(data_path):
    from kerasjet.hls.config import load_config
    from kerasjet.hls.convert import deploy, format_report

    print("\n== [5/6] hls4ml: python convert.py hls_configs/nanopelican_c2_n16_8bit.yml")
    config = load_config(os.path.join(REPOSITORY, "hls_configs", "nanopelican_c2_n16_8bit.yml"))
    report, _ = deploy({**config, "test_data": {**config["test_data"], "file": os.path.abspath(data_path)}})
    print(format_report(report))


def _firmware(data_path):
    from kerasjet.data.pipeline import InputSpec, load_inputs
    from kerasjet.models import load_model
    from kerasjet.rtl.flow import build_rtl, format_rtl_report

    print("\n== [6/6] firmware: da4ml → Verilog → Verilator → Yosys (nanoPELICAN C=2, 8-bit, N = 8)")
    inputs, _ = load_inputs(data_path, InputSpec(8), 0, 1000)
    report = build_rtl(load_model(os.path.join(MODELS, "nanopelican_c2_n8_8bit.h5")), inputs,
                       os.path.join(os.path.dirname(os.path.abspath(data_path)), "demo_rtl"))
    print(format_rtl_report(report))
