"""The ``kerasjet`` command line: one subcommand per pipeline stage.

Errors in the user's input (files, keys, values, out-of-range numbers) print one line
``kerasjet: error: ...`` and exit with status 2, before any work starts; an interrupt exits with
130 and leaves no partial output file.
"""

import argparse
import json
import math
import os
import sys

from kerasjet import __version__
from kerasjet.data.detector import DEFAULT_DETECTOR, DETECTOR_CONFIGURATIONS, LEVELS, TOP_MATCHINGS
from kerasjet.data.words import INPUT_FORMATS
from kerasjet.errors import KerasjetError, error_line
from kerasjet.files import PLOT_SUFFIXES, check_output_file, check_output_folder, terminate_as_interrupt

MASS_CUT_SCORES = ("mass", "window")  # kerasjet.models.masscut's (importing it would import TensorFlow before any refusal)


class _HelpFormatter(argparse.HelpFormatter):
    """Appends '(default: X)' to an option's help unless it has none or states it already."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default:" in text or action.default is None or action.default is False or action.default == argparse.SUPPRESS \
                or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other kerasjet error."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, error_line(f"{message} (see {self.prog} --help)") + "\n")


def _number(convert, accept, rule):
    """An argparse type: ``convert`` the text, then require a finite value with ``accept(value)``."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if convert is int else 'a number'}, got '{text}'") from None
        if not (math.isfinite(value) and accept(value)):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return parse


POSITIVE_INT = _number(int, lambda v: v > 0, "positive")
NONNEGATIVE_INT = _number(int, lambda v: v >= 0, "≥ 0")
POSITIVE = _number(float, lambda v: v > 0, "positive")
NONNEGATIVE = _number(float, lambda v: v >= 0, "≥ 0")
FRACTION = _number(float, lambda v: 0 <= v < 1, "in [0, 1)")
CLOSED_FRACTION = _number(float, lambda v: 0 <= v <= 1, "in [0, 1]")


def _sized(low, high, shown=None):
    """An argparse type for a size or count: an integer in [low, high] (the upper bound keeps the
    job's memory, disk and plan bounded; --help states it)."""
    lower = {0: "≥ 0", 1: "positive"}.get(low, f"≥ {low}")
    return _number(int, lambda v: low <= v <= high, f"{lower} and at most {shown or high}")


# upper bounds of the size options (stated in --help)
MAX_JETS = 100_000_000           # generate --jets (kerasjet.data.generate.MAX_JETS)
MAX_CONSTITUENTS = 1000          # generate --max-constituents, N of every model
MAX_SEED = 2**63 - 1             # stored as an int64 HDF5 attribute and in config.json
MAX_WORKERS = 256
MAX_SHARDS = 100_000
MAX_EPOCHS = 10_000
MAX_BATCH = 65_536
MAX_STARTS = 100
MAX_SEEDS = 100
MAX_C_HIDDEN = 1024
MAX_REUSE_FACTOR = 1 << 20       # kerasjet.hls.config.MAX_REUSE_FACTOR
MAX_TEST_JETS = 10_000_000       # kerasjet.hls.config.MAX_TEST_JETS
SEED = _sized(0, MAX_SEED, "2^63 - 1")
JETS = _sized(1, MAX_JETS)
WORKERS = _sized(1, MAX_WORKERS)
N_CONSTITUENTS = _sized(1, MAX_CONSTITUENTS)


def _check_jets(*paths, both_classes=False):
    """Validate every jet of each given file (None skipped) before any work."""
    from kerasjet.data.io import check_jet_file

    for path in paths:
        if path is not None:
            check_jet_file(path, both_classes=both_classes)


def _model_label(path):
    """A table row's name for a model file: its file name without extension, with the run folder
    for a run's ``best.keras``; 'mass cut' for the mass cut."""
    if path == "masscut":
        return "mass cut"
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem == "best":
        return f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}/{stem}"
    return stem


