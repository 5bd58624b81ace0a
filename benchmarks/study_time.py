"""Wall time of the study's training jobs, read back from their TensorBoard logs.

    python benchmarks/study_time.py [--dir data/study] [--budget default] [--level detector] [--out FILE]

A job's time is the sum of its epochs' times, read from the TensorBoard event files it wrote
(one per process that trained it, its starts included; kerasjet.train logs to
<run>/tensorboard/train/): each epoch's summary time less the previous one's, the first epoch of
a file from the file's creation. Time between interrupted pieces of a resumed job is not counted,
nor the test-file evaluation of the record. An epoch that took over PAUSE_FACTOR times the job's
median epoch (a job paused with SIGSTOP while the tests ran) counts as the median. Jobs that
shared the machine with another run count the longer time they took. Runs of another recipe
than their job's are left out. Prints, per row of the tables, the finished seeds and the hours
per seed (mean, min–max) and in all, then the study's total; ``--out`` writes the same to a
Markdown file (results/study/<level>/wall_time.md).
"""

import argparse
import glob
import os
from dataclasses import replace

import numpy as np
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from kerasjet.errors import KerasjetError, run_script
from kerasjet.files import write_text
from kerasjet.study import BUDGETS, job_config, jobs, run_dir
from kerasjet.train import config_difference

PAUSE_FACTOR = 3


def epoch_seconds(folder):
    """Seconds of each epoch the run in ``folder`` (its starts included) trained, from the
    TensorBoard event files of its pieces."""
    seconds = []
    for path in glob.glob(os.path.join(folder, "**", "tensorboard", "train", "events.out.tfevents.*"), recursive=True):
        events = list(EventFileLoader(path).Load())
        ends = [event.wall_time for event in events if any(value.tag == "epoch_loss" for value in event.summary.value)]
        if ends:
            seconds.extend(np.diff([events[0].wall_time, *ends]))
    return seconds


def training_seconds(folder):
    """Seconds the run in ``folder`` spent training, an epoch over PAUSE_FACTOR × the median
    counted as the median."""
    seconds = np.array(epoch_seconds(folder))
    if not seconds.size:
        return 0.0
    median = np.median(seconds)
    return float(np.where(seconds > PAUSE_FACTOR * median, median, seconds).sum())


def job_hours(study_dir, budget):
    """{row name: [hours of each finished seed]} for the budget's jobs: runs with a summary.json
    whose config.json is their job's recipe (kerasjet.study.job_config)."""
    hours = {}
    for name, seed in jobs(budget):
        folder = run_dir(study_dir, name, seed, budget.level)
        finished = os.path.exists(os.path.join(folder, "summary.json"))
        if finished and config_difference(os.path.join(folder, "config.json"), job_config(study_dir, budget, name, seed),
                                          same_file_names=True) is None:
            hours.setdefault(name, []).append(training_seconds(folder) / 3600)
    return hours


def markdown(hours, budget, name):
    """The table of ``hours`` (job_hours) and a line with the total, as Markdown."""
    lines = ["| model | finished seeds | hours per seed (mean, min–max) | hours |", "|---|---|---|---|"]
    for row, values in hours.items():
        lines.append(f"| {row} | {len(values)} of {budget.seeds} | {sum(values) / len(values):.2f} "
                     f"({min(values):.2f}–{max(values):.2f}) | {sum(values):.1f} |")
    total = sum(map(sum, hours.values()))
    finished = sum(map(len, hours.values()))
    lines += ["", f"{finished} of {len(jobs(budget))} jobs finished, {total:.1f} h of training on this machine "
              f"({budget.level} level, '{name}' budget: {budget.train_jets:,} training jets, {budget.epochs} epochs, "
              f"{budget.seeds} seeds; benchmarks/study_time.py)"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="data/study", help="the study folder (kerasjet study --dir)")
    parser.add_argument("--budget", default="default", choices=sorted(BUDGETS))
    parser.add_argument("--level", default="detector", choices=("detector", "particle"))
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        raise KerasjetError(f"{args.dir}: no such study folder (--dir)")
    budget = replace(BUDGETS[args.budget], level=args.level)
    hours = job_hours(args.dir, budget)
    if not hours:
        raise KerasjetError(f"{args.dir}: no finished {args.level}-level job of the '{args.budget}' budget")
    text = markdown(hours, budget, args.budget)
    print(text, end="")
    if args.out:
        write_text(text, args.out)


if __name__ == "__main__":
    run_script(main)
