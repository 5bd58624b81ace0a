"""The study: every model of the seed paper's Tables 1 and 2 on the same generated files.

A study is a list of independent jobs (one model configuration and one seed each) plus the
mass cut. ``run_job`` trains one job (resumable), so the list can run here
(``kerasjet study --workers W``, a process pool), or as a batch array
(``scripts/slurm/study.sbatch``: one array task per job, then ``kerasjet study --collect``).
``collect`` evaluates the kept seeds on the test file and writes the tables and plots.
"""

import json
import multiprocessing
import os
import shutil
import textwrap
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace

from kerasjet.errors import KerasjetError
from kerasjet.files import save_figure, write_json, write_text
from kerasjet.study_records import (MASS_CUT_JOB, MASS_CUT_ONE_SIDED_JOB, MASS_CUT_ONE_SIDED_RECORD, MASS_CUT_RECORD, check_record_files,
                                    data_fingerprints, read_record, record_path, write_record)

# model configurations: name → (builder, kwargs). nanoPELICAN is the seed paper's model: no
# BatchNorm, exactly 10·C + 1 parameters (the N-scaled rows add their 8 exponents α), trained
# from a data-dependent start with relative steps (kerasjet.train), one start per seed: over five
# seeds on the parity files it reached 0.9675 ± 0.0009 where the 27-parameter BatchNorm model,
# the recipe of kerasjet 0.1's studies (results/study/detector, results/study/particle), reached
# 0.9621 ± 0.0112 (results/parity/parity_kerasjet_5_seeds.md).
NANO = dict(batchnorm=False)
TABLE1 = {
    "nanoPELICAN C=1": ("nanopelican", dict(c_hidden=1, **NANO)),
    "nanoPELICAN C=2": ("nanopelican", dict(c_hidden=2, **NANO)),
    "nanoPELICAN C=3": ("nanopelican", dict(c_hidden=3, **NANO)),
    "nanoPELICAN C=10": ("nanopelican", dict(c_hidden=10, **NANO)),
    "LorentzNet-3": ("lorentznet", dict(hidden=3)),
    "TopoDNN": ("topodnn", {}),
    # not in the paper: the seed lecture's hls4ml jet-tagger shape (16 → 64 → 32 → 32 → 1), the
    # dense model of the compression and firmware tables
    "hls4ml-style tagger": ("hls4ml_tagger", {}),
    # not in the paper: the firmware's constituent-level peers (benchmarks/firmware.py), here at N = 80
    "pT-sorted MLP": ("constituent_mlp", {}),
    "Deep Sets": ("deep_sets", {}),
}
TABLE2 = {f"nanoPELICAN C={c} N-scaled": ("nanopelican", dict(c_hidden=c, scaled=True, **NANO)) for c in (1, 2, 3, 10)}
# LorentzNet-3 trains as the best of Budget.starts starts: it can settle on no solution at all
# (its detector-level seed 2 of kerasjet 0.1's study, one start, stayed at AUC 0.5 for all 30
# epochs: its three decoder ReLUs closed). nanoPELICAN without BatchNorm trains once per seed, as
# the paper's; so do the dense peers (4k–59k parameters): none of their 20 detector-level seeds
# stuck (TopoDNN's five within 0.0016 in AUC).
MULTI_START_BUILDERS = ("lorentznet",)
STUDY_N = 80  # constituent slots of every study model, and of the mass cuts (the same N for both)

# Peak learning rates other than the seed paper's 5e-3 (kerasjet.train.RunConfig), per builder.
# LorentzNet-3: its authors train at 1e-3 with 128 jets per step (32 on each of 4 GPUs); at the
# study's 512 that is 2e-3 by the square-root rule for Adam. At 5e-3 the schedule's warm restarts
# kicked it off its solution (detector level: five of seven starts dead or collapsed, seed 1's
# every start among them); at 1e-3 it sat on the plateau for 8 of its 30 epochs and reached only
# validation loss 0.241 (0.199 at 5e-3). At 2e-3 seed 1 trained through every restart
# (README, study).
PEAK_LEARNING_RATES = {"lorentznet": 2e-3}


@dataclass(frozen=True)
class Budget:
    """How much of the paper's protocol fits: jets per file, epochs, seeds trained and kept, and
    the level of the generated jets ('detector' or 'particle', see kerasjet.data.generate).

    ``level`` defaults to 'particle', the level of the committed study's first tables;
    ``kerasjet study --level`` defaults to 'detector', the level of the shipped models
    (SHIPPED_LEVEL)."""

    train_jets: int
    val_jets: int
    test_jets: int
    epochs: int
    seeds: int
    keep_best: int
    tables: tuple = ("table1", "table2")
    level: str = "particle"
    # the jobs of MULTI_START_BUILDERS (LorentzNet-3) train the best of this many starts
    # (kerasjet.train.train_best_start)
    starts: int = 1