def cmd_generate(args):
    from dataclasses import replace

    from kerasjet.data.generate import GeneratorSettings, generate

    check_output_file(args.out)
    from kerasjet.data.generate import configuration_name

    settings = replace(GeneratorSettings(), max_constituents=args.max_constituents, pthat_min=args.pthat_min,
                       pthat_max=args.pthat_max, level=args.level, detector=DETECTOR_CONFIGURATIONS[args.detector],
                       mpi=GeneratorSettings.mpi if args.mpi is None else args.mpi,
                       top_matching=args.top_matching or GeneratorSettings.top_matching)
    n = generate(args.out, args.jets, args.seed, settings, args.signal_fraction, args.workers,
                 args.shard, args.num_shards)
    print(f"wrote {n} {args.level}-level jets ({configuration_name(settings)}) to {args.out}")


def cmd_merge(args):
    from kerasjet.data.generate import merge

    check_output_file(args.out)
    n = merge(args.out, args.shards)
    print(f"wrote {n} jets to {args.out}")


def cmd_info(args):
    from kerasjet.data.summary import format_summary, plot_mass, summarize

    if args.plot:
        check_output_file(args.plot, PLOT_SUFFIXES)
    _check_jets(args.file)
    summary, observables = summarize(args.file)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    if args.plot:
        plot_mass(observables, args.plot, title=f"{os.path.basename(args.file)} ({summary['level']} level)")
        print(f"jet-mass plot written to {args.plot}")


NANOPELICAN_DEFAULTS = {"c_hidden": 2, "basis": "nano", "dropout": 0.0, "batchnorm": False}
NANOPELICAN_ONLY = {"c_hidden": "--c-hidden", "basis": "--basis", "dropout": "--dropout", "scaled": "--scaled",
                    "batchnorm": "--batchnorm/--no-batchnorm"}
WORD_MODELS = ("nanopelican", "constituent_mlp", "deep_sets")  # the models --input-format builds from a trigger's words


def _model_kwargs(args):
    """Keyword arguments of the chosen model builder from the command-line flags; KerasjetError
    for a nanoPELICAN option given with another model (it would be silently ignored)."""
    kwargs = {"n_constituents": args.n_constituents}
    if args.input_format is not None:
        if args.model not in WORD_MODELS:
            raise KerasjetError(f"--input-format: --model {args.model} does not start from trigger words (these do: "
                                f"{', '.join(WORD_MODELS)})")
        kwargs["input_format"] = args.input_format
    unset = {"scaled": False}  # a flag's value when not given (None for the others)
    given = [flag for dest, flag in NANOPELICAN_ONLY.items() if getattr(args, dest) is not unset.get(dest)]
    if args.model != "nanopelican":
        if given:
            raise KerasjetError(f"{', '.join(given)}: nanoPELICAN options; --model {args.model} has none (drop them)")
        return kwargs
    values = {key: default if getattr(args, key) is None else getattr(args, key) for key, default in NANOPELICAN_DEFAULTS.items()}
    kwargs.update(c_hidden=values["c_hidden"], batchnorm=values["batchnorm"], scaled=args.scaled,
                  dropout=values["dropout"], basis=values["basis"])
    return kwargs


def cmd_train(args):
    from kerasjet.data.io import count_jets

    check_output_folder(args.out)
    if args.keep_best > args.seeds:
        raise KerasjetError(f"--keep-best must lie in [1, --seeds] (got {args.keep_best} of {args.seeds})")
    model_kwargs = _model_kwargs(args)
    for path in (args.train, args.val, args.test):  # a missing or damaged file: refused before TensorFlow is imported
        if path is not None:
            count_jets(path)

    from kerasjet.evaluate import aggregate, evaluate
    from kerasjet.metrics import format_table
    from kerasjet.train import RunConfig, check_memory, train, train_seeds

    config = RunConfig(model=args.model, model_kwargs=model_kwargs, train=args.train, val=args.val,
                       epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                       schedule=args.schedule, starts=args.starts, probe_epochs=args.probe_epochs)
    check_memory(config)  # before any jet is read or any tensor allocated
    _check_jets(args.val, args.test, both_classes=True)  # a validation AUC needs both classes; --train: train() checks it
    if args.seeds == 1:
        summary = train(args.out, config, verbose=args.verbose)
        kept = [summary]
        print(f"best validation loss {summary['best_val_loss']:.4f}; model {os.path.join(args.out, 'best.keras')}")
    else:
        _, kept = train_seeds(args.out, config, args.seeds, args.keep_best, verbose=args.verbose)
        print(f"kept seeds {[s['seed'] for s in kept]} (lowest validation loss of {args.seeds})")
    if args.test:
        metrics = [evaluate(os.path.join(s["run_dir"], "best.keras"), args.test)[0] for s in kept]
        row = aggregate(metrics) if len(metrics) > 1 else metrics[0]
        print(format_table([(f"{args.model} ({len(kept)} seeds)", row)], title=f"{args.test}"))


