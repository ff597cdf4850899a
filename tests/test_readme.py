"""The README's and the presets' Snakemake commands parse as Snakemake parses them.

`--configfile` takes several values, so a target written after it is read as a config file and the
command fails before it plans anything. This reads every `snakemake ...` command the README shows
(code blocks and inline code) and the commands in the presets' header comments, and parses each with
Snakemake's own argument parser.
"""

from __future__ import annotations

import re
import shlex

import pytest
from snakemake.cli import get_argument_parser

from conftest import REPO

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def shown_commands() -> list[tuple[str, str]]:
    """(where, command) for every `snakemake` command in README.md and config/*.yaml comments."""
    commands = []
    readme = (REPO / "README.md").read_text()
    for block in re.findall(r"```bash\n(.*?)```", readme, flags=re.S):
        for line in block.splitlines():
            if line.startswith("snakemake "):
                commands.append(("README.md", line.split("#")[0]))
    for inline in re.findall(r"`(snakemake [^`]+)`", readme):
        for command in inline.split("&&"):
            commands.append(("README.md", " ".join(command.split())))
    for preset in sorted((REPO / "config").glob("*.yaml")):
        for line in preset.read_text().splitlines():
            found = re.match(r"#\s+(snakemake .*)", line)
            if found:
                commands.append((preset.name, found.group(1)))
    return commands


def test_the_readme_shows_commands():
    where = {w for w, _ in shown_commands()}
    assert "README.md" in where and "sweep.yaml" in where


@pytest.mark.parametrize("where,command", shown_commands())
def test_shown_command_parses(where, command):
    words = [w for w in shlex.split(command)[1:] if not w.startswith("<") and "[" not in w]
    args = get_argument_parser().parse_args(words)
    for configfile in args.configfile or []:
        assert str(configfile).endswith(CONFIG_SUFFIXES), (
            f"{where}: `{command}` reads {configfile!r} as a config file (put targets before --configfile)"
        )
        # my_*: the README's placeholder for the reader's own file; results/*: a file a run writes (configuration.yaml)
        if not str(configfile).startswith(("my_", "results/")):
            assert (REPO / configfile).is_file(), f"{where}: `{command}` names a missing config file {configfile}"
