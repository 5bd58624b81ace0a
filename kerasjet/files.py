"""Writing output files safely: complete or not at all."""

import contextlib
import json
import math
import os
import signal
import threading

from kerasjet.errors import KerasjetError


def _terminated(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM (what a batch system sends at its time limit) raises
    KeyboardInterrupt as Ctrl-C does, so that atomic outputs are cleaned up and the command exits
    as interrupted; the previous handler is restored afterwards. Does nothing off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` only if the block succeeds.

    On any exception (KeyboardInterrupt included) the temporary file is removed, so an
    interrupted job never leaves a file that looks complete.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _json_ready(value):
    """Replace ±inf (which JSON lacks) by the strings "inf"/"-inf", recursively."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def write_json(data, path):
    """Write ``data`` as indented JSON, atomically."""
    with atomic_output(path) as tmp, open(tmp, "w") as f:
        json.dump(_json_ready(data), f, indent=2)
        f.write("\n")


def write_text(text, path):
    """Write a text file atomically."""
    with atomic_output(path) as tmp, open(tmp, "w") as f:
        f.write(text)


PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def save_figure(fig, path, dpi):
    """Save a matplotlib figure atomically, in the format its extension names (PNG without one)."""
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=os.path.splitext(path)[1].lstrip(".").lower() or "png")


def _existing_ancestor(path):
    """The nearest existing folder above ``path``; KerasjetError if that is a file."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise KerasjetError(f"{path}: '{parent}' is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise KerasjetError(f"{path}: folder '{parent}' is not writable")
    return parent


def check_output_file(path, suffixes=None):
    """Refuse, before any work, an output file that cannot be written: an existing folder, a
    parent that is a file, an unwritable folder or (with ``suffixes``) an unsupported extension."""
    if os.path.isdir(path):
        raise KerasjetError(f"{path}: is a folder; expected a file name")
    if suffixes and os.path.splitext(path)[1].lower() not in suffixes:
        raise KerasjetError(f"{path}: unsupported extension; use {', '.join(suffixes)}")
    _existing_ancestor(path)


def check_output_folder(path):
    """Refuse, before any work, an output folder that is a file or lies below a file."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise KerasjetError(f"{path}: is a file; expected a folder")
    _existing_ancestor(os.path.join(path, "x"))
