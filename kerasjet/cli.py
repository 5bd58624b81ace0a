"""The ``kerasjet`` command line: one subcommand per pipeline stage.

Errors in the user's input (files, keys, values) print one line ``kerasjet: error: ...`` and
exit with status 2; an interrupt exits with 130 and leaves no partial output file.
"""

import argparse
import json
import os
import sys

from kerasjet.errors import KerasjetError


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def cmd_generate(args):
    from dataclasses import replace

    from kerasjet.data.generate import GeneratorSettings, generate

    settings = replace(GeneratorSettings(), max_constituents=args.max_constituents,
                       pthat_min=args.pthat_min, pthat_max=args.pthat_max)
    n = generate(args.out, args.jets, args.seed, settings, args.signal_fraction, args.workers,
                 args.shard, args.num_shards)
    print(f"wrote {n} jets to {args.out}")


def cmd_merge(args):
    from kerasjet.data.generate import merge

    n = merge(args.out, args.shards)
    print(f"wrote {n} jets to {args.out}")


def cmd_info(args):
    from kerasjet.data.summary import format_summary, plot_mass, summarize

    summary, observables = summarize(args.file)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    if args.plot:
        plot_mass(observables, args.plot, title=os.path.basename(args.file))
        print(f"jet-mass plot written to {args.plot}")


def _model_kwargs(args):
    """Keyword arguments of the chosen model builder from the command-line flags."""
    kwargs = {"n_constituents": args.n_constituents}
    if args.model == "nanopelican":
        kwargs.update(c_hidden=args.c_hidden, batchnorm=not args.no_batchnorm, scaled=args.scaled,
                      dropout=args.dropout, basis=args.basis)
    return kwargs


def cmd_train(args):
    from kerasjet.evaluate import aggregate, evaluate
    from kerasjet.metrics import format_table
    from kerasjet.train import RunConfig, train, train_seeds

    config = RunConfig(model=args.model, model_kwargs=_model_kwargs(args), train=args.train, val=args.val,
                       epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed)
    for path in (args.train, args.val) + ((args.test,) if args.test else ()):
        if not os.path.exists(path):
            raise KerasjetError(f"{path}: no such file")
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


def cmd_evaluate(args):
    from kerasjet.evaluate import evaluate
    from kerasjet.files import write_json
    from kerasjet.metrics import format_table, plot_roc

    metrics, labels, scores = evaluate(args.model, args.data)
    name = "mass cut" if args.model == "masscut" else os.path.basename(os.path.dirname(os.path.abspath(args.model))) or args.model
    print(format_table([(name, metrics)], title=f"{args.data} ({metrics['jets']} jets)"))
    print(f"1/εB at εS = 0.5: {metrics['rejection_at_0.5']:.1f}")
    if args.json:
        write_json({"model": args.model, "data": args.data, **metrics}, args.json)
    if args.roc:
        plot_roc([(name, labels, scores)], args.roc, title=os.path.basename(args.data))
        print(f"ROC plot written to {args.roc}")


def cmd_fold(args):
    from kerasjet.files import write_json
    from kerasjet.fold import fold, format_formula
    from kerasjet.models import load_model

    folded = fold(load_model(args.model))
    print(format_formula(folded))
    if args.json:
        write_json(folded, args.json)
        print(f"folded model written to {args.json}")


def cmd_study(args):
    from kerasjet.study import BUDGETS, collect, jobs, prepare_data, run_all, run_job

    budget = BUDGETS[args.budget]
    if args.list_jobs:
        for i, (name, seed) in enumerate(jobs(budget)):
            print(f"{i}\t{name}\tseed {seed}")
        return
    if args.prepare_only:
        prepare_data(args.dir, budget, args.workers)
        return
    if args.job_index is not None:
        run_job(args.dir, budget, args.job_index)
        return
    if not args.collect:
        prepare_data(args.dir, budget, args.workers)
        run_all(args.dir, budget, args.workers)
    collect(args.dir, budget, args.results, args.budget)
    print(open(os.path.join(args.results, "tables.md")).read())


