"""User-facing errors: the command line prints the message as one line and exits non-zero."""


class KerasjetError(Exception):
    """Bad input or configuration; the message names the file, key or field at fault."""
