"""Wall time of the study's training jobs, read back from their records or TensorBoard logs.

    python benchmarks/study_time.py [--dir data/study] [--results DIR] [--budget default] [--level detector] [--out FILE]

A job's time is the ``training_seconds`` of its record (results/study/<level>/jobs, written by
kerasjet.study_records from the run's TensorBoard logs: the sum of its epochs' times, its starts
and resumed pieces included, an epoch of a job paused with SIGSTOP while the tests ran counted as
the median epoch). A record written before records held it is timed from its finished run in
``--dir`` the same way, when that run is still on the machine and its config.json is its job's
recipe; otherwise the job is not timed. Jobs that shared the machine with another run count the
longer time they took; the test-file evaluation of the record is not counted. Prints, per row of
the tables, the timed seeds and the hours per seed (mean, min–max) and in all, then the study's
total; ``--out`` writes the same to a Markdown file (results/study/<level>/wall_time.md).
"""

import argparse
import os
from dataclasses import replace

from kerasjet.errors import KerasjetError, run_script
from kerasjet.files import write_text
from kerasjet.study import BUDGETS, job_config, job_record_path, jobs, run_dir
from kerasjet.study_records import read_record, training_seconds
from kerasjet.train import config_difference


def job_hours(study_dir, results_dir, budget):
    """{row name: [hours of each timed seed]} for the budget's jobs (see the module docstring)."""
    hours = {}
    for name, seed in jobs(budget):
        record = read_record(job_record_path(results_dir, name, seed), None, name, seed)
        seconds = record.get("training_seconds") if record else None
        if seconds is None:
            seconds = _run_seconds(study_dir, budget, name, seed)
        if seconds is not None:
            hours.setdefault(name, []).append(seconds / 3600)
    return hours


def _run_seconds(study_dir, budget, name, seed):
    """training_seconds of the job's finished run in ``study_dir`` (None: no such run of its recipe)."""
    folder = run_dir(study_dir, name, seed, budget.level)
    if not os.path.exists(os.path.join(folder, "summary.json")):
        return None
    if config_difference(os.path.join(folder, "config.json"), job_config(study_dir, budget, name, seed),
                         same_file_names=True) is not None:
        return None
    return training_seconds(folder)


def markdown(hours, budget, name):
    """The table of ``hours`` (job_hours) and a line with the total, as Markdown."""
    lines = ["| model | timed seeds | hours per seed (mean, min–max) | hours |", "|---|---|---|---|"]
    for row, values in hours.items():
        lines.append(f"| {row} | {len(values)} of {budget.seeds} | {sum(values) / len(values):.2f} "
                     f"({min(values):.2f}–{max(values):.2f}) | {sum(values):.1f} |")
    total = sum(map(sum, hours.values()))
    timed = sum(map(len, hours.values()))
    lines += ["", f"{timed} of {len(jobs(budget))} jobs timed, {total:.1f} h of training on this machine "
              f"({budget.level} level, '{name}' budget: {budget.train_jets:,} training jets, {budget.epochs} epochs, "
              f"{budget.seeds} seeds; benchmarks/study_time.py)"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="data/study", help="the study folder (kerasjet study --dir)")
    parser.add_argument("--results", help="the job records' folder (default results/study/<level>)")
    parser.add_argument("--budget", default="default", choices=sorted(BUDGETS))
    parser.add_argument("--level", default="detector", choices=("detector", "particle"))
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    budget = replace(BUDGETS[args.budget], level=args.level)
    results = args.results or os.path.join("results", "study", args.level)
    hours = job_hours(args.dir, results, budget)
    if not hours:
        raise KerasjetError(f"{results}/jobs, {args.dir}: no timed {args.level}-level job of the '{args.budget}' budget")
    text = markdown(hours, budget, args.budget)
    print(text, end="")
    if args.out:
        write_text(text, args.out)


if __name__ == "__main__":
    run_script(main)