def cmd_compress(args):
    from kerasjet.compress import compress, sparsity, weight_summary
    from kerasjet.evaluate import evaluate
    from kerasjet.metrics import format_table
    from kerasjet.models import load_model, save_model

    for path in (args.train, args.val) + ((args.test,) if args.test else ()):
        if not os.path.exists(path):
            raise KerasjetError(f"{path}: no such file")
    model = load_model(args.model)
    compressed = compress(model, args.train, args.val, args.bits, args.prune, args.epochs, args.lr, train_jets=args.train_jets)
    save_model(compressed, args.out)
    bits, nonzero = weight_summary(compressed)
    print(f"saved {args.out}: {bits:.2f} bits per weight, {nonzero} non-zero weights, kernel sparsity {sparsity(compressed):.2f}")
    if args.test:
        rows = [("float", evaluate(args.model, args.test)[0]), (f"{args.bits}-bit" if args.bits.isdigit() else args.bits,
                                                              evaluate(args.out, args.test)[0])]
        print(format_table(rows, title=f"{args.test}"))


def cmd_convert(args):
    from kerasjet.hls.config import load_config
    from kerasjet.hls.convert import deploy, format_report

    config = load_config(args.config)
    report, hls_model = deploy(config, jets=args.jets, reuse_factor=args.reuse_factor)
    print(format_report(report))
    print(f"report: {os.path.join(report['output_dir'], 'report.json')}")
    status = 0 if report["passed"] else 1
    if args.synth:
        from kerasjet.hls.synthesis import synthesize

        synthesize(hls_model, report["output_dir"], config["backend"])
    if args.rtl:
        from kerasjet.rtl.flow import run_rtl

        status = max(status, run_rtl(config, hls_model))
    if status:
        raise SystemExit(status)


def cmd_demo(args):
    from kerasjet.demo import run_demo

    run_demo(args.data, args.jets, args.workers)


