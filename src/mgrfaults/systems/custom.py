"""Your own system under every condition of the study: a plugin named in config by import path.

Config (``systems.custom``; the name is a row of every table, beside the built-in systems)::

    systems:
      custom:
        MyNet:
          factory: "mypkg.models:build"        # or a file: "examples/custom_system/torch_frames.py:build"
          input: frames                        # frames | texture | audio
          params: {hidden: 64, epochs: 20}     # passed to the factory as keyword arguments
          fit_on: train                        # train | train_valid: the parts it learns from

Protocol
--------
The factory is called once per run (system x condition x fold) as ``factory(context, **params)``
and returns an object with two methods::

    system.fit(train: Part, valid: Part) -> None      # labels of both parts available
    system.predict(test: Part) -> array (n_test, n_genres)   # test labels are hidden (None)

A system that learns from the validation part's excerpts too (not only selects with them) declares
``fit_on: train_valid``: the attribution then counts an artist or a replica there as seen in training.

``predict`` returns per-excerpt genre scores (any scale, higher = more likely; -inf for a genre ruled
out, as log-probabilities give it), columns in ``context.genres`` order; the excerpt decision is their
argmax. A :class:`Part` is a sequence of excerpts: ``part[i]`` is the ``i``-th excerpt's input (see
:class:`Part`), ``part.track_ids``, ``part.labels`` (class indices into ``context.genres``; None for the
test part), ``part.paths`` (the audio files). The run's seed (``context.seed``, derived from the master
seed, the system, condition and fold) also seeds ``random``, numpy's global generator and, when the
plugin imports torch, ``torch.manual_seed`` before the factory is called. A torch model should move
itself to ``context.device`` ("cpu" or "cuda", ``systems.device`` resolved) and the run limits
BLAS/OpenMP and torch to ``context.threads`` (``systems.threads``).

Where the factory is found: ``"pkg.mod:callable"`` is imported like any module (install the package,
or put its folder on PYTHONPATH); ``"path/to/file.py:callable"`` loads that file (a relative path is
taken from the Snakemake working folder, else from the workflow's folder), with the file's folder put
on ``sys.path`` so its siblings import.

Failures name the system, condition and fold: a factory that cannot be imported (the path and the
import error), an object without ``fit``/``predict``, scores of the wrong shape, scores that decide no genre
(NaN, +inf, a row of -inf only).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import logging
import os
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from mgrfaults.config import yaml11_text_number
from mgrfaults.errors import InputError, Terminated
from mgrfaults.io import write_csv_atomic
from mgrfaults.config import section_defaults
from mgrfaults.systems.names import STUDY_HIDDEN_LAYERS, parse_system

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DATASET = section_defaults("dataset")
_SYSTEMS = section_defaults("systems")

log = logging.getLogger(__name__)

INPUTS = ("frames", "texture", "audio")
"""What a custom system can ask for: cached STFT frames, MFCC texture windows, or decoded audio."""

_FACTORY_RE = re.compile(r"^(?P<module>.+):(?P<attr>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")


class PluginError(InputError):
    """A custom system that cannot be loaded or returned unusable scores; the message names it."""


@dataclass(frozen=True)
class SystemContext:
    """What a custom system knows about its run.

    Attributes
    ----------
    name, condition : str
        The system's config name and the partition condition.
    fold : int
    genres : tuple of str
        Label order: column ``j`` of the scores is ``genres[j]``.
    seed : int
        The run's derived seed.
    input : {"frames", "texture", "audio"}
    device : {"cpu", "cuda"}
        Where a torch model should run (``systems.device``, ``auto`` resolved).
    threads : int
        CPU threads of the job (``systems.threads``).
    sample_rate : int
        Hz of decoded audio (``dataset.sample_rate``) and of the features.
    max_duration : float
        Seconds of audio decoded per excerpt (``dataset.max_duration``).
    feature_params : dict
        The extraction parameters of the frames or texture features (empty for audio).
    """

    name: str
    condition: str
    fold: int
    genres: tuple
    seed: int
    input: str
    device: str = "cpu"
    threads: int = 1
    sample_rate: int = 22050
    max_duration: float = 30.0
    feature_params: dict = field(default_factory=dict)


class ReadOnlyList(list):
    """A list that refuses changes in place (a part's track ids and paths): a plugin sorting them would have its
    decisions written against other excerpts. Reading, copying and indexing a DataFrame with it work as for a
    list."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a part's track_ids and paths are read-only: the decisions are written against the test "
                        "part's track ids in this order; change a copy (sorted(test.track_ids), list(test.paths))")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


