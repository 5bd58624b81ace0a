"""Writing output files safely: complete or not at all."""

import contextlib
import json
import math
import os


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
