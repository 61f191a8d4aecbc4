"""The one error a user's input can raise: the CLI prints it as one line and exits with 2."""


class ParameterError(ValueError):
    """A bad user-supplied parameter, value or file; its message names what is wrong."""