BUDGETS = {
    # Every budget on these files trains LorentzNet-3 as the best of 3 starts (a seed is rarely a
    # stuck one), and seed K of one budget is seed K of the others (same run folders).
    # Five seeds, best three kept (the paper keeps its best 5 of 25): 65 jobs; kerasjet 0.1's
    # study (BatchNorm nanoPELICANs as the best of 3 starts) took 14 h of training on 2 cores
    # (results/study/detector/wall_time.md). Run it in pieces (`kerasjet study` resumes, or
    # --job-index per job)
    "default": Budget(train_jets=100_000, val_jets=20_000, test_jets=50_000, epochs=30, seeds=5, keep_best=3, starts=3),
    # three seeds, best two kept: the smaller second set (the particle-level tables beside the
    # detector-level ones, to show the detector's effect)
    "three-seed": Budget(train_jets=100_000, val_jets=20_000, test_jets=50_000, epochs=30, seeds=3, keep_best=2, starts=3),
    # Tables 1 and 2 with one seed each: the float models that scripts/build_models.py ships
    # (about 3 h on 2 cores: 13 min of generation, the rest training)
    "single-seed": Budget(train_jets=100_000, val_jets=20_000, test_jets=50_000, epochs=30, seeds=1, keep_best=1, starts=3),
    # the paper's protocol (25 seeds, best 5, 140 epochs) for a cluster
    "paper": Budget(train_jets=1_200_000, val_jets=400_000, test_jets=400_000, epochs=140, seeds=25, keep_best=5),
    # seconds, for the tests
    "tiny": Budget(train_jets=300, val_jets=200, test_jets=300, epochs=1, seeds=2, keep_best=2, tables=("table1",)),
}


def configurations(budget):
    """{row name: (builder, kwargs)} of the budget's tables, in table order."""
    rows = {}
    if "table1" in budget.tables:
        rows.update(TABLE1)
    if "table2" in budget.tables:
        rows.update(TABLE2)
    return rows


def jobs(budget):
    """The independent training jobs: a list of (row name, seed)."""
    return [(name, seed) for name in configurations(budget) for seed in range(budget.seeds)]


# the names of the studies made on kerasjet 0.1's jets, before configurations were named
HISTORICAL_STUDY_NAMES = {"atlas-delphes-3.4": "detector", "particle": "particle"}


def study_name(level):
    """The name of the study at ``level`` on the generator's default configuration
    (kerasjet.data.settings.configuration_name): its results folder results/study/<name> and
    the suffix of its data files and run folders. kerasjet 0.1's configurations keep their
    historical names, 'detector' and 'particle'."""
    from kerasjet.data.settings import GeneratorSettings, configuration_name

    name = configuration_name(GeneratorSettings(level=level))
    return HISTORICAL_STUDY_NAMES.get(name, name)


def default_results_dir(level):
    """Where the study at ``level`` keeps its records and tables: results/study/<study_name>."""
    return os.path.join("results", "study", study_name(level))


def _level_suffix(level):
    """'' for the historical particle-level study (the committed study's names), '_<study name>'
    otherwise ('_detector' for the historical detector-level one)."""
    name = study_name(level)
    return "" if name == "particle" else f"_{name}"


def data_files(study_dir, budget):
    """Paths of the train/val/test files, named by their size and study (``_detector``, or the
    configuration's name; the historical particle level keeps the committed study's names):
    shared by budgets of equal size and level."""
    data = os.path.join(study_dir, "data")
    suffix = _level_suffix(budget.level)
    return {split: os.path.join(data, f"{split}_{n}{suffix}.h5") for split, n in
            (("train", budget.train_jets), ("val", budget.val_jets), ("test", budget.test_jets))}


DATA_SEEDS = {"train": 1, "val": 2, "test": 3}

# the level of the float models that scripts/build_models.py ships in models/ and that the
# benchmarks (compression, hls, firmware) and `make demo` start from: the detector-level
# single-seed study
SHIPPED_LEVEL = "detector"


def shipped_settings():
    """The GeneratorSettings of the jets the shipped models were trained on: the default
    detector-level jets (kerasjet.data.settings.GeneratorSettings(): the calibrated default
    detector, multi-parton interactions on, W-matched tops), the single-seed study's."""
    from kerasjet.data.settings import GeneratorSettings

    return GeneratorSettings(level=SHIPPED_LEVEL)


MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
# the firmware's N: the shipped C = 2 and C = 3 models there start from a float model of their own
FIRMWARE_N = (8, 16, 32)
# the widths whose shipped float models at the firmware's N are trained at that N (scripts/build_models.py)
FIRMWARE_FLOAT_N = {2: FIRMWARE_N, 3: FIRMWARE_N}


def shipped_float(n=80, c_hidden=2):
    """The shipped float nanoPELICAN with ``c_hidden`` hidden channels at N = ``n`` slots
    (scripts/build_models.py): at N = 80 models/nanopelican_c2.keras (the study's C = 2, and `make
    demo`'s); at the firmware's N (FIRMWARE_FLOAT_N) models/nanopelican_c<C>_n<n>.keras, which the
    shipped models of that width there start from."""
    if (c_hidden, n) == (2, 80):
        return os.path.join(MODELS_DIR, "nanopelican_c2.keras")
    if n not in FIRMWARE_FLOAT_N.get(c_hidden, ()):
        raise KerasjetError(f"no shipped float nanoPELICAN C={c_hidden} at N={n} (there are: C=2 at N=80, and {FIRMWARE_FLOAT_N})")
    return os.path.join(MODELS_DIR, f"nanopelican_c{c_hidden}_n{n}.keras")


