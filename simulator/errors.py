"""Exceptions that the command line turns into exit codes, and the one rule for text that breaks a line."""

import unicodedata

#: Unicode's Bidi_Control characters (PropList.txt): the Arabic letter mark, the left-to-right and
#: right-to-left marks, the embeddings and overrides, and the isolates. Each reorders how the text around
#: it is shown, and Python's unicodedata has no property for them.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def breaks_text(c: str) -> bool:
    """A control character (C0, DEL, C1), a Unicode line or paragraph separator, or a bidi control.

    What display text may not hold (``config.fields.as_label``) and what an
    error line escapes (``cli``): each breaks a line or reorders the text.
    """
    return unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in BIDI_CONTROLS


def one_line(message: object) -> str:
    """A message on one line whatever a user-typed name in it holds (line breaks written as \\n).

    Every character that ``str.splitlines`` breaks at, or that reorders the text around it
    (:func:`breaks_text`), is written as its escape (``\\u2028``, ``\\x85``, ``\\u202e``).
    """
    return "".join(c.encode("unicode_escape").decode("ascii") if breaks_text(c) else c for c in str(message))


class InputError(ValueError):
    """Bad input from the user (config, arguments, an unreachable target).

    The command line prints the message on one line and exits with code 2.
    Messages name the key or argument and say what is allowed; a name typed
    with a line break in it is escaped (:func:`one_line`), so that the
    message is one line through the API too.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


class NotReadyError(RuntimeError):
    """The environment is not ready: the output folder is busy, the disk is
    full, no Dask workers, the scheduler cannot be reached, out of memory.

    The command line prints the message on one line (what, and what to do)
    and exits with code 3. Nothing finished is lost: checkpoints are kept.
    """
