"""Errors on bad input: each names the file, key or id, and the problem."""


class InputError(ValueError):
    """Bad input data (audio, metadata, partition list, feature cache): the message names it."""


class AudioError(InputError):
    """An audio file that cannot be decoded (corrupt, truncated, empty)."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
