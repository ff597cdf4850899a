"""``mgrfaults``: the command line beside the workflow.

``mgrfaults check-config FILE ...`` reads config files as ``snakemake --configfile FILE ...`` would and checks
them as the workflow does when it starts, without Snakemake: a file Snakemake cannot read (a YAML syntax
error, a tab in an indentation, Latin-1 text, a missing file) is named with its line and column, where
Snakemake says only ``Config file is not valid JSON or YAML`` or prints a traceback. It prints what the run
would be, or every value the run uses (``--print``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import yaml

from mgrfaults.config import REPO, ConfigError, load_config, resolve
from mgrfaults.errors import InputError


def check_config_files(files) -> tuple[dict, object]:
    """The configuration a run with ``--configfile FILES`` gets, checked as the workflow checks it at start.

    Parameters
    ----------
    files : list of str or Path
        Config files, later ones over earlier ones, all over the embedded default (``config/config.yaml``).

    Returns
    -------
    config : dict
        The validated configuration, every default filled.
    resolved : mgrfaults.config.ResolvedConfig
        It resolved (:func:`mgrfaults.config.resolve`).

    Raises
    ------
    ConfigError, InputError
        Naming the file or the key, and the problem.
    """
    from mgrfaults.data.annotations import gtzan_source_problem
    from mgrfaults.systems.custom import custom_system_specs
    from mgrfaults.systems.names import resolve_systems
    from mgrfaults.workdir import results_owner_problem

    config = load_config(*files)
    resolved = resolve(config)
    # what the workflow's stage files refuse when they are read, before any job
    if resolved.dataset.source == "gtzan" and (problem := gtzan_source_problem(resolved.dataset.gtzan)):
        raise InputError(problem)
    owner = results_owner_problem(resolved.results, Path.cwd())
    if owner:
        raise ConfigError(owner)
    systems = config["systems"]
    resolve_systems(systems)  # an unknown system name, or a layer the nets lack
    with snakemake_import_path():
        custom_system_specs(systems["custom"], list(resolved.systems), [Path.cwd(), REPO],
                            n_hidden_layers=systems["dnn"]["hidden_layers"], results=config["results"])
    return config, resolved


@contextlib.contextmanager
def snakemake_import_path():
    """This process's ``sys.path`` as a ``snakemake`` run's has it while the block runs, for the custom systems'
    module lookup (:func:`mgrfaults.systems.custom.module_found`): the workflow's folder on it (the Snakefile's),
    and the working folder not, unless PYTHONPATH names it (``python -m mgrfaults`` put it first)."""
    from mgrfaults.systems.custom import pythonpath_folders

    cwd, saved = os.getcwd(), list(sys.path)
    sys.path[:] = [p for p in saved if os.path.abspath(p or ".") != cwd or cwd in pythonpath_folders()]
    sys.path.append(str(REPO))
    try:
        yield
    finally:
        sys.path[:] = saved


def run_outline(config: dict, resolved) -> str:
    """A few lines saying what a run with ``config`` (``resolved``: :func:`check_config_files`' second value) does: its
    results folder, dataset, conditions and systems."""
    dataset = resolved.dataset
    where = dataset.root or ""
    conditions = ", ".join(f"{c.name} ({c.options['method']}, {c.n_folds} fold{'s' * (c.n_folds > 1)})"
                           for c in resolved.conditions.values())
    custom = list(config["systems"]["custom"] or {})
    return "\n".join([
        f"results: {resolved.results}",
        f"dataset: {dataset.source}" + (f" ({where})" if where else ""),
        f"conditions: {conditions}",
        f"systems: {len(resolved.systems)} of systems.run" + (f", custom: {', '.join(custom)}" if custom else ""),
        f"compare: {' - '.join(resolved.evaluate.compare) or 'none'}",
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="mgrfaults", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check-config", help="check config files as `snakemake --configfile FILE ...` would read and check them",
        description="Read config files as `snakemake --configfile FILE ...` does, over the embedded default, and "
                    "check them as the workflow does at start; a file that does not parse is named with its line.")
    check.add_argument("files", nargs="*", metavar="FILE", help="config files, later ones over earlier ones")
    check.add_argument("--print", action="store_true", dest="print_all",
                       help="print every value the run uses (the schema's defaults filled), as YAML")
    args = parser.parse_args(argv)
    try:
        config, resolved = check_config_files(args.files)
        outline = run_outline(config, resolved)
    except (ConfigError, InputError) as e:
        print(f"mgrfaults check-config: {e}", file=sys.stderr)
        return 2
    if args.print_all:
        print(yaml.safe_dump(config, sort_keys=False), end="")
    else:
        print(f"{' '.join(args.files) or 'the embedded default'}: valid\n{outline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
