"""Exceptions that the command line turns into exit codes."""


class InputError(ValueError):
    """Bad input from the user (config, arguments, an unreachable target).

    The command line prints the message on one line and exits with code 2.
    Messages name the key or argument and say what is allowed.
    """


class NotReadyError(RuntimeError):
    """The environment is not ready: the output folder is busy, the disk is
    full, no Dask workers, the scheduler cannot be reached, out of memory.

    The command line prints the message on one line (what, and what to do)
    and exits with code 3. Nothing finished is lost: checkpoints are kept.
    """
