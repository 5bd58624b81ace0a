"""User-facing errors: the command line prints the message as one line and exits non-zero."""


class KerasjetError(Exception):
    """Bad input or configuration; the message names the file, key or field at fault."""


def error_line(message):
    """The one line every kerasjet entry point prints for a refused input (no newline): line
    breaks and other control characters of the message (a key or value quoted from the input)
    are escaped, so that it stays one line."""
    text = str(message)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return f"kerasjet: error: {text}"


def first_line(err):
    """The first line of an exception's message (its class name if the message is empty)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def run_script(main):
    """Run a script's ``main()`` (benchmarks/, scripts/): a KerasjetError ends it with one
    ``kerasjet: error: ...`` line on stderr and exit status 1, never a traceback."""
    try:
        main()
    except KerasjetError as err:
        raise SystemExit(error_line(err)) from None
