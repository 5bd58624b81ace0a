"""User-facing errors: the command line prints the message as one line and exits non-zero."""


class KerasjetError(Exception):
    """Bad input or configuration; the message names the file, key or field at fault."""


def first_line(err):
    """The first line of an exception's message (its class name if the message is empty)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