def shipped_trained_n(n, c_hidden=2):
    """The N that shipped_float(n, c_hidden) was trained at. C = 2: 80 when it holds the N = 80
    model's weights (nanoPELICAN's weights do not depend on N; build_models ships the one that
    validates higher), else ``n``. C = 3: always ``n`` (build_models trains it there)."""
    import numpy as np

    from kerasjet.models import load_model

    if c_hidden != 2:
        return n
    weights, n80 = load_model(shipped_float(n)).get_weights(), load_model(shipped_float()).get_weights()
    same = len(weights) == len(n80) and all(np.array_equal(a, b) for a, b in zip(weights, n80))
    return 80 if same else n


def shipped_files(study_dir, level=SHIPPED_LEVEL):
    """The single-seed study's train/val/test paths at ``level`` (the shipped models' by default)."""
    return data_files(study_dir, replace(BUDGETS["single-seed"], level=level))


def existing_shipped_files(study_dir, level=SHIPPED_LEVEL, splits=("train", "val", "test")):
    """shipped_files, after checking that the ``splits`` needed exist (KerasjetError naming the
    missing file and the command that writes it)."""
    files = shipped_files(study_dir, level)
    for split in splits:
        if not os.path.exists(files[split]):
            raise KerasjetError(f"{files[split]}: no such file ({split} jets; kerasjet study --budget single-seed --level {level} "
                                f"--dir {study_dir} --prepare-only writes it)")
    return files


def prepare_data(study_dir, budget, workers):
    """Generate the three files if missing (seeds 1, 2, 3); validate those already there."""
    from kerasjet.data.generate import GeneratorSettings, generate
    from kerasjet.data.io import check_jet_file, read_attributes
    from kerasjet.data.settings import configuration_name, file_configuration

    settings = GeneratorSettings(level=budget.level)
    for split, path in data_files(study_dir, budget).items():
        n = getattr(budget, f"{split}_jets")
        if not os.path.exists(path):
            print(f"generating {split}: {n} {budget.level}-level jets ({configuration_name(settings)}) → {path}")
            generate(path, n, DATA_SEEDS[split], settings, workers=workers)
        elif (found := check_jet_file(path, both_classes=True)) != n:
            raise KerasjetError(f"{path}: holds {found} jets, the budget needs {n}; remove it to regenerate")
        elif (level := read_attributes(path).get("generator_level", "particle")) != budget.level:
            raise KerasjetError(f"{path}: holds {level}-level jets, the study runs at {budget.level} level; remove it to regenerate")
        elif (found := file_configuration(path)) != configuration_name(settings):
            raise KerasjetError(f"{path}: attribute 'configuration' is {found}, the study runs on {configuration_name(settings)} "
                                "jets (configurations are never mixed); remove it to regenerate")


def _slug(name):
    """A row name as a folder name: 'nanoPELICAN C=2' → 'nanopelican_c2'."""
    return name.lower().replace(" ", "_").replace("=", "").replace("-", "_")


def run_dir(study_dir, name, seed, level="particle"):
    """Run folder of one job: ``runs/`` at particle level (the committed study's), ``runs_<level>/``
    otherwise, so that models trained on one level are never taken for the other's."""
    return os.path.join(study_dir, f"runs{_level_suffix(level)}", _slug(name), f"seed_{seed}")


def job_record_path(results_dir, name, seed):
    """The committed record of one job (kerasjet.study_records): <results>/jobs/<row>_seed_<K>.json."""
    return record_path(results_dir, f"{_slug(name)}_seed_{seed}")


def single_seed_model(study_dir, level, name, builder, model_kwargs):
    """best.keras of a float model outside the tables, trained (once; resumed if interrupted) as
    the single-seed study trains its jobs: its files at ``level``, its epochs, seed 0; run folder
    run_dir(study_dir, name, 0, level). For the firmware's models at their own N."""
    from kerasjet.train import RunConfig, train

    files = shipped_files(study_dir, level)
    folder = run_dir(study_dir, name, 0, level)
    config = RunConfig(model=builder, model_kwargs=model_kwargs, train=files["train"], val=files["val"],
                       epochs=BUDGETS["single-seed"].epochs, seed=0)
    if os.path.exists(os.path.join(folder, "summary.json")):  # a finished run: its recipe checked, no data validation again
        _check_job_recipe(folder, config)
    else:
        train(folder, config, verbose=2)
    return os.path.join(folder, "best.keras")


# the firmware's constituent-level peers: builder → label (run folders runs_<level>/<label>_n<N>/)
PEERS = {"constituent_mlp": "pT-sorted MLP", "deep_sets": "Deep Sets"}


def peer_float_model(study_dir, level, n, builder="constituent_mlp"):
    """A constituent-level peer of the firmware (PEERS), float, trained at N = ``n``."""
    return single_seed_model(study_dir, level, f"{PEERS[builder]} N={n}", builder, {"n_constituents": n})


def nanopelican_float_model_at(study_dir, level, n, c_hidden=2):
    """A float nanoPELICAN with ``c_hidden`` hidden channels trained at the firmware's N = ``n``
    as the study's (the paper's model, one start); run folder runs_<level>/nanopelican_c<C>_n<N>/."""
    return single_seed_model(study_dir, level, f"nanoPELICAN C={c_hidden} N={n}", "nanopelican",
                             {"c_hidden": c_hidden, "n_constituents": n, **NANO})