def build_parser():
    parser = argparse.ArgumentParser(prog="kerasjet", description="Tiny symmetry-aware jet taggers, from Pythia8 jets to FPGA firmware.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="generate top and QCD jets with Pythia8 + FastJet into an HDF5 file",
                       description="Generate top (signal) and QCD (background) jets following the Top Quark Tagging Reference Dataset recipe.")
    p.add_argument("--jets", type=int, required=True, help="number of jets to write")
    p.add_argument("--out", required=True, help="output HDF5 file (PELICAN layout)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=_positive_int, default=1, help="parallel processes (default 1); output does not depend on it")
    p.add_argument("--max-constituents", type=_positive_int, default=200, help="constituent slots stored per jet (default 200)")
    p.add_argument("--signal-fraction", type=float, default=0.5, help="exact fraction of top jets (default 0.5)")
    p.add_argument("--pthat-min", type=float, default=500.0, help="lower end of the generated pTHat window in GeV (default 500)")
    p.add_argument("--pthat-max", type=float, default=700.0, help="upper end of the generated pTHat window in GeV (default 700)")
    p.add_argument("--shard", type=int, help="generate only this shard (0-based) of the job, for batch array jobs")
    p.add_argument("--num-shards", type=_positive_int, help="number of shards the job is split into")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("merge", help="join the shards of a sharded generate job into one file")
    p.add_argument("shards", nargs="+", help="shard files, in any order")
    p.add_argument("--out", required=True, help="merged output file")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("info", help="summarise a jet file: counts, multiplicity, jet pT and mass per class")
    p.add_argument("file", help="HDF5 jet file (PELICAN or reference layout)")
    p.add_argument("--plot", help="write a jet-mass histogram of top and QCD jets to this PNG/PDF")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a tagger in the seed paper's regime (resumable, multi-seed)")
    p.add_argument("--model", default="nanopelican", choices=("nanopelican", "lorentznet", "topodnn"))
    p.add_argument("--train", required=True, help="training jets (HDF5)")
    p.add_argument("--val", required=True, help="validation jets (HDF5), for the best checkpoint")
    p.add_argument("--test", help="test jets: evaluate the kept seeds on them and print the table")
    p.add_argument("--out", required=True, help="run directory (an interrupted run resumes from it)")
    p.add_argument("--epochs", type=_positive_int, default=140, help="epochs; the schedule keeps its shape (default 140)")
    p.add_argument("--batch-size", type=_positive_int, default=512)
    p.add_argument("--lr", type=float, default=5e-3, help="peak learning rate (default 5e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of a single run (default 0)")
    p.add_argument("--seeds", type=_positive_int, default=1, help="train seeds 0..K-1 into OUT/seed_K")
    p.add_argument("--keep-best", type=_positive_int, default=1, help="report the M seeds with the lowest validation loss")
    p.add_argument("--n-constituents", type=_positive_int, default=80, help="constituent slots N (default 80)")
    p.add_argument("--c-hidden", type=_positive_int, default=2, help="nanoPELICAN hidden channels (default 2)")
    p.add_argument("--basis", default="nano", choices=("nano", "full"), help="LinEq2to2 basis (default nano)")
    p.add_argument("--scaled", action="store_true", help="multiplicity-scaled aggregators (Table 2)")
    p.add_argument("--no-batchnorm", action="store_true", help="drop the BatchNorm layers (10·C+1 parameters)")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras progress output (default 1: bar)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy, AUC and 1/εB of a model (or 'masscut') on a jet file")
    p.add_argument("model", help="a saved .keras model, or 'masscut' for the jet-mass cut")
    p.add_argument("data", help="HDF5 jet file")
    p.add_argument("--json", help="write the metrics as JSON")
    p.add_argument("--roc", help="write the ROC curve (1/εB against εS) to this PNG/PDF")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("fold", help="fold BatchNorm and ReLU scale into nanoPELICAN and print its formula")
    p.add_argument("model", help="a saved nanoPELICAN .keras model")
    p.add_argument("--json", help="write the folded model as JSON")
    p.set_defaults(func=cmd_fold)

    p = sub.add_parser("compress", help="quantize (QAT, BitLinear ternary) and/or prune a trained model")
    p.add_argument("model", help="a trained float model (.keras)")
    p.add_argument("--train", required=True, help="jets for the fine-tuning")
    p.add_argument("--val", required=True, help="validation jets (best epoch)")
    p.add_argument("--test", help="evaluate float and compressed on these jets")
    p.add_argument("--out", required=True, help="output model (.h5 for quantized models, .keras for float)")
    p.add_argument("--bits", default="8", choices=("float", "16", "8", "6", "4", "ternary"), help="weight precision (default 8)")
    p.add_argument("--prune", type=float, help="target sparsity of the kernels, e.g. 0.7")
    p.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (default 3)")
    p.add_argument("--train-jets", type=_positive_int, help="fine-tune on the first jets of --train only")
    p.add_argument("--lr", type=float, default=1e-3, help="fine-tuning learning rate (default 1e-3)")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("convert", help="hls4ml project + C simulation of a model from its YAML (also: python convert.py)")
    p.add_argument("config", help="deployment YAML, e.g. hls_configs/nanopelican_c2_n16.yml")
    p.add_argument("--reuse-factor", type=_positive_int, help="override the YAML's reuse_factor")
    p.add_argument("--jets", type=_positive_int, help="override the number of test jets")
    p.add_argument("--synth", action="store_true", help="also run C synthesis and logic synthesis (needs vitis_hls/vivado_hls)")
    p.add_argument("--rtl", action="store_true", help="also build the da4ml RTL, check it bit for bit and synthesise it with Yosys")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("study", help="train and evaluate every model of the seed paper's Tables 1-2 (resumable)")
    p.add_argument("--budget", default="default", choices=("default", "single-seed", "paper", "tiny"),
                   help="jets, epochs and seeds (see kerasjet/study.py; default fits this 2-core machine)")
    p.add_argument("--dir", default="data/study", help="data and run directory (default data/study)")
    p.add_argument("--results", default="results/study", help="where tables and plots go (default results/study)")
    p.add_argument("--workers", type=_positive_int, default=1, help="parallel jobs and generator processes")
    p.add_argument("--list-jobs", action="store_true", help="print the job list (one line per array task) and exit")
    p.add_argument("--prepare-only", action="store_true", help="only generate the data files")
    p.add_argument("--job-index", type=int, help="run only this job (a batch array task)")
    p.add_argument("--collect", action="store_true", help="only evaluate finished jobs and write the results")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("demo", help="the main job of `make demo` on the embedded default dataset")
    p.add_argument("--data", default="data/demo.h5", help="demo dataset, generated if missing (default data/demo.h5)")
    p.add_argument("--jets", type=_positive_int, default=4000, help="jets in the demo dataset when it is generated (default 4000)")
    p.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1, help="generator processes (default: all cores)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except KerasjetError as err:
        print(f"kerasjet: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kerasjet: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