class Part(Sequence):
    """One part (train, valid or test) of a run: a lazily read sequence of excerpts.

    ``part[i]`` is, for ``input``:

    - ``frames``: the excerpt's magnitude STFT frames, float32 (n_frames, n_fft // 2 + 1);
    - ``texture``: its MFCC texture-window statistics, float32 (n_windows, dim);
    - ``audio``: its decoded mono audio, float32 (n_samples,) at ``context.sample_rate`` Hz.

    Each access reads from disk (nothing is cached): ``list(part)`` holds the whole part in memory.

    ``track_ids`` and ``paths`` are read-only lists (:class:`ReadOnlyList`): the workflow writes the test
    part's decisions against its track ids in this order, so a plugin that sorted them in place would have its
    decisions written against other excerpts. A plugin that needs another order copies them
    (``sorted(test.track_ids)``) and returns a DataFrame indexed by track id. ``labels`` is a fresh copy at
    each access.

    Attributes
    ----------
    name : {"train", "valid", "test"}
    track_ids : ReadOnlyList of str
    labels : ndarray of int, shape (n,), or None
        Class indices into ``context.genres``; None for the test part.
    paths : ReadOnlyList of str
        The excerpts' audio files (any input).
    """

    def __init__(self, name, track_ids, labels, paths, reader: Callable[[str, str], np.ndarray]):
        self._name = name
        self._track_ids = ReadOnlyList(track_ids)
        self._labels = None if labels is None else np.array(labels, dtype=np.int64)
        self._paths = ReadOnlyList(paths)
        self._reader = reader

    name = property(lambda self: self._name)
    track_ids = property(lambda self: self._track_ids)
    labels = property(lambda self: None if self._labels is None else self._labels.copy())
    paths = property(lambda self: self._paths)

    def __len__(self) -> int:
        return len(self.track_ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self._reader(self.track_ids[i], self.paths[i])

    def __repr__(self) -> str:
        return f"Part({self.name!r}, {len(self)} excerpts)"


# --------------------------------------------------------------------------------------------------
# loading the factory
# --------------------------------------------------------------------------------------------------


def split_factory(factory: str, where: str = "factory") -> tuple[str, str]:
    """``"pkg.mod:build"`` -> (``"pkg.mod"``, ``"build"``); a malformed value raises naming ``where``."""
    m = _FACTORY_RE.match(str(factory).strip())
    if not m:
        raise PluginError(f"{where}: {factory!r} is not 'package.module:callable' or 'path/to/file.py:callable'")
    if m["module"] != m["module"].strip():  # 'plug.py :build' named a module 'plug.py ', found by no job
        raise PluginError(f"{where}: {factory!r} has a space before the ':'; write "
                          f"'{m['module'].strip()}:{m['attr']}'")
    return m["module"], m["attr"]


def resolve_factory(factory: str, search_dirs=(), where: str = "factory") -> str:
    """Make a file factory's path absolute: the first of ``search_dirs`` that holds it (module names unchanged).

    Raises
    ------
    PluginError
        A ``.py`` file found in none of ``search_dirs`` (the message lists where it looked).
    """
    module, attr = split_factory(factory, where)
    if not module.endswith(".py"):
        _check_module_for_the_jobs(module, attr, where)
        return f"{module}:{attr}"
    path = Path(module).expanduser()
    candidates = [path] if path.is_absolute() else [Path(d) / path for d in search_dirs] or [path]
    for candidate in candidates:
        if candidate.is_file():
            return f"{candidate.resolve()}:{attr}"
    raise PluginError(f"{where}: {module} not found (looked in {[str(c) for c in candidates]})")


def _check_module_for_the_jobs(module: str, attr: str, where: str) -> None:
    """Say before any job runs what a ``pkg.mod:build`` factory's job would fail on: its module not found on the
    jobs' import path (:func:`module_found`). A job's script searches its own ``sys.path`` (PYTHONPATH, the
    installed packages, editable installs' hooks) and then this process's, which Snakemake appends to it
    (``snakemake.script.get_snakemake_searchpaths``): where this process does not find the module, a job does not.
    Found in the working folder alone (which is on this process's path under ``python -m snakemake`` only), it is
    refused; found nowhere, a warning (software deployed for the jobs alone, ``--use-conda``, may hold it)."""
    as_file = f"'{module.replace('.', '/')}.py:{attr}'"
    cwd, top = os.getcwd(), module.split(".")[0]
    in_working_folder = module_found(module, [cwd])
    # a job searches the working folder (on this process's path under `python -m snakemake`) after its own path (the
    # standard library, the installed packages): a name taken there is what the job imports
    # PYTHONPATH's folders come before the standard library in a job's path (audit 38)
    elsewhere = [p for p in sys.path if os.path.abspath(p or ".") != cwd or cwd in pythonpath_folders()]
    shadowing = importlib.machinery.PathFinder.find_spec(top, elsewhere)
    if in_working_folder and shadowing is not None and not module_found(module, elsewhere):
        raise PluginError(f"{where}: {module!r}: the working folder's {top!r} is not the one a job imports, which "
                          f"finds {shadowing.origin or list(shadowing.submodule_search_locations or [])} first; "
                          f"give the package another name, or the factory as a file, {as_file}")
    if module_found(module):
        return
    if in_working_folder:
        raise PluginError(f"{where}: {module!r} is found in the working folder, which is not on the jobs' import path "
                          f"(their scripts run from .snakemake/scripts): give the factory as a file, {as_file}, add "
                          "the working folder to PYTHONPATH, or install the package")
    log.warning("%s: no module %r is found on the jobs' import path (PYTHONPATH, the installed packages, the "
                "workflow's folder); unless the jobs' own software holds it, they will fail to import it: install the "
                "package, add the folder holding it to PYTHONPATH, or give the factory as a file, %s", where, module,
                as_file)


def pythonpath_folders() -> set[str]:
    """The folders PYTHONPATH names, absolute; an empty entry is the working folder, as Python reads it."""
    given = os.environ.get("PYTHONPATH")
    return {os.path.abspath(p or ".") for p in given.split(os.pathsep)} if given else set()


def module_found(module: str, path=None) -> bool:
    """Whether the dotted ``module`` is found without running any of its code: its top-level package as an import
    finds it (:func:`importlib.util.find_spec`: ``sys.meta_path``, so an editable install's hook too), or on
    ``path`` alone (:class:`importlib.machinery.PathFinder`), then each sub-module in its parent's folders. A
    top-level name that is another module's (``code``, ``test`` of the standard library) is found there, and its
    sub-module then not."""
    parts = module.split(".")
    try:
        if path is None:
            if parts[0] in sys.modules:
                spec = getattr(sys.modules[parts[0]], "__spec__", None)
            else:
                spec = importlib.util.find_spec(parts[0])
        else:
            spec = importlib.machinery.PathFinder.find_spec(parts[0], path)
        spec = _sub_module_spec(spec, parts)
    except (ImportError, ValueError, KeyError, AttributeError):  # a finder's own error: the job will name what fails
        return True
    # a folder without a module file (a namespace package, at any level) holds no factory to call: not found (audits
    # 51 and 52)
    return spec is not None and spec.origin is not None


def _sub_module_spec(spec, parts: list[str]):
    """The spec of the module ``".".join(parts)`` from its top-level package's ``spec``, one package level at a time
    without running any package's code; None where a level is missing."""
    for depth in range(2, len(parts) + 1):
        locations = [] if spec is None else list(spec.submodule_search_locations or [])
        if not locations:
            return None
        name = ".".join(parts[:depth])
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, locations)
        except KeyError:
            # a namespace package (a folder without __init__.py) below another not imported: the finder reads its
            # parent's __path__ from sys.modules and fails (audit 49: mylab.models.knn, no __init__.py in either
            # folder); its folders are those of its name in its parent's, as the import joins them
            folders = [os.path.join(p, parts[depth - 1]) for p in locations]
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [f for f in folders if os.path.isdir(f)]
    return spec