def job_config(study_dir, budget, name, seed):
    """The RunConfig of the study's job (row ``name``, ``seed``): every row at N = 80 with the
    budget's epochs, LorentzNet-3 as a multi-start, each builder at its peak learning rate."""
    from kerasjet.train import RunConfig

    builder, kwargs = configurations(budget)[name]
    files = data_files(study_dir, budget)
    return RunConfig(model=builder, model_kwargs={**kwargs, "n_constituents": STUDY_N}, train=files["train"], val=files["val"],
                     epochs=budget.epochs, seed=seed, starts=budget.starts if builder in MULTI_START_BUILDERS else 1,
                     learning_rate=PEAK_LEARNING_RATES.get(builder, RunConfig.learning_rate))


def run_job(study_dir, budget, index, results_dir=None, verbose=2):
    """Train job ``index`` of the list (resumes if interrupted); returns its summary.

    With ``results_dir`` the job's record (and the mass cut's) is written there once it has
    trained, and a job whose record exists is not trained again (its record's summary returned)."""
    from kerasjet.train import train

    job_list = jobs(budget)
    if not 0 <= index < len(job_list):
        raise KerasjetError(f"--job-index must lie in [0, {len(job_list)}) (got {index})")
    name, seed = job_list[index]
    files = data_files(study_dir, budget)
    config = job_config(study_dir, budget, name, seed)
    folder = run_dir(study_dir, name, seed, budget.level)
    if results_dir is None:
        return train(folder, config, verbose=verbose)
    fingerprints = data_fingerprints(files)
    mass_cut_records(files, results_dir, fingerprints)
    path = job_record_path(results_dir, name, seed)
    record = _checked_record(path, fingerprints, budget, name, seed)
    if record is None:
        summary = train(folder, config, verbose=verbose)
        record = _record_run(path, name, summary, files["test"], fingerprints)
    return record["summary"]


def _record_run(path, name, summary, test_file, fingerprints):
    """Evaluate a finished run's best.keras on the test file and write its record."""
    from kerasjet.evaluate import evaluate

    metrics, labels, scores = evaluate(os.path.join(summary["run_dir"], "best.keras"), test_file)
    return write_record(path, name, summary, metrics, labels, scores, fingerprints)


def _checked_record(path, fingerprints, budget, name, seed):
    """read_record of job (``name``, ``seed``), refusing a record trained for another number of
    epochs than the budget's."""
    record = read_record(path, fingerprints, name, seed)
    if record is not None:
        _check_epochs(path, record["summary"], budget)
    return record


def _check_epochs(path, summary, budget):
    if summary.get("epochs") != budget.epochs:
        raise KerasjetError(f"{path}: summary.epochs is {summary.get('epochs')}, the budget trains {budget.epochs}; "
                            "it belongs to another budget (remove it to redo the job)")


# the mass cut's two jobs: job → (kerasjet.models.masscut score, record name)
MASS_CUTS = {MASS_CUT_JOB: ("window", MASS_CUT_RECORD), MASS_CUT_ONE_SIDED_JOB: ("mass", MASS_CUT_ONE_SIDED_RECORD)}


def mass_cut_record(files, results_dir, fingerprints, job=MASS_CUT_JOB):
    """A mass cut's record (evaluated on the test file once): ``job`` MASS_CUT_JOB, the window
    score −|m − 173 GeV| that every study's records hold, or MASS_CUT_ONE_SIDED_JOB, the jet mass
    itself (the seed paper's), which studies collected since 7 December 2026 hold too. Both take the
    jet mass of the STUDY_N leading constituents, as every model of the study sees the jets
    (kerasjet 0.1's studies' records: of every stored constituent)."""
    from kerasjet.evaluate import MASS_CUT, evaluate

    score, name = MASS_CUTS[job]
    path = record_path(results_dir, name)
    record = read_record(path, fingerprints, job)
    if record is None:
        metrics, labels, scores = evaluate(MASS_CUT, files["test"], mass_score=score, n_constituents=STUDY_N)
        record = write_record(path, job, None, metrics, labels, scores, fingerprints)
    return record


def mass_cut_records(files, results_dir, fingerprints):
    """{job: record} of the mass cuts: the window always; the one-sided cut where its record or the
    test file exists (kerasjet 0.1's studies, collected from their records alone, have none)."""
    records = {MASS_CUT_JOB: mass_cut_record(files, results_dir, fingerprints)}
    if os.path.exists(files["test"]) or os.path.exists(record_path(results_dir, MASS_CUT_ONE_SIDED_RECORD)):
        records[MASS_CUT_ONE_SIDED_JOB] = mass_cut_record(files, results_dir, fingerprints, MASS_CUT_ONE_SIDED_JOB)
    return records


