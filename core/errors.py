"""Errors every layer raises and the command line reports."""


class ConfigError(Exception):
    """A problem in stages.yaml or on the command line; the message says what and where."""