def plugin_module_name(path: Path) -> str:
    """The module name a plugin file is loaded under: its stem (``plug`` for ``plug.py``) where that name imports
    this very file from ``sys.path`` and no module holds it yet, else a name made from its path.

    By its stem, a worker process the plugin starts by spawn or forkserver (Python 3.14's default on Linux) imports
    it again as it unpickles the plugin's functions (the file's folder is on the ``sys.path`` the worker inherits);
    under a made-up name the worker cannot, dies, and ``multiprocessing.Pool`` starts another, forever.
    Where it must be made up, a warning says so and how to name the file: a worker started so cannot import it.
    """
    stem = path.stem
    if not stem.isidentifier():
        why = "is no Python module name"
    elif stem in sys.stdlib_module_names:  # loaded later by the job (numpy imports `statistics`), it would be this
        why = "is the name of a module of Python's standard library"
    elif stem in sys.modules:
        loaded = getattr(sys.modules[stem], "__file__", None)
        if loaded and Path(loaded).resolve() == path.resolve():  # this file, loaded before: again under its stem
            return stem
        why = f"is the name of a module this job has loaded ({loaded or 'built in'})"
    else:
        found = importlib.util.find_spec(stem)
        if found is not None and found.origin and Path(found.origin).resolve() == path.resolve():
            return stem
        why = f"imports {found.origin if found is not None else 'nothing'} from sys.path"
    log.warning("plugin file %s: its name %r %s: loaded under a made-up name, which worker processes the plugin may "
                "start by spawn or forkserver cannot import (such a pool waits forever); name the file as a module of "
                "its own (my_system.py)", path, stem, why)
    return "mgrfaults_plugin_" + re.sub(r"\W", "_", str(path.with_suffix("")))