def _limit_threads(threads):
    """Pool initializer: TensorFlow threads of this worker (read when TensorFlow starts)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)


def _job_in_subprocess(args):
    import kerasjet  # noqa: F401  (allocator setting before TensorFlow)

    return run_job(*args, verbose=0)


def run_all(study_dir, budget, results_dir, workers=1):
    """Every job (records into ``results_dir``), ``workers`` at a time in separate processes
    (TensorFlow threads split evenly)."""
    indices = range(len(jobs(budget)))
    if workers == 1:
        return [run_job(study_dir, budget, i, results_dir) for i in indices]
    # spawned, not forked: a forked child of a process that already runs TensorFlow deadlocks
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_limit_threads, initargs=(threads,)) as pool:
        return list(pool.map(_job_in_subprocess, [(study_dir, budget, i, results_dir) for i in indices]))


def _study_fingerprints(files, results_dir, budget):
    """The fingerprints of the study's files: computed when the files exist, else those of the
    mass cut's record in ``results_dir`` (a study collected from its committed records alone),
    after checking that it names this budget's files and sizes."""
    from kerasjet.data.io import check_jet_file

    if os.path.exists(files["test"]):
        check_jet_file(files["test"], both_classes=True)  # a bad test file is named before anything else
    if all(os.path.exists(path) for path in files.values()):
        return data_fingerprints(files)
    path = record_path(results_dir, MASS_CUT_RECORD)
    record = read_record(path, None, MASS_CUT_JOB)
    if record is None:
        absent = next(p for p in files.values() if not os.path.exists(p))
        raise KerasjetError(f"{absent}: no such file, and no record {path} to take the jets' fingerprints from; "
                            "run the study first")
    for split, data in record["data"].items():
        expected = (os.path.basename(files[split]), getattr(budget, f"{split}_jets"))
        if (data["file"], data["jets"]) != expected:
            raise KerasjetError(f"{path}: data.{split} is {data['file']} with {data['jets']} jets, but this study's {split} file "
                                f"is {expected[0]} with {expected[1]}; the records belong to another study or level")
    return record["data"]


def _job_record(study_dir, budget, name, seed, results_dir, fingerprints):
    """A job's record; written first from its finished run when there is none yet (a study
    trained before records existed); None when the job has neither."""
    path = job_record_path(results_dir, name, seed)
    record = _checked_record(path, fingerprints, budget, name, seed)
    summary_path = os.path.join(run_dir(study_dir, name, seed, budget.level), "summary.json")
    if record is None and os.path.exists(summary_path):
        try:
            with open(summary_path) as f:
                summary = json.load(f)
        except (OSError, ValueError) as error:
            raise KerasjetError(f"{summary_path}: not readable ({error}); remove the run to redo it") from None
        lacking = [key for key in ("run_dir", "best_val_loss", "seed") if not isinstance(summary, dict) or key not in summary]
        if lacking:
            raise KerasjetError(f"{summary_path}: {', '.join(lacking)} missing; not a finished run's summary (remove the run to redo it)")
        _check_epochs(summary_path, summary, budget)
        _check_job_recipe(os.path.dirname(summary_path), job_config(study_dir, budget, name, seed))
        record = _record_run(path, name, summary, data_files(study_dir, budget)["test"], fingerprints)
    return record


def _check_job_recipe(folder, config):
    """Refuse to record a finished run trained with another recipe than its job's (its
    config.json: learning rate, starts, model, ...; the data files compared by name)."""
    from kerasjet.train import config_difference

    path = os.path.join(folder, "config.json")
    key = config_difference(path, config, same_file_names=True) if os.path.exists(path) else None
    if key is not None:
        raise KerasjetError(f"{path}: '{key}' differs from the study's recipe for this job; the run belongs to another "
                            "recipe (move it away to retrain the job)")


STUDY_OUTPUTS = ("study.json", "tables.md", "roc.png", "claims.md", "figure1.png")


INTERIM = "interim"  # the subfolder of an interim collect, removed by the complete one


