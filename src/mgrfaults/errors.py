"""Errors on bad input: each names the file, key or id, and the problem."""


class InputError(ValueError):
    """Bad input data (audio, metadata, partition list, feature cache): the message names it."""


class AudioError(InputError):
    """An audio file that cannot be decoded (corrupt, truncated, empty)."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NoMusicError(AudioError):
    """An audio file that decodes, but whose samples the content checks judge to hold no music (silence,
    byte-swapped or float samples under a 16-bit header, random data, channels that cancel): the heuristic
    refusals that ``dataset.trust_audio`` can waive for a file one has listened to."""


class Terminated(SystemExit):
    """The process was sent SIGTERM (a SLURM time limit, ``scancel``, ``timeout``, Snakemake ending its jobs).

    Raised by the handler :func:`mgrfaults.logs.setup_script_logging` installs, so that cleanups run
    (:func:`mgrfaults.io.atomic_path`); its own type, so that code catching ``SystemExit`` from a
    plugin does not take the signal for the plugin's exit.
    """
