"""One exception hierarchy; the CLI catches SynthgenError and prints one paragraph."""

from __future__ import annotations


class SynthgenError(Exception):
    """Base of every error synthgen reports to a user. ``exit_code`` is the CLI's exit status."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SchemaError(SynthgenError):
    """A schema file is missing, unreadable or invalid."""


class DataError(SynthgenError):
    """Input data is missing, unreadable, or does not match its schema."""


class ModelFileError(SynthgenError):
    """A model file is missing, corrupt, tampered with, or from a newer format."""


class OutputError(SynthgenError):
    """An output cannot be written (exists, equals an input, folder missing)."""


class UsageError(SynthgenError):
    """Options that parse but make no sense together (a bad --condition, --rows 0, ...)."""

    exit_code = 2


class GenerationError(SynthgenError):
    """Generation could not produce what was asked (e.g. too few rows met the conditions)."""


class GateFailed(SynthgenError):
    """A quality or privacy gate (``--fail-under``) failed."""

    exit_code = 3