def collect(study_dir, budget, results_dir, budget_name, interim=False):
    """The tables, JSON and plots of the kept seeds, from the job records in results_dir/jobs
    (runs finished without a record get one first); needs no data when every record exists.

    With ``interim`` a study still under way is collected over the models whose every seed has a
    record, into results_dir/interim (the unfinished models named in every file's caption); once
    every job has finished it is the complete collect, which removes that folder."""
    from kerasjet.evaluate import aggregate
    from kerasjet.metrics import format_table, plot_roc_points
    from kerasjet.train import select_best

    files = data_files(study_dir, budget)
    check_record_files(os.path.join(results_dir, "jobs"))  # every record's shape and numbers, before anything else
    fingerprints = _study_fingerprints(files, results_dir, budget)  # checks the data before any output
    records, missing = {}, []
    for index, (name, seed) in enumerate(jobs(budget)):
        record = _job_record(study_dir, budget, name, seed, results_dir, fingerprints)
        if record is None:
            missing.append(f"{index} ({name}, seed {seed})")
        records.setdefault(name, []).append(record)
    unfinished = {name: sum(r is not None for r in job_records) for name, job_records in records.items() if None in job_records}
    if missing and not interim:
        raise KerasjetError(f"{os.path.join(results_dir, 'jobs')}: {len(missing)} of {len(jobs(budget))} jobs have not finished "
                            f"(job index: {', '.join(missing[:6])}{', …' if len(missing) > 6 else ''}); run them first "
                            "(kerasjet study, or --job-index), or collect what has finished with --interim")
    if interim and len(unfinished) == len(records):
        raise KerasjetError(f"{os.path.join(results_dir, 'jobs')}: no model has a record for every seed yet; nothing to collect")
    interim = interim and bool(unfinished)  # every job finished: the complete tables
    masses = mass_cut_records(files, results_dir, fingerprints)
    rows = {job: {"metrics": record["test"], "seeds": []} for job, record in masses.items()}
    curves = [_roc_curve(job, record) for job, record in masses.items()]
    for name, job_records in records.items():
        if name in unfinished:
            continue
        kept = select_best(job_records, budget.keep_best, key=lambda r: r["summary"]["best_val_loss"])
        evaluated = [r["test"] for r in kept]  # best first
        curves.append(_roc_curve(name, kept[0]))  # the ROC of the best seed's model
        rows[name] = {"metrics": aggregate(evaluated) if len(evaluated) > 1 else evaluated[0],
                      "seeds": [r["summary"]["seed"] for r in kept], "per_seed": evaluated}
    from kerasjet.data.settings import GeneratorSettings, configuration_name

    provenance = {
        "budget": budget_name, **asdict(budget), "data_files": files, "data_seeds": DATA_SEEDS, "data": fingerprints,
        "configuration": configuration_name(GeneratorSettings(level=budget.level)),  # prepare_data refuses any other
        "note": f"mean ± std over the kept seeds (lowest validation loss); the mass cut needs no training and takes the "
                f"jet mass of the {STUDY_N} leading constituents, as the models see the jets",
    }
    superseded = os.path.join(results_dir, INTERIM)
    if interim:
        provenance["unfinished"] = {name: f"{done} of {budget.seeds} seeds" for name, done in unfinished.items()}
        results_dir = superseded
    for name in STUDY_OUTPUTS:  # nothing stale beside the new files if a later step fails
        if os.path.exists(os.path.join(results_dir, name)):
            os.remove(os.path.join(results_dir, name))
    write_json({"provenance": provenance, "rows": rows}, os.path.join(results_dir, "study.json"))
    caption = _caption(provenance)
    tables = []
    for table, names in (("table1", TABLE1), ("table2", TABLE2)):
        if table in budget.tables and any(n in rows for n in names):  # (an interim collect may have none yet)
            listed = [(_mass_cut_label(job, rows), rows[job]["metrics"]) for job in (MASS_CUT_ONE_SIDED_JOB, MASS_CUT_JOB)
                      if job in rows and table == "table1"]
            listed += [(n, rows[n]["metrics"]) for n in names if n in rows]
            paper = dict(reference=PAPER_TABLE1, reference_name=PAPER_NAME) if table == "table1" else {}
            tables.append(format_table(listed, title=f"{'Table 1' if table == 'table1' else 'Table 2'}: {caption}", **paper))
    write_text("\n\n".join(tables) + "\n", os.path.join(results_dir, "tables.md"))
    plot_roc_points(curves, os.path.join(results_dir, "roc.png"),
                    title=f"{'INTERIM (study under way): ' if interim else ''}{budget.test_jets} generated {budget.level}-level "
                          "test jets (best kept seed of each model)")
    write_judgement(rows, results_dir, caption)
    if not interim and os.path.isdir(superseded):  # the complete tables are written: the interim ones go
        shutil.rmtree(superseded)
    return rows


def _mass_cut_label(job, rows):
    """A mass cut's row label in Table 1: the window's says so beside the one-sided cut."""
    if job == MASS_CUT_ONE_SIDED_JOB:
        return "Jet mass cut, one-sided (the paper's)"
    return "Jet mass cut, window (−|m − 173 GeV|)" if MASS_CUT_ONE_SIDED_JOB in rows else job


def _roc_curve(name, record):
    """(name, εS, 1/εB, AUC) of a record's stored ROC, for plot_roc_points."""
    roc = record["roc"]
    return name, roc["signal_efficiency"], roc["background_rejection"], record["test"]["auc"]


def _caption(provenance):
    jets = f"{provenance['level']}-level test jets" + (f" ({provenance['configuration']})" if provenance.get("configuration") else "")
    caption = (f"{provenance['test_jets']} {jets}; trained on {provenance['train_jets']} jets for "
               f"{provenance['epochs']} epochs; best {provenance['keep_best']} of {provenance['seeds']} seeds by validation loss")
    unfinished = provenance.get("unfinished")
    if unfinished:
        caption = (f"INTERIM, the study is under way: {caption}; not yet in the tables (seeds with a record): "
                   + ", ".join(f"{name} ({seeds})" for name, seeds in unfinished.items()))
    return caption


def write_judgement(rows, results_dir, caption):
    """claims.md (check_claims) and figure1.png of a study's rows."""
    write_text(format_claims(check_claims(rows), caption), os.path.join(results_dir, "claims.md"))
    plot_figure1(rows, os.path.join(results_dir, "figure1.png"), caption)


def judge(results_dir):
    """Rewrite claims.md and figure1.png from results_dir/study.json alone (no models or data
    needed): for a study collected before the current judging rule."""
    from kerasjet.study_records import read_study

    path = os.path.join(results_dir, "study.json")
    if not os.path.exists(path):
        raise KerasjetError(f"{path}: no such file; collect the study first (kerasjet study --collect)")
    study = read_study(path)  # shape and every number checked before claims.md or figure1.png is touched
    rows, caption = study["rows"], _caption(study["provenance"])
    write_judgement(rows, results_dir, caption)
    return rows