MODEL_SUFFIXES = (".keras", ".h5")  # kerasjet.models.MODEL_SUFFIXES


def _check_model_file(path):
    """The trivial refusals of a model file (missing, another extension), before TensorFlow is
    imported; kerasjet.models.load_model checks the rest."""
    if not os.path.isfile(path):
        raise KerasjetError(f"{path}: no such model file")
    if os.path.splitext(path)[1] not in MODEL_SUFFIXES:
        raise KerasjetError(f"{path}: model files end in .keras (float) or .h5 (quantized)")


def cmd_evaluate(args):
    from kerasjet.files import write_json

    if args.json:
        check_output_file(args.json)
    if args.roc:
        check_output_file(args.roc, PLOT_SUFFIXES)
    if args.model != "masscut":
        _check_model_file(args.model)
    _check_jets(args.data, both_classes=True)
    from kerasjet.evaluate import evaluate
    from kerasjet.metrics import format_table, plot_roc

    masscut = args.model == "masscut"
    if not masscut and (args.score is not None or args.n_constituents is not None):
        raise KerasjetError("--score and --n-constituents apply to 'masscut' only (a model's inputs fix its N)")
    score = args.score or "mass"
    metrics, labels, scores = evaluate(args.model, args.data, allow_lambda=args.allow_lambda, mass_score=score,
                                       n_constituents=args.n_constituents)
    name = _model_label(args.model)
    if masscut:
        from kerasjet.models.masscut import MASS_CUT_DESCRIPTIONS

        constituents = "every constituent" if args.n_constituents is None else f"the {args.n_constituents} leading constituents"
        description, accuracy = MASS_CUT_DESCRIPTIONS[score]
        name = f"mass cut ({description})"
        print(f"mass cut: jet mass of {constituents}, {description}; its accuracy counts a jet as top when {accuracy}")
    print(format_table([(name, metrics)], title=f"{args.data} ({metrics['jets']} jets)"))
    print(f"1/εB at εS = 0.5: {metrics['rejection_at_0.5']:.1f}")
    if args.json:
        write_json({"model": args.model, "data": args.data, **metrics}, args.json)
    if args.roc:
        plot_roc([(name, labels, scores)], args.roc, title=os.path.basename(args.data))
        print(f"ROC plot written to {args.roc}")


def cmd_fold(args):
    from kerasjet.files import write_json

    if args.json:
        check_output_file(args.json)
    _check_model_file(args.model)
    from kerasjet.fold import fold, format_formula
    from kerasjet.models import load_model
    folded = fold(load_model(args.model, allow_lambda=args.allow_lambda))
    print(format_formula(folded))
    if args.json:
        write_json(folded, args.json)
        print(f"folded model written to {args.json}")


def cmd_study(args):
    from dataclasses import replace

    from kerasjet.study import BUDGETS, INTERIM, collect, default_results_dir, jobs, judge, prepare_data, run_all, run_job

    budget = replace(BUDGETS[args.budget], level=args.level)
    results = args.results or default_results_dir(args.level)
    if args.judge_only:
        judge(results)
        print(open(os.path.join(results, "claims.md")).read())
        return
    if args.list_jobs:
        for i, (name, seed) in enumerate(jobs(budget)):
            print(f"{i}\t{name}\tseed {seed}")
        return
    check_output_folder(args.dir)
    if args.prepare_only:
        prepare_data(args.dir, budget, args.workers)
        return
    check_output_folder(results)
    if args.job_index is not None:
        run_job(args.dir, budget, args.job_index, results)
        return
    if not (args.collect or args.interim):
        prepare_data(args.dir, budget, args.workers)
        run_all(args.dir, budget, results, args.workers)
    collect(args.dir, budget, results, args.budget, interim=args.interim)
    interim = os.path.join(results, INTERIM)  # absent when --interim found every job finished (the complete tables)
    print(open(os.path.join(interim if args.interim and os.path.isdir(interim) else results, "tables.md")).read())


