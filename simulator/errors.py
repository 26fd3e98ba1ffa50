"""Exceptions that the command line turns into exit codes."""


class InputError(ValueError):
    """Bad input from the user (config, arguments, an unreachable target).

    The command line prints the message on one line and exits with code 2.
    Messages name the key or argument and say what is allowed.
    """