def _mean_std(metrics, key):
    """(mean, std over the kept seeds) of one metric; std is None for a single trained seed and 0
    for the mass cut (no training, nothing to vary)."""
    value = metrics[key]
    if isinstance(value, (tuple, list)):
        return value[0], value[1]
    return value, (0.0 if not metrics.get("parameters") else None)


def compare(rows, a, b):
    """Whether row ``a`` beats row ``b``, per metric (AUC, 1/εB at εS = 0.3): 'yes' when a's mean
    exceeds b's by more than the combined spread sqrt(std_a² + std_b²), 'no' when it falls short by
    more, 'unresolved' otherwise or when a trained row has one seed (no spread); None when a row is
    missing."""
    if a not in rows or b not in rows:
        return None
    outcomes = []
    for key in ("auc", "rejection_at_0.3"):
        (mean_a, std_a), (mean_b, std_b) = _mean_std(rows[a]["metrics"], key), _mean_std(rows[b]["metrics"], key)
        if std_a is None or std_b is None:
            outcomes.append("unresolved")
            continue
        spread = (std_a ** 2 + std_b ** 2) ** 0.5
        difference = mean_a - mean_b
        outcomes.append("yes" if difference > spread else ("no" if difference < -spread else "unresolved"))
    return outcomes


def difference(rows, a, b):
    """Row ``a`` minus row ``b`` for AUC and 1/εB at εS = 0.3, as text: 'Δ AUC +0.0040 ± 0.0015,
    Δ 1/εB +30 ± 12' (± the combined spread of compare; none when a trained row has one seed)."""
    parts = []
    for key, label, digits in (("auc", "AUC", 4), ("rejection_at_0.3", "1/εB", 0)):
        (mean_a, std_a), (mean_b, std_b) = _mean_std(rows[a]["metrics"], key), _mean_std(rows[b]["metrics"], key)
        spread = "" if std_a is None or std_b is None else f" ± {(std_a ** 2 + std_b ** 2) ** 0.5:.{digits}f}"
        parts.append(f"Δ {label} {mean_a - mean_b:+.{digits}f}{spread}")
    return ", ".join(parts)


NOT_RESOLVED = "not resolved at this budget"
VERDICTS = ("reproduced", "partly", "not reproduced", NOT_RESOLVED, "not run")


def _verdict(comparisons):
    """One verdict (VERDICTS) from the per-metric outcomes of compare(); 'not run' when a row the
    claim needs is missing (an interim collect), so that no claim is judged on part of its rows."""
    if any(c is None for c in comparisons):
        return "not run"
    flat = [x for c in comparisons for x in c]
    if all(x == "yes" for x in flat):
        return "reproduced"
    if "yes" in flat:
        return "partly"
    return "not reproduced" if "no" in flat else NOT_RESOLVED


def check_claims(rows):
    """The seed paper's qualitative claims, each judged on our rows with their seed-to-seed spread:
    a list of (claim, verdict, evidence), verdict one of VERDICTS. A comparison counts only when the
    difference exceeds the combined spread of the two rows (compare)."""

    def numbers(*names):
        def cell(name, key, digits):
            mean, std = _mean_std(rows[name]["metrics"], key)
            return f"{mean:.{digits}f}" + ("" if not std else f" ± {std:.{digits}f}")

        return "; ".join(f"{n}: AUC {cell(n, 'auc', 4)}, 1/εB {cell(n, 'rejection_at_0.3', 0)}" for n in names if n in rows)

    def pair(claim, a, b):
        """A claim that row a beats row b: its verdict, the two rows and their difference."""
        present = a in rows and b in rows
        return claim, _verdict([compare(rows, a, b)]), numbers(a, b) + (f"; {a} − {b}: {difference(rows, a, b)}" if present else "")

    claims = [pair("nanoPELICAN C=2 beats the jet-mass cut", "nanoPELICAN C=2", "Jet mass cut"),
              pair("nanoPELICAN C=2 beats LorentzNet-3, a network of similar size", "nanoPELICAN C=2", "LorentzNet-3"),
              pair("nanoPELICAN C=2, with a few dozen parameters, outperforms the 59k-parameter TopoDNN", "nanoPELICAN C=2", "TopoDNN")]
    ordering = [("nanoPELICAN C=10", "nanoPELICAN C=3"), ("nanoPELICAN C=3", "nanoPELICAN C=2"), ("nanoPELICAN C=2", "nanoPELICAN C=1")]
    claims.append(("more hidden channels tag better: C = 10 > C = 3 > C = 2 > C = 1", _verdict([compare(rows, *p) for p in ordering]),
                   numbers("nanoPELICAN C=10", "nanoPELICAN C=3", "nanoPELICAN C=2", "nanoPELICAN C=1")))
    claims.append(pair("a nanoPELICAN with ≤ 101 parameters outperforms the 59k-parameter TopoDNN", "nanoPELICAN C=10", "TopoDNN"))
    claims.append(pair("even the smallest, nanoPELICAN C=1, outperforms the 59k-parameter TopoDNN", "nanoPELICAN C=1", "TopoDNN"))
    claims.append(pair("nanoPELICAN C=2 beats the 4k-parameter hls4ml-style dense tagger (not the paper's: the firmware's dense peer)",
                       "nanoPELICAN C=2", "hls4ml-style tagger"))
    scaled = [(f"nanoPELICAN C={c} N-scaled", f"nanoPELICAN C={c}") for c in (1, 2, 3, 10)]
    if any(a in rows for a, _ in scaled):
        claims.append(("N-scaling the aggregators (Table 2) improves on the unscaled models", _verdict([compare(rows, *p) for p in scaled]),
                       numbers(*[n for p in scaled for n in p])))
    return claims