def cmd_compress(args):
    # QKeras layers reload only from HDF5: a quantized model in .keras would not load back
    check_output_file(args.out, (".keras", ".h5") if args.bits == "float" else (".h5",))
    if args.bits != "ternary" and (args.recipe or args.placement):  # they would be silently ignored
        raise KerasjetError(f"{'--recipe' if args.recipe else '--placement'} applies to --bits ternary only (got --bits {args.bits})")
    if args.bits in ("float", "ternary") and args.pair_weights:
        raise KerasjetError(f"--pair-weights applies to --bits 16, 8, 6 and 4 only (got --bits {args.bits})")
    _check_model_file(args.model)
    _check_jets(args.train, args.val)
    _check_jets(args.test, both_classes=True)
    from kerasjet.compress import compress, sparsity, weight_summary
    from kerasjet.evaluate import evaluate
    from kerasjet.metrics import format_table
    from kerasjet.models import load_model, save_model

    model = load_model(args.model, allow_lambda=args.allow_lambda)
    compressed = compress(model, args.train, args.val, args.bits, args.prune, args.epochs, args.lr, train_jets=args.train_jets,
                          recipe=args.recipe or "finetune", placement=args.placement or "all",
                          pair_po2=(args.pair_weights or "po2") == "po2")
    save_model(compressed, args.out)
    bits, nonzero = weight_summary(compressed)
    print(f"saved {args.out}: {bits:.2f} bits per weight, {nonzero} non-zero weights, kernel sparsity {sparsity(compressed):.2f}")
    if args.bits != "float":  # its deployment YAML beside it: `python convert.py` takes it untouched
        from kerasjet.compress import write_hls_config

        config = write_hls_config(args.out, test_file=args.test or args.val, writer="kerasjet compress")
        print(f"wrote {config}: python convert.py {config}")
    if args.test:
        rows = [("float", evaluate(args.model, args.test, allow_lambda=args.allow_lambda)[0]),
                (f"{args.bits}-bit" if args.bits.isdigit() else args.bits, evaluate(args.out, args.test)[0])]
        print(format_table(rows, title=f"{args.test}"))


def _check_test_data(config, jets=None):
    """The config's test jets before the conversion: the file exists (the `make demo` hint only
    for the demo file), holds both classes (an AUC is compared) and at least the jets asked for."""
    from kerasjet.data.io import check_jet_file

    test_file = config["test_data"]["file"]
    if not os.path.exists(test_file):
        hint = " (run `make demo` to create data/demo.h5)" if os.path.basename(test_file) == "demo.h5" else ""
        raise KerasjetError(f"{config['source']}: kerasjet.test_data.file: no such file {test_file}{hint}")
    n = check_jet_file(test_file, both_classes=True)
    wanted = jets or config["test_data"]["jets"]
    if wanted > n:
        where = "--jets" if jets else f"{config['source']}: kerasjet.test_data.jets"
        raise KerasjetError(f"{where}: {wanted} jets, but {test_file} holds {n}")


def cmd_convert(args):
    from kerasjet.files import read_yaml_text

    if args.no_synthesis and not args.rtl:
        raise KerasjetError("--no-synthesis goes with --rtl (it skips the RTL path's Yosys synthesis)")
    read_yaml_text(args.config)  # a missing file or a YAML syntax error: refused before hls4ml and TensorFlow are imported
    from kerasjet.hls.config import load_config
    from kerasjet.hls.convert import deploy, format_report

    config = load_config(args.config)
    if args.rtl:  # refuse before any work when the rtl extra is missing
        from kerasjet.extras import require_extra

        require_extra("rtl", "convert --rtl")
    if args.synth:  # refuse before any work when the requested synthesis cannot run
        from kerasjet.hls.synthesis import require_tool

        require_tool(config["backend"])
    _check_test_data(config, args.jets)
    report, hls_model = deploy(config, jets=args.jets, reuse_factor=args.reuse_factor)
    print(format_report(report))
    print(f"report: {os.path.join(report['output_dir'], 'report.json')}")
    status = 0 if report["passed"] else 1
    if args.synth:
        from kerasjet.hls.synthesis import synthesize

        synthesize(hls_model, report["output_dir"], config["backend"])
    if args.rtl:
        from kerasjet.rtl.flow import run_rtl

        status = max(status, run_rtl(config, hls_model, synthesis=False if args.no_synthesis else None))
    if status:
        raise SystemExit(status)