def load_factory(factory: str, where: str = "factory") -> Callable:
    """Import the callable named by ``factory`` (``pkg.mod:attr`` or ``/path/file.py:attr``).

    Raises
    ------
    PluginError
        The module cannot be imported (naming the path and the error) or has no such callable.
    """
    module_name, attr = split_factory(factory, where)
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise FileNotFoundError(f"no file {path}")
            # its folder on sys.path: a plugin file may import its siblings
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            name = plugin_module_name(path)
            loaded = sys.modules.get(name)
            if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path.resolve():
                module = loaded  # run again, it would replace the classes a system built from it already pickles by
            else:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module  # before exec: dataclasses and pickling look the module up
                spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except Exception as e:  # any error of the plugin's own import is reported as the plugin's
        hint = ""
        if isinstance(e, ModuleNotFoundError) and e.name and f"{module_name}.".startswith(f"{e.name}."):
            # the factory's own module, not one it imports
            hint = ("; this job imports it from its sys.path (PYTHONPATH, the installed packages, the Snakemake "
                    "process's path), which holds the working folder only where PYTHONPATH names it or Snakemake ran as "
                    "`python -m snakemake`: install the package, add the folder holding it to PYTHONPATH, or give the "
                    f"factory as a file, '{module_name.replace('.', '/')}.py:{attr}'")
        raise PluginError(f"{where}: cannot import {module_name!r}: {type(e).__name__}: {e}{hint}") from e
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise PluginError(f"{where}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise PluginError(f"{where}: {module_name}:{attr} is not callable")
    return obj


def plugin_source_file(factory: str) -> Path | None:
    """The file that defines a factory's module, found without importing anything; None where it is not found.

    ``/path/file.py:build`` is that file. ``pkg.mod:build`` is looked up on ``sys.path`` as an import would find it
    (:class:`importlib.machinery.PathFinder`, one package level at a time: no package's ``__init__`` runs).
    """
    module, _ = split_factory(factory)
    if module.endswith(".py"):
        path = Path(module)
        return path if path.is_file() else None
    parts = module.split(".")
    spec = _sub_module_spec(importlib.machinery.PathFinder.find_spec(parts[0]), parts)
    return Path(spec.origin) if spec and spec.origin and Path(spec.origin).is_file() else None


PLUGIN_CODE_DEPTH = 3
"""How many folder levels below a plugin's own folder its Python files are digested (its sub-packages)."""

_NOT_PLUGIN_CODE = {"__pycache__", "site-packages", "dist-packages", "node_modules"}


def plugin_code_files(folder: Path, depth: int = PLUGIN_CODE_DEPTH, _seen: set | None = None) -> list[Path]:
    """The Python files a plugin in ``folder`` may import: ``*.py`` there and in its sub-folders to ``depth``
    levels (a linked sub-folder followed, each folder once), sorted; hidden folders, ``__pycache__``, installed
    packages (``site-packages``) and virtual environments (a folder holding ``pyvenv.cfg``) left out. A module
    installed in ``site-packages`` itself has its folder's files only (the installed packages beside it are not
    the plugin's)."""
    seen = set() if _seen is None else _seen
    seen.add(folder.resolve())
    files = sorted(folder.glob("*.py"))
    if depth <= 0 or folder.name in _NOT_PLUGIN_CODE:
        return files
    with contextlib.suppress(OSError):
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            if (sub.name.startswith(".") or sub.name in _NOT_PLUGIN_CODE or (sub / "pyvenv.cfg").exists()
                    or sub.resolve() in seen):
                continue
            files += plugin_code_files(sub, depth - 1, seen)
    return files


def plugin_code_digest(factory: str) -> str:
    """SHA-256 of the Python files of the factory's folder and its sub-folders (:func:`plugin_code_files`).

    A custom system's predictions depend on its code as much as on its inputs; Snakemake sees a changed input file
    only, not an edited module it imports (a sibling, a module of a sub-package, the module of a ``pkg.mod:build``
    factory), and not a file copied in with an older time. As a rule parameter, this digest reruns the system when
    any of them changes. ``""`` where the module's file is not found (the job then reports the import error).
    The plugin's data files (weights, settings) are ``systems.custom.<name>.files``: its jobs' inputs.
    """
    source = plugin_source_file(factory)
    if source is None:
        return ""
    digest = hashlib.sha256()
    for path in plugin_code_files(source.parent):
        with contextlib.suppress(OSError):  # a file removed or unreadable meanwhile: the import will say
            digest.update(path.relative_to(source.parent).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------
# running it
# --------------------------------------------------------------------------------------------------


def check_scores(scores, n_test: int, n_genres: int, where: str, track_ids=(), genres=()) -> np.ndarray:
    """The plugin's scores as float64 (n_test, n_genres), or a :class:`PluginError` naming ``where``.

    ``genres``: the column order (``context.genres``), named in the error of a wrong shape.

    Raises
    ------
    PluginError
        Not a numeric array, the wrong shape, or rows that decide no genre (:func:`_undecided_rows`; the first
        affected excerpts listed). -inf entries in a row with a finite highest score are kept: log-probabilities
        (scikit-learn's ``predict_log_proba``) give -inf to a genre of probability 0, and the argmax, the
        predictions CSV (pandas writes and reads ``-inf``) and the tie count are right with them.
    """
    scores = _aligned(scores, genres, track_ids, where)
    # np.asarray drops a mask (the masked entries would decide) and a complex number's imaginary part, with a
    # warning at most, as torch's .double() drops the latter (audits 27, 28)
    if hasattr(scores, "detach"):  # a torch tensor, maybe on a GPU, in the autograd graph or in bf16 (numpy has none)
        complex_scores = scores.is_complex()
        scores = scores.detach().cpu() if complex_scores else scores.detach().cpu().double()
    else:
        complex_scores = np.iscomplexobj(scores)
    if complex_scores:
        raise PluginError(f"{where}: predict() returned complex scores: give real ones (their magnitude, or the real "
                          "part, as the system means them)")
    if np.ma.isMaskedArray(scores) and np.ma.getmask(scores).any():
        raise PluginError(f"{where}: predict() returned a masked array: its masked entries would decide; return a "
                          "plain array, the masked entries filled with the scores they stand for (`scores.filled(...)`)")
    scores = np.ma.getdata(scores) if np.ma.isMaskedArray(scores) else scores  # a mask that masks nothing
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except Exception as e:
        raise PluginError(f"{where}: predict() returned {type(scores).__name__}, not a numeric array: {e}") from e
    if arr.shape != (n_test, n_genres):
        # the columns are context.genres, the dataset's genres, which can hold genres no training excerpt has (a
        # small genre whose excerpts all went to test): a classifier's own classes_ would then give fewer columns
        order = f": context.genres, in that order: {list(genres)}" if len(genres) else ""
        raise PluginError(
            f"{where}: predict() returned scores of shape {arr.shape}; expected (n_test, n_genres) = "
            f"({n_test}, {n_genres}): one row per test excerpt, one column per genre{order}"
        )
    bad_rows, kinds = _undecided_rows(arr)
    if len(bad_rows):
        ids = [track_ids[i] for i in bad_rows[:5]] if len(track_ids) else bad_rows[:5].tolist()
        raise PluginError(f"{where}: predict() returned scores that decide no genre for {len(bad_rows)} excerpt(s), "
                          f"e.g. {ids} ({kinds}): an excerpt's genre is its highest score, which must be finite; -inf "
                          "is the lowest score (a log-probability of 0), but NaN and +inf are not scores and a row of "
                          "-inf only puts no genre first. Return finite scores, e.g. probabilities, or "
                          "log-probabilities with some genre above probability 0")
    return arr


def _undecided_rows(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """The rows of ``arr`` whose argmax decides nothing, and what is wrong with them (``2 with NaN, 1 with +inf``).

    A row decides where its highest score is finite (np.max propagates NaN): a NaN, a +inf (no score a system
    computes, and two of them tie) and a row of -inf only (every genre ruled out) do not.

    Returns
    -------
    rows : ndarray of int
        Indices of the undecided rows, ascending.
    kinds : str
        Counts of the rows by cause; empty when there are none.
    """
    # initial: a row of no genres has nothing to decide among (undecided, not a numpy error)
    undecided = ~np.isfinite(np.max(arr, axis=1, initial=-np.inf))
    nan = np.isnan(arr).any(axis=1)
    pos_inf = np.isposinf(arr).any(axis=1) & ~nan
    counts = {"with NaN": nan.sum(), "with +inf": pos_inf.sum(), "of -inf only": (undecided & ~nan & ~pos_inf).sum()}
    return np.flatnonzero(undecided), ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)


def _aligned(scores, genres, track_ids, where: str):
    """Labelled scores (a pandas or polars DataFrame) put in the order of ``genres`` and ``track_ids``.

    A plain conversion would drop the labels: scores whose columns name the genres in another order, or
    whose rows are labelled in another order, would be read by position, silently wrong. Columns must be
    the genres (or the integers ``0 .. n_genres - 1``: positions); an index the track ids, or the integers
    ``0 .. n_test - 1`` (positions, in any order: a reversed RangeIndex too). Other labels are refused,
    naming what was expected. A frame of another length is left to the shape check.
    """
    columns, index = getattr(scores, "columns", None), getattr(scores, "index", None)
    if columns is None:
        return scores
    if len(genres) and len(columns) == len(genres):
        if index is not None and pd.api.types.is_integer_dtype(pd.Index(columns)):
            if sorted(columns) != list(range(len(genres))):
                raise PluginError(f"{where}: predict() returned a DataFrame whose integer columns {list(columns)[:12]} "
                                  f"are not the positions 0..{len(genres) - 1} of context.genres {list(genres)}")
            scores = scores.sort_index(axis=1)
        else:
            names = [str(c) for c in columns]
            if sorted(names) != sorted(genres):
                raise PluginError(f"{where}: predict() returned a DataFrame whose columns {names[:12]} are not "
                                  f"context.genres {list(genres)}; name a column after each genre, or return an "
                                  "array in context.genres order")
            scores = scores[[c for g in genres for c in columns if str(c) == g]]  # pandas and polars alike
    if index is None or not len(track_ids) or len(index) != len(track_ids):
        return scores
    if pd.api.types.is_integer_dtype(index):
        if sorted(index) != list(range(len(track_ids))):
            raise PluginError(f"{where}: predict() returned a DataFrame whose integer index {list(index)[:5]} is not "
                              f"the rows 0..{len(track_ids) - 1} of the test part; index it by test.track_ids or "
                              "by row position")
        return scores.sort_index()
    rows = [str(i) for i in index]
    if sorted(rows) != sorted(str(t) for t in track_ids):
        raise PluginError(f"{where}: predict() returned a DataFrame whose index {rows[:5]} is not the test "
                          "excerpts' track ids; index it by test.track_ids, or return rows in test order")
    return scores.set_axis(rows, axis=0).loc[[str(t) for t in track_ids]]


def seed_everything(seed: int) -> None:
    """Seed ``random``, numpy's global generator and torch (imported here where installed: a plugin that imports it
    inside its factory or ``fit`` would otherwise draw from torch's own random seed, and a rerun would differ,
    audit 54)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = _torch_if_installed()
    if torch is not None:
        torch.manual_seed(seed)


def _torch_if_installed():
    """torch, imported if it is installed and not yet imported; None without it."""
    if "torch" not in sys.modules and importlib.util.find_spec("torch") is not None:
        import torch  # noqa: F401
    return sys.modules.get("torch")


def resolve_plugin_device(device: str) -> str:
    """``auto`` -> ``cuda`` when the plugin uses torch (its module imported it) and a GPU is available, else ``cpu``;
    ``cuda`` asked for is checked with torch imported where installed (a plugin may import it in ``fit``, audit 56)."""
    torch = _torch_if_installed() if device == "cuda" else sys.modules.get("torch")
    has_cuda = torch is not None and torch.cuda.is_available()
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise InputError("systems.device: cuda requested but no GPU is available to the custom system (torch)")
    return device


def run_custom_system(factory: Callable, context: SystemContext, params: dict, parts: dict[str, Part]) -> np.ndarray:
    """Build, fit and apply one custom system; the checked test scores (n_test, n_genres).

    Parameters
    ----------
    factory : callable
        ``factory(context, **params)`` -> object with ``fit(train, valid)`` and ``predict(test)``.
    parts : dict
        ``{"train": Part, "valid": Part, "test": Part}``; the test part without labels.
    """
    where = f"custom system {context.name} ({context.condition}, fold {context.fold})"
    test_ids = tuple(parts["test"].track_ids)  # the order the decisions are written in, whatever the plugin does
    seed_everything(context.seed)
    try:
        with _plugin_call():
            system = factory(context, **dict(params))
    except TypeError as e:
        raise PluginError(f"{where}: factory(context, **params) failed: {e}") from e
    except (Terminated, CtrlC):
        raise
    except (Exception, SystemExit, KeyboardInterrupt) as e:
        raise _plugin_error(where, "the factory", e) from e
    missing = [f"{m}()" for m in ("fit", "predict") if not callable(getattr(system, m, None))]
    if missing:
        raise PluginError(f"{where}: the factory returned {type(system).__name__}, which has no {' or '.join(missing)}")
    # the plugin's own errors are re-raised naming the run they happened in
    try:
        with _plugin_call():
            system.fit(parts["train"], parts["valid"])
    except (Terminated, CtrlC):
        raise
    except (Exception, SystemExit, KeyboardInterrupt) as e:
        raise _plugin_error(where, "fit()", e) from e
    try:
        with _plugin_call():
            scores = system.predict(parts["test"])
    except (Terminated, CtrlC):
        raise
    except (Exception, SystemExit, KeyboardInterrupt) as e:
        raise _plugin_error(where, "predict()", e) from e
    return check_scores(scores, len(test_ids), len(context.genres), where, test_ids, context.genres)


class CtrlC(KeyboardInterrupt):
    """An interrupt that came as a signal (Ctrl-C), told apart from a KeyboardInterrupt a plugin raises itself."""


def _raise_ctrl_c(signum, frame):
    raise CtrlC()


class ProcessExit(SystemExit):
    """``os._exit(code)`` called by a plugin's own code (in the job's process): raised instead of ending the process
    there, so the job names the run rather than ending with no output and no word."""


@contextlib.contextmanager
def _plugin_call():
    """Around a plugin's call: give the working folder back after it (one that changes it, os.chdir, must not move
    the run's relative paths, its outputs and logs, with it), while it runs let a Ctrl-C raise :class:`CtrlC`, so
    that a KeyboardInterrupt the plugin raises itself is reported as the plugin's error, naming the run, and turn an
    ``os._exit`` in the job's own process into :class:`ProcessExit`."""
    folder = os.getcwd()
    # Python's own SIGINT handler only, and only in the main thread (where signal handlers live)
    ours = (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if ours:
        signal.signal(signal.SIGINT, _raise_ctrl_c)
    real_exit, job, caller = os._exit, os.getpid(), threading.get_ident()

    def exit_in_plugin(code):
        # a forked child (multiprocessing, a data loader's worker) ends as it means to, and so does the process
        # from another thread of the plugin's (a loader giving up): raised there, the exit would end that thread alone
        if os.getpid() != job or threading.get_ident() != caller:
            real_exit(code)
        raise ProcessExit(code)

    os._exit = exit_in_plugin
    try:
        yield
    finally:
        os._exit = real_exit
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(folder)


def threads_left_running() -> list[str]:
    """The names of the threads other than the main one still running and not daemons: Python waits for each of them
    before the process ends."""
    return sorted(t.name for t in threading.enumerate()
                  if t is not threading.main_thread() and t.is_alive() and not t.daemon)


THREAD_GRACE_S = 30.0
"""Seconds a job's process may take to end after its custom system's last call: Python's own shutdown (executors'
workers stopped, threads joined, atexit hooks run) takes well under a second where the plugin's threads end."""


def end_job_within(where: str, exit_code: int, grace_s: float = THREAD_GRACE_S) -> threading.Timer:
    """Arm a watchdog that ends the job's process after ``grace_s`` seconds, with ``exit_code``, naming the threads
    that kept it from ending; where the plugin's threads end, the process ends by itself well before that.

    Python waits for every thread that is not a daemon before a process ends: a plugin that leaves one running (a
    loader, a logger) held its job open, forever for a thread that never ends, the predictions written (or the
    error logged). Called by the workflow's job script after the plugin's last call, on success (0) and failure (1)
    alike; the normal shutdown then stops executors' workers and runs atexit hooks as ever.

    Returns
    -------
    threading.Timer
        The watchdog, a daemon thread (it never holds the process itself).
    """
    def end_now():
        left = threads_left_running()
        log.warning("%s: the job's process has not ended %g s after the plugin's last call: %d thread(s) of the "
                    "plugin still running (%s); ended now (exit status %d). A custom system should stop its threads "
                    "before predict() returns, or start them as daemon threads", where, grace_s, len(left),
                    ", ".join(left) or "none left", exit_code)
        logging.shutdown()  # the logs flushed and closed: os._exit skips the interpreter's own shutdown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)

    watchdog = threading.Timer(grace_s, end_now)
    watchdog.daemon = True
    watchdog.name = "mgrfaults-end-of-job"
    watchdog.start()
    return watchdog


def _plugin_error(where: str, call: str, error: BaseException) -> PluginError:
    # sys.exit in a plugin (argparse on bad arguments does it) would end the job with no output and no word,
    # which Snakemake reports as missing outputs ("filesystem latency"). A SIGTERM (Terminated: a time limit,
    # scancel) and an interrupt (Ctrl-C) are not the plugin's doing: the callers let them through
    if isinstance(error, SystemExit):
        how = "os._exit" if isinstance(error, ProcessExit) else "sys.exit"
        return PluginError(f"{where}: {call} called {how}({error.code!r}); a custom system must return or "
                           "raise an exception, not exit the process")
    if isinstance(error, KeyboardInterrupt):  # not CtrlC: raised by the plugin's code, no Ctrl-C came
        return PluginError(f"{where}: {call} raised KeyboardInterrupt itself, with no Ctrl-C; a custom system must "
                           "raise an ordinary exception")
    return PluginError(f"{where}: {call} raised {type(error).__name__}: {error}")


def _reader(input_kind: str, store, sample_rate: int, max_duration: float, trusted=frozenset()):
    """A part's reader of one excerpt, ``(track_id, path) -> float32 array``; ``trusted``: the track ids
    ``dataset.trust_audio`` names, whose audio is taken as it decodes."""
    if input_kind == "audio":
        from mgrfaults.data.audio import load_audio

        return lambda tid, path: load_audio(path, sample_rate=sample_rate, max_duration=max_duration,
                                            judge_content=tid not in trusted)
    return lambda tid, path: np.asarray(store.read(tid), dtype=np.float32)


def custom_system_files(
    name: str, spec: dict, partition_csv, metadata_csv, feature_paths, seed: int, predictions_out,
    condition: str, fold: int, device: str = _SYSTEMS["device"], threads: int = 1, sample_rate: int = _DATASET["sample_rate"],
    max_duration: float = _DATASET["max_duration"], expected_params=None, data_entries=(),
):
    """Run custom system ``name`` on one condition/fold and write its test predictions.

    Parameters
    ----------
    spec : dict
        ``systems.custom.<name>``: ``factory``, ``input``, ``params``.
    feature_paths : list of path
        The feature shards of ``spec["input"]`` (frames or texture); empty for audio.
    seed : int
        The run's derived seed.
    data_entries : sequence of str
        ``systems.custom.<name>.files`` as configured: a system that writes there (a checkpoint into its weights'
        folder) changes its own jobs' inputs, so that every later run runs it again; a warning says so.

    Returns
    -------
    DataFrame
        The predictions (track_id, true, predicted, score_<genre>), as written.
    """
    from threadpoolctl import threadpool_limits

    from mgrfaults.data.metadata import audio_trusted, read_metadata
    from mgrfaults.systems.learned import predictions_frame
    from mgrfaults.systems.parts import open_store, run_parts

    t0 = time.perf_counter()
    data_key = f"systems.custom.{name}.files"
    data_before = _data_files_state(data_entries, data_key)
    input_kind = spec["input"]
    if input_kind not in INPUTS:
        raise PluginError(f"systems.custom.{name}.input: one of {list(INPUTS)}, got {input_kind!r}")
    factory = load_factory(spec["factory"], where=f"systems.custom.{name}.factory")
    parts_ids, labels, label_order = run_parts(partition_csv, metadata_csv)
    meta = read_metadata(metadata_csv)
    # absolute: a plugin that changes the working folder still reads its excerpts and features
    path_of = dict(zip(meta["track_id"], map(os.path.abspath, meta["path"])))
    feature_paths = [os.path.abspath(p) for p in feature_paths]
    store = None if input_kind == "audio" else open_store(feature_paths, expected_params)
    read = _reader(input_kind, store, sample_rate, max_duration, frozenset(meta["track_id"][audio_trusted(meta)]))
    parts = {
        p: Part(p, ids, None if p == "test" else [labels[t] for t in ids], [path_of[t] for t in ids], read)
        for p, ids in parts_ids.items()
    }
    context = SystemContext(
        name=name, condition=condition, fold=int(fold), genres=tuple(label_order), seed=int(seed), input=input_kind,
        device=resolve_plugin_device(device), threads=int(threads), sample_rate=int(sample_rate),
        max_duration=float(max_duration), feature_params=dict(getattr(store, "params", None) or {}),
    )
    # after the device is resolved ("auto": cuda where the plugin itself imported torch), torch is imported where
    # installed, so that a plugin importing it later runs on these threads and is seeded (seed_everything)
    if (torch := _torch_if_installed()) is not None:
        torch.set_num_threads(int(threads))
    with threadpool_limits(limits=int(threads)):
        scores = run_custom_system(factory, context, dict(spec.get("params") or {}), parts)
    test_ids = parts_ids["test"]
    df = predictions_frame(test_ids, [labels[t] for t in test_ids], scores.argmax(axis=1), scores, label_order)
    write_csv_atomic(df, predictions_out)
    data_after = _data_files_state(data_entries, data_key)
    written = sorted(p for p in data_before.keys() | data_after.keys() if data_before.get(p) != data_after.get(p))
    if written:
        log.warning("%s (%s, fold %s) wrote into its own data files (%s: %d written, added or removed: %s): they are "
                    "the inputs of its jobs, so the next run runs it again, and all that follows it; have it save "
                    "elsewhere", name, condition, fold, data_key, len(written), written[:5])
    log.info("%s (%s, fold %s): %s input, %d test excerpts, %.1f s", name, condition, fold, input_kind, len(df),
             time.perf_counter() - t0)
    return df


def _data_files_state(entries, key: str) -> dict:
    """Path -> (size, mtime in ns) of each file ``systems.custom.<name>.files`` names as the workflow reads it
    (:func:`plugin_data_files`), to tell whether a run changed them; nothing where none is named or it fails."""
    try:
        return _file_stats(plugin_data_files(entries, key))
    except PluginError:  # removed meanwhile: the next run's start says so
        return {}



def reserved_system_names(builtin_names, n_hidden_layers: int = STUDY_HIDDEN_LAYERS) -> set[str]:
    """The system names a run's built-in systems use: theirs, and each trained net's two decisions (``<net>``,
    ``<net>_sum``), which the net's training job writes whether or not they are in ``systems.run``."""
    reserved = set(builtin_names)
    for name in builtin_names:
        with contextlib.suppress(InputError):  # an unknown name is refused where the built-in systems resolve
            spec = parse_system(name, n_hidden_layers)
            if spec.kind == "dnn":
                reserved |= {spec.net, f"{spec.net}_sum"}
    return reserved


def custom_system_specs(custom: dict, builtin_names, search_dirs=(), n_hidden_layers: int = STUDY_HIDDEN_LAYERS,
                        results=None) -> dict:
    """The ``systems.custom`` section checked for the workflow: names, inputs, factory files made absolute.

    Parameters
    ----------
    custom : dict
        ``systems.custom``: name -> {factory, input, params}.
    builtin_names : list of str
        ``systems.run``; a custom system may not take one of their names (:func:`reserved_system_names`).
    search_dirs : list of path
        Where a relative ``.py`` factory is looked for, in order (working folder, workflow folder).
    results : str or Path, optional
        The results folder, which no ``files`` entry may hold or lie in (:func:`plugin_data_files`).

    Returns
    -------
    dict
        name -> {factory (file paths absolute), input, params, files (absolute, :func:`plugin_data_files`)}.
    """
    out = {}
    reserved = reserved_system_names(builtin_names, n_hidden_layers)
    for name, spec in (custom or {}).items():
        key = f"systems.custom.{name}"
        if not re.fullmatch(r"[A-Za-z0-9_]+", str(name)):
            raise PluginError(f"{key}: a system name holds letters, digits and _ only (it names folders and table rows)")
        if name in builtin_names:
            raise PluginError(f"{key}: {name!r} is also in systems.run; give the custom system its own name")
        if name in reserved:
            raise PluginError(f"{key}: {name!r} names the predictions a net of systems.run writes ({name} is one of "
                              "the two decisions of a trained net: <net> and <net>_sum); give the custom system its "
                              "own name")
        if spec.get("input") not in INPUTS:
            raise PluginError(f"{key}.input: one of {list(INPUTS)}, got {spec.get('input')!r}")
        for param, value in (spec.get("params") or {}).items():
            if param == "context":  # else the job fails after features and partitions (audit 49)
                raise PluginError(f"{key}.params.context: the factory is called as factory(context, **params), its "
                                  "first argument the run's context: give the parameter another name")
            if number := yaml11_text_number(value):
                # PyYAML (YAML 1.1) reads `lr: 1e-3` as text; a factory doing arithmetic with it fails far from here
                log.warning("%s.params.%s: %r reaches the factory as text, as YAML 1.1 reads a number in exponent "
                            "form without a dot and a signed exponent; for the number write %s", key, param, value,
                            number)
        out[name] = {
            "factory": resolve_factory(spec.get("factory", ""), search_dirs, where=f"{key}.factory"),
            "input": spec["input"],
            "params": dict(spec.get("params") or {}),
            "files": plugin_data_files(spec.get("files") or [], f"{key}.files", results),
        }
    return out


def custom_parts_fit_on(custom: dict) -> dict[str, tuple[str, ...]]:
    """The parts each custom system learns from, as ``systems.custom.<name>.fit_on`` declares them: ``("train",)`` or
    ``("train", "valid")``. The protocol hands ``fit`` both parts with their labels and cannot tell what it does with
    them, so the attribution (:func:`mgrfaults.evaluation.attribution.attribution_table`) counts seen what is
    declared."""
    return {name: ("train", "valid") if (spec or {}).get("fit_on") == "train_valid" else ("train",)
            for name, spec in (custom or {}).items()}


def plugin_files_stamp(files) -> str:
    """SHA-256 of each file's path, size and modification time (ns): it changes when any of ``files`` is replaced,
    also by a copy with an older time (``cp -p``, an unpacked download), which Snakemake's newer-than-output test
    misses. Sizes and times, not contents: a plugin's weights can be gigabytes, read at every start."""
    digest, stats = hashlib.sha256(), _file_stats(files)
    for path in files:
        if path in stats:  # one removed meanwhile: the job's missing input says so
            digest.update(f"{path}\0{stats[path][0]}\0{stats[path][1]}\0".encode())
    return digest.hexdigest()


def _file_stats(files) -> dict:
    """Path -> (size, mtime in ns) of each of ``files`` that can be stat'ed, in their order."""
    stats = {}
    for path in files:
        with contextlib.suppress(OSError):
            stat = os.stat(path)
            stats[path] = (stat.st_size, stat.st_mtime_ns)
    return stats


def plugin_data_files(paths, key: str, results=None) -> list[str]:
    """``systems.custom.<name>.files`` as the absolute paths of files, a folder replaced by the files below it
    (sorted; hidden ones and Python's bytecode, ``__pycache__``, left out): the inputs of the system's jobs.

    Parameters
    ----------
    paths : sequence of str
        The entries, relative to the working folder.
    key : str
        ``systems.custom.<name>.files``, for the messages.
    results : str or Path, optional
        The results folder. An entry holding the folders the rules write into there
        (:data:`mgrfaults.config.RESULTS_SUBFOLDERS`) would make the workflow's own outputs (the system's predictions
        among them) its inputs, changed by every run: each later run would run the system again, and Snakemake,
        having removed the job's outputs first, would then miss them as inputs ("Missing files ... filesystem
        latency"); an entry inside one names the workflow's outputs as a plugin's data. (With ``results: .`` the
        project folder's other folders, a plugin's weights, are no outputs.)

    Raises
    ------
    PluginError
        A path that does not exist, a folder without a file, or (``results``) a path that holds the results folder
        or lies in it, naming ``key`` and its index.
    """
    from mgrfaults.config import RESULTS_SUBFOLDERS

    files = []
    # what the rules write into (with `results: .` the project folder itself holds the plugin's weights)
    outputs = [] if results is None else [
        Path(os.path.realpath(Path(results).expanduser() / sub)) for sub in RESULTS_SUBFOLDERS]
    for i, value in enumerate(paths):
        path = Path(value).expanduser().absolute()
        if outputs and path.exists():
            real = Path(os.path.realpath(path))
            if _leads_to_outputs(real, outputs):
                where = ("is a folder" if real in outputs else "lies in a folder"
                         if any(real.is_relative_to(out) for out in outputs) else "holds the folders")
                raise PluginError(f"{key}[{i}]: {value!r} {where} the workflow writes into (results: {str(results)!r}): "
                                  "a custom system's data files are the inputs of its jobs, and the workflow's outputs "
                                  "change at every run; list the plugin's weights and settings, or a folder holding "
                                  "them alone, outside the folders the workflow writes into")
        if path.is_dir():
            below, linked = _data_files_below(path, outputs)
            if linked is not None:  # a link below the folder leading into the workflow's outputs
                raise PluginError(f"{key}[{i}]: {value!r} holds {str(linked)!r}, which leads to a folder the workflow "
                                  f"writes into (results: {str(results)!r}); the workflow's outputs change at every run: "
                                  "list the plugin's weights and settings alone")
            if not below:
                raise PluginError(f"{key}[{i}]: {value!r} is a folder without a file")
            files += below
        elif path.is_file():
            files.append(str(path))
        else:
            raise PluginError(f"{key}[{i}]: {value!r} does not exist (a plugin's data files, relative to the "
                              "working folder)")
    return files


def _leads_to_outputs(real, outputs) -> bool:
    """Whether the real path ``real`` is, lies in or holds one of ``outputs`` (real paths of the folders the workflow
    writes into)."""
    return any(Path(real).is_relative_to(out) or out.is_relative_to(real) for out in outputs)


def _data_files_below(folder: Path, outputs=()) -> tuple[list[str], str | None]:
    """The files below ``folder``, sorted, as spelt below it: linked sub-folders followed (weights kept on another
    disk, ``weights/big -> /data/models``; each real folder once), hidden ones and Python's bytecode (written into a
    plugin's own folder as the job imports it, ``__pycache__``) left out; and the first link below it that leads
    into or holds one of ``outputs`` (real paths of the folders the workflow writes into), broken ones too (a link to
    an output folder not made yet), or None. One ``realpath`` per folder and per link: a large tree is read at
    every start."""
    found, seen, linked = [], set(), None
    for top, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:  # a link looping back, or two links to one folder
            dirs[:] = []
            continue
        seen.add(real)
        if linked is None and _leads_to_outputs(real, outputs):
            linked = top
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for name in names:
            path = os.path.join(top, name)
            if name.startswith(".") or name.endswith(".pyc"):
                continue
            if linked is None and os.path.islink(path) and _leads_to_outputs(os.path.realpath(path), outputs):
                linked = path
            if os.path.isfile(path):
                found.append(path)
    return sorted(found), linked


__all__ = [
    "INPUTS", "Part", "PluginError", "ReadOnlyList", "SystemContext", "check_scores", "custom_system_files", "custom_system_specs",
    "load_factory", "plugin_code_digest", "plugin_code_files", "plugin_data_files", "plugin_files_stamp", "plugin_source_file",
    "reserved_system_names", "resolve_factory",
    "run_custom_system", "split_factory",
]