def format_claims(claims, caption):
    lines = [f"**Claims of the seed paper, judged on {caption}**", "",
             "A comparison counts when the difference of the means exceeds the combined seed-to-seed spread "
             "sqrt(std_a² + std_b²), for AUC and for 1/εB at εS = 0.3; a row with one kept seed has no spread, so "
             f"its comparisons are {NOT_RESOLVED}.", "",
             "| Claim of the seed paper | Verdict | Numbers (test set, mean ± std over the kept seeds) |", "|---|---|---|"]
    lines += [f"| {claim} | **{verdict}** | {evidence} |" for claim, verdict, evidence in claims]
    return "\n".join(lines) + "\n"


# the seed paper's numbers on the detector-level reference dataset (docs/design.md), the rows of
# its Table 1 that kerasjet records, printed beside Table 1 and drawn in Figure 1: the generated
# jets are calibrated toward that dataset (results/detector/regime.md) but are not it
PAPER_TABLE1 = {
    "Jet mass cut, one-sided (the paper's)": {"auc": 0.906, "parameters": 0},
    "nanoPELICAN C=2": {"accuracy": 0.918, "auc": 0.9718, "rejection_at_0.3": 243, "parameters": 21},
    "nanoPELICAN C=10": {"auc": 0.9748, "rejection_at_0.3": 327, "parameters": 101},
}
PAPER_NAME = "seed paper (reference dataset)"
PAPER_POINTS = {f"paper {name.split()[-1]}": (m["parameters"], m["rejection_at_0.3"])
                for name, m in PAPER_TABLE1.items() if "rejection_at_0.3" in m}


# one colour and marker per family (Figure 1): (name prefix, label, colour, marker); the first
# matching prefix wins, so the N-scaled nanoPELICANs come before the unscaled ones
FAMILIES = (
    ("nanoPELICAN C=", "N-scaled", "nanoPELICAN, N-scaled (Table 2)", "tab:green", "D"),
    ("nanoPELICAN C=", "", "nanoPELICAN (Table 1)", "tab:blue", "o"),
    ("LorentzNet", "", "LorentzNet", "tab:purple", "v"),
    ("TopoDNN", "", "TopoDNN", "tab:red", "s"),
    ("hls4ml-style tagger", "", "hls4ml-style tagger", "tab:orange", "^"),
    ("pT-sorted MLP", "", "pT-sorted MLP", "tab:brown", "P"),
    ("Deep Sets", "", "Deep Sets", "tab:pink", "X"),
)


def family_style(name):
    """(family label, colour, marker) of a study row, or None for a row without a family."""
    for prefix, must_contain, label, colour, marker in FAMILIES:
        if name.startswith(prefix) and must_contain in name:
            return label, colour, marker
    return None


def plot_figure1(rows, out, caption):
    """1/εB at εS = 0.3 against the number of parameters (log x), the seed paper's Figure 1 view:
    mean ± std over the kept seeds, one colour and marker per family (FAMILIES), the mass cut as a
    line, the paper's values (another dataset) as separately labelled open stars; the legend sits
    below the axes so that it hides no point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5.6))
    labelled = set()
    for name, row in rows.items():
        m = row["metrics"]
        mean, std = _mean_std(m, "rejection_at_0.3")
        style = family_style(name)
        if not m.get("parameters") or style is None:
            ax.axhline(mean, color="grey", ls="--", lw=1, label=f"{name} (no trained parameters)")
            continue
        label, colour, marker = style
        ax.errorbar(m["parameters"], mean, yerr=std or 0, fmt=marker, color=colour, ms=6, capsize=3,
                    label=None if label in labelled else label)
        labelled.add(label)
        # Table 2's labels centred above their error bars, every other label right of and below its point:
        # the C = 10 pair (123 and 131 parameters) and the neighbouring N-scaled points keep apart, and
        # the white box keeps a label legible where it crosses the mass-cut line
        above = "N-scaled" in name
        ax.annotate(name.replace("nanoPELICAN ", "").replace(" N-scaled", ""),
                    (m["parameters"], mean + (std or 0) if above else mean), textcoords="offset points",
                    xytext=(0, 4) if above else (5, -9), ha="center" if above else "left", fontsize=6,
                    color=colour, bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.8))
    for name, (params, rejection) in PAPER_POINTS.items():
        ax.scatter(params, rejection, marker="*", s=130, facecolors="none", edgecolors="black", zorder=5)
        # labelled left of the star: right of it lie the N-scaled nanoPELICANs (35–47 parameters)
        ax.annotate(name, (params, rejection), textcoords="offset points", xytext=(-7, -3), ha="right", fontsize=7)
    ax.scatter([], [], marker="*", s=130, facecolors="none", edgecolors="black", label="seed paper, reference dataset (not comparable)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("1/εB at εS = 0.3 (mean ± std over the kept seeds)")
    ax.set_title(textwrap.fill(caption, 110), fontsize=7)  # an interim caption runs to several lines
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.tight_layout()
    save_figure(fig, out, dpi=130)
    plt.close(fig)