def cmd_demo(args):
    from kerasjet.demo import run_demo

    run_demo(args.data, args.jets, args.workers)


RESUMABLE = ("no partial output file was kept; each run folder keeps the checkpoint of its last finished epoch "
             "on purpose: the same command resumes from it")
LEVEL_HELP = ("jets of the parametric Delphes-ATLAS-card detector's massless energy-flow objects ('detector', the reference "
              "dataset's regime) or of the stable particles ('particle')")
LAMBDA_HELP = ("load a model with Keras Lambda layers: their stored Python code runs on loading, "
               "so pass this only for files you trust")


def build_parser():
    parser = _Parser(prog="kerasjet", description="Tiny symmetry-aware jet taggers, from Pythia8 jets to FPGA firmware.")
    parser.add_argument("--version", action="version", version=f"kerasjet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="generate top and QCD jets with Pythia8 + FastJet into an HDF5 file",
                       description="Generate top (signal) and QCD (background) jets following the Top Quark Tagging Reference Dataset recipe.")
    p.add_argument("--jets", type=JETS, required=True, help=f"number of jets to write, 1 to {MAX_JETS:,}")
    p.add_argument("--out", required=True, help="output HDF5 file (PELICAN layout)")
    p.add_argument("--seed", type=SEED, default=0, help="random seed, 0 to 2^63 - 1")
    p.add_argument("--workers", type=WORKERS, default=1, help=f"parallel processes, 1 to {MAX_WORKERS}; output does not depend on it")
    p.add_argument("--max-constituents", type=N_CONSTITUENTS, default=200,
                   help=f"constituent slots stored per jet, 1 to {MAX_CONSTITUENTS}")
    p.add_argument("--signal-fraction", type=CLOSED_FRACTION, default=0.5, help="exact fraction of top jets, in [0, 1]")
    p.add_argument("--pthat-min", type=NONNEGATIVE, default=500.0, help="lower end of the generated pTHat window, ≥ 0 GeV")
    p.add_argument("--pthat-max", type=POSITIVE, default=700.0,
                   help="upper end of the generated pTHat window, GeV; the window must reach into 367-975 GeV, "
                        "near the jets' 550-650 GeV (default: 700.0)")
    p.add_argument("--shard", type=_sized(0, MAX_SHARDS - 1),
                   help="generate only this shard (0-based, below --num-shards) of the job, for batch array jobs")
    p.add_argument("--num-shards", type=_sized(1, MAX_SHARDS), help=f"number of shards the job is split into, 1 to {MAX_SHARDS:,}")
    p.add_argument("--level", default="detector", choices=LEVELS, help=LEVEL_HELP)
    p.add_argument("--detector", default=DEFAULT_DETECTOR, choices=list(DETECTOR_CONFIGURATIONS),
                   help="detector configuration at detector level (results/detector/regime.md compares them with the "
                        "reference dataset)")
    p.add_argument("--mpi", action=argparse.BooleanOptionalAction,
                   help="Pythia's multi-parton interactions (default: on, which the reference dataset's distributions need although "
                        "its description says off: results/detector/regime.md)")
    p.add_argument("--top-matching", choices=TOP_MATCHINGS,
                   help="a top jet needs its top, its b and — 'quarks': both quarks of its W; 'w': the W boson — within "
                        "ΔR < 0.8 of the jet axis (default: w, the closer to the reference)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("merge", help="join the shards of a sharded generate job into one file")
    p.add_argument("shards", nargs="+", help="shard files, in any order")
    p.add_argument("--out", required=True, help="merged output file")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("info", help="summarise a jet file: counts, multiplicity, jet pT and mass per class")
    p.add_argument("file", help="HDF5 jet file (PELICAN or reference layout)")
    p.add_argument("--plot", help="write a jet-mass histogram of top and QCD jets to this PNG/PDF/SVG")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a tagger in the seed paper's regime (resumable, multi-seed)")
    p.add_argument("--model", default="nanopelican",
                   choices=("nanopelican", "lorentznet", "topodnn", "hls4ml_tagger", "constituent_mlp", "deep_sets"),
                   help="model family (constituent_mlp: the pT-sorted MLP on the N leading constituents; deep_sets: "
                        "Deep Sets on them)")
    p.add_argument("--train", required=True, help="training jets (HDF5)")
    p.add_argument("--val", required=True, help="validation jets (HDF5), for the best checkpoint")
    p.add_argument("--test", help="test jets: evaluate the kept seeds on them and print the table")
    p.add_argument("--out", required=True, help="run folder (an interrupted run resumes from it)")
    p.add_argument("--epochs", type=_sized(1, MAX_EPOCHS), default=140, help=f"epochs, 1 to {MAX_EPOCHS:,}; the schedule keeps its shape")
    p.add_argument("--batch-size", type=_sized(1, MAX_BATCH), default=512,
                   help=f"jets per batch, 1 to {MAX_BATCH:,} (a step that cannot fit in memory is refused before training)")
    p.add_argument("--lr", type=POSITIVE, default=5e-3,
                   help="peak learning rate, > 0 (nanoPELICAN without BatchNorm: steps relative to each weight group, "
                        "kerasjet.train.NO_BATCHNORM_STEP_GAIN times this)")
    p.add_argument("--schedule", choices=("paper", "cosine"), default="paper",
                   help="'paper': the seed paper's warm-up and cosine restarts, shrunk to --epochs; 'cosine': one epoch of "
                        "warm-up, then one cosine to peak/100")
    p.add_argument("--seed", type=_sized(0, 2**31 - 1, "2^31 - 1"), default=0, help="seed of a single run, 0 to 2^31 - 1")
    p.add_argument("--seeds", type=_sized(1, MAX_SEEDS), default=1, help=f"train seeds 0..K-1 into OUT/seed_K, K from 1 to {MAX_SEEDS}")
    p.add_argument("--keep-best", type=_sized(1, MAX_SEEDS), default=1,
                   help="report the M seeds with the lowest validation loss, M ≤ --seeds")
    p.add_argument("--starts", type=_sized(1, MAX_STARTS), default=1,
                   help="per seed, train K starts for --probe-epochs epochs and continue the one with the lowest validation "
                        "loss at its last probe epoch (with --batchnorm, or at C = 1, a nanoPELICAN start can settle on a poor "
                        "solution; 3 is the tested recipe)")
    p.add_argument("--probe-epochs", type=_sized(1, MAX_EPOCHS), default=5,
                   help=f"epochs each start trains before one is kept, 1 to {MAX_EPOCHS:,}")
    p.add_argument("--n-constituents", type=N_CONSTITUENTS, default=80, help=f"constituent slots N, 1 to {MAX_CONSTITUENTS}")
    p.add_argument("--c-hidden", type=_sized(1, MAX_C_HIDDEN),
                   help=f"nanoPELICAN only: hidden channels, 1 to {MAX_C_HIDDEN} (default: {NANOPELICAN_DEFAULTS['c_hidden']})")
    p.add_argument("--basis", choices=("nano", "full"), help="nanoPELICAN only: LinEq2to2 basis (default: nano)")
    p.add_argument("--scaled", action="store_true", help="nanoPELICAN only: multiplicity-scaled aggregators (Table 2)")
    p.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=None,
                   help="nanoPELICAN only: --batchnorm adds two BatchNorm layers (12·C + 3 parameters, the BatchNorms fold away). "
                        "Default --no-batchnorm: the seed paper's model, 10·C + 1 parameters, one start, data-dependent "
                        "initialisation and relative steps")
    p.add_argument("--dropout", type=FRACTION, help="nanoPELICAN only: dropout rate, in [0, 1) (default: 0.0)")
    p.add_argument("--input-format", choices=sorted(INPUT_FORMATS),
                   help="nanopelican, constituent_mlp, deep_sets: start from a Level-1 trigger's candidate words (integer pT, η, φ "
                        "codes of this format, massless candidates) instead of four-momenta (default: four-momenta)")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras progress output: 0 none, 1 bar, 2 a line per epoch")
    p.set_defaults(func=cmd_train, kept_on_interrupt=RESUMABLE)

    p = sub.add_parser("evaluate", help="accuracy, AUC and 1/εB of a model (or 'masscut') on a jet file")
    p.add_argument("model", help="a saved .keras/.h5 model, or 'masscut' for the jet-mass cut")
    p.add_argument("data", help="HDF5 jet file")
    p.add_argument("--json", help="write the metrics as JSON")
    p.add_argument("--roc", help="write the ROC curve (1/εB against εS) to this PNG/PDF/SVG")
    p.add_argument("--allow-lambda", action="store_true", help=LAMBDA_HELP)
    p.add_argument("--score", choices=MASS_CUT_SCORES,
                   help="masscut only: 'mass' (one-sided, the seed paper's 'simple jet mass cut') or 'window' (−|m − 173 GeV|) "
                        "(default: mass)")
    p.add_argument("--n-constituents", type=N_CONSTITUENTS,
                   help=f"masscut only: the jet mass of the N leading constituents (1 to {MAX_CONSTITUENTS}), as a tagger at N sees the jet "
                        "(default: every constituent)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("fold", help="fold ReLU scale (and any BatchNorm) into nanoPELICAN and print its formula")
    p.add_argument("model", help="a saved nanoPELICAN .keras model")
    p.add_argument("--json", help="write the folded model as JSON")
    p.add_argument("--allow-lambda", action="store_true", help=LAMBDA_HELP)
    p.set_defaults(func=cmd_fold)

    p = sub.add_parser("compress", help="quantize (QAT, BitLinear ternary) and/or prune a trained model")
    p.add_argument("model", help="a trained float model (.keras)")
    p.add_argument("--train", required=True, help="jets for the fine-tuning")
    p.add_argument("--val", required=True, help="validation jets (best epoch)")
    p.add_argument("--test", help="evaluate float and compressed on these jets")
    p.add_argument("--out", required=True, help="output model: .h5 for quantized models, .keras or .h5 for --bits float; a quantized "
                        "model's deployment YAML is written beside it (OUT with .yml, test jets: --test, else --val)")
    p.add_argument("--bits", default="8", choices=("float", "16", "8", "6", "4", "ternary"), help="weight precision")
    p.add_argument("--prune", type=FRACTION, help="target sparsity of the kernels, in [0, 1), e.g. 0.7 (default: no pruning)")
    p.add_argument("--epochs", type=_sized(0, MAX_EPOCHS), help=f"fine-tuning epochs, 0 to {MAX_EPOCHS:,} (default: 3; --bits ternary: 6)")
    p.add_argument("--train-jets", type=JETS, help=f"fine-tune on the first jets of --train only, 1 to {MAX_JETS:,} (default: all)")
    p.add_argument("--lr", type=POSITIVE, help="fine-tuning learning rate, > 0 (default: 1e-3; --bits ternary: 1e-2)")
    p.add_argument("--recipe", choices=("finetune", "progressive", "scratch"),
                   help="--bits ternary only: how it is trained (default: finetune): from the float model (finetune), through 8 and 4 bits (progressive), "
                        "or from re-initialised weights (scratch); warm-up + cosine, results/compression/ternary_recipe.md")
    p.add_argument("--placement", choices=("all", "ends-8bit"),
                   help="--bits ternary only: every layer ternary, or the first and last at 8 bits (ends-8bit) (default: all)")
    p.add_argument("--pair-weights", choices=("po2", "fixed"),
                   help="nanoPELICAN at --bits 16/8/6/4 only: d_ij weights as signed powers of two (po2: shifts in firmware, the same "
                        "function by ReLU homogeneity) or fixed point like the other weights (default po2)")
    p.add_argument("--allow-lambda", action="store_true", help=LAMBDA_HELP)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("convert", help="hls4ml project + C simulation of a model from its YAML (also: python convert.py)")
    p.add_argument("config", help="deployment YAML, e.g. hls_configs/nanopelican_c2_n16_8bit.yml")
    p.add_argument("--reuse-factor", type=_sized(1, MAX_REUSE_FACTOR),
                   help=f"override the YAML's reuse factor, 1 to {MAX_REUSE_FACTOR:,} (default: the YAML's)")
    p.add_argument("--jets", type=_sized(1, MAX_TEST_JETS), help=f"override the number of test jets, 1 to {MAX_TEST_JETS:,} (default: the YAML's)")
    p.add_argument("--synth", action="store_true", help="also run C synthesis and logic synthesis (needs vitis_hls/vivado_hls)")
    p.add_argument("--rtl", action="store_true", help="also build the da4ml RTL, check it bit for bit and synthesise it with Yosys")
    p.add_argument("--no-synthesis", action="store_true",
                   help="with --rtl: skip the Yosys synthesis (minutes) and keep the bit-exact checks and the latency "
                        "(the YAML's rtl: {synthesis: false})")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("study", help="train and evaluate every model of the seed paper's Tables 1-2 (resumable)")
    p.add_argument("--budget", default="default", choices=("default", "three-seed", "single-seed", "paper", "tiny"),
                   help="jets, epochs and seeds (kerasjet/study.py: 'default' 5 seeds, best 3, 14 h on 2 cores; "
                        "'three-seed' 3, best 2)")
    p.add_argument("--dir", default="data/study", help="data and run folder")
    p.add_argument("--results", help="where tables and plots go (default: results/study/<study name>, the default jet "
                                            "configuration's name; results/study/detector and results/study/particle hold "
                                            "the studies of kerasjet 0.1's jets)")
    p.add_argument("--judge-only", action="store_true",
                   help="only rewrite claims.md and figure1.png from the results folder's study.json "
                        "(for the interim tables: --results <results>/interim)")
    p.add_argument("--workers", type=WORKERS, default=1, help=f"parallel jobs and generator processes, 1 to {MAX_WORKERS}")
    p.add_argument("--list-jobs", action="store_true", help="print the job list (one line per array task) and exit")
    p.add_argument("--prepare-only", action="store_true", help="only generate the data files")
    p.add_argument("--job-index", type=_sized(0, 100_000), help="run only this job (a batch array task), ≥ 0 (see --list-jobs)")
    p.add_argument("--collect", action="store_true",
                   help="only write the tables from the finished jobs' records (<results>/jobs; no data needed once every job has one)")
    p.add_argument("--interim", action="store_true",
                   help="like --collect while the study is under way: the models with a record for every seed, into <results>/interim "
                        "(the complete --collect once every job has finished)")
    p.add_argument("--level", default="detector", choices=LEVELS, help=f"{LEVEL_HELP}; the data files carry it in their names")
    p.set_defaults(func=cmd_study, kept_on_interrupt=RESUMABLE)

    p = sub.add_parser("demo", help="the main job of `make demo` on the embedded default dataset")
    p.add_argument("--data", default="data/demo.h5", help="demo dataset, generated if missing")
    p.add_argument("--jets", type=JETS, default=4000, help=f"jets in the demo dataset when it is generated, 1 to {MAX_JETS:,}")
    p.add_argument("--workers", type=WORKERS, default=min(os.cpu_count() or 1, MAX_WORKERS),
                   help=f"generator processes, 1 to {MAX_WORKERS} (default: all cores)")
    p.set_defaults(func=cmd_demo)
    return parser


def _caused_by_interrupt(err):
    """Whether an exception was raised because of a KeyboardInterrupt (Ctrl-C or SIGTERM) further down."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def main(argv=None):
    """Run one command; returns the exit status (2 for a refused input, 130 for an interrupt)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version or a usage error, already printed
        return done.code
    try:
        with terminate_as_interrupt():  # SIGTERM (a batch system's time limit) is handled like Ctrl-C
            args.func(args)
    except KerasjetError as err:
        print(error_line(err), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kerasjet: interrupted; {getattr(args, 'kept_on_interrupt', 'no partial output file was kept')}", file=sys.stderr)
        return 130
    except Exception as err:  # an interrupt inside a C extension (Pythia's import, HDF5) comes back wrapped
        if not _caused_by_interrupt(err):
            raise
        print(f"kerasjet: interrupted; {getattr(args, 'kept_on_interrupt', 'no partial output file was kept')}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
