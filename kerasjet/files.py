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
    parent that is a file, an unwritable folder or (with ``suffixes``) an unsupported extension.
    An empty name or one ending in a path separator names no file."""
    if not path or not path.strip() or path.endswith(("/", os.sep)):
        raise KerasjetError(f"{path!r}: expected a file name")
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


MAX_YAML_BYTES = 1 << 20  # a deployment YAML is a page; a bigger file is not one
MAX_YAML_DEPTH = 32


def read_yaml_text(path):
    """The text of the YAML file at ``path`` after the checks that need no schema: KerasjetError
    ``<path>: the file: <what>`` for a missing file, a folder, over MAX_YAML_BYTES, non-UTF-8
    bytes, a YAML syntax error or nesting deeper than MAX_YAML_DEPTH (tags are not constructed:
    this needs neither hls4ml nor TensorFlow)."""
    import yaml

    def fail(what):
        raise KerasjetError(f"{path}: the file: {what}")

    if os.path.isdir(path):
        fail("is a directory, not a YAML file")
    if not os.path.exists(path):
        fail("no such file")
    if os.path.getsize(path) > MAX_YAML_BYTES:
        fail(f"{os.path.getsize(path)} bytes; a deployment YAML has at most {MAX_YAML_BYTES}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(f"not UTF-8 text (byte {err.start})")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        fail(f"not valid YAML ({' '.join(str(err).split())})")
    except RecursionError:
        fail(f"nested deeper than {MAX_YAML_DEPTH} levels")
    stack = [(node, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_YAML_DEPTH:
            fail(f"nested deeper than {MAX_YAML_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    fail(f"a complex key (a list or mapping used as a key, line {key.start_mark.line + 1})")
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
    return text
