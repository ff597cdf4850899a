"""results/summary.md: the accuracy and normalised-accuracy tables a reader quotes, with their provenance.

Rows are systems (in ``systems.run`` order), columns the conditions, then the difference between the
two compared conditions (the study's tables: standard, fault-filtered, drop). Each cell is the mean
over folds in percent with its interval, as in ``tables/accuracy_<condition>.csv``; the number of test
excerpts per condition is given beside it. When ``resources/published_accuracies.csv`` holds the study's
published values, they are shown next to the measured ones. The page names the git commit and the
digest of the configuration that produced it, so a README table copied from it can be traced.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import yaml

from mgrfaults.errors import InputError
from mgrfaults.config import SYNTHETIC_PRESETS, config_as_run, section_defaults
from mgrfaults.logs import report_path, snakemake_program

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_EVALUATE = section_defaults("evaluate")

PUBLISHED_COLUMNS = ["system", "condition", "accuracy", "normalized_accuracy", "source"]
METRICS = (("accuracy", "Accuracy"), ("normalized_accuracy", "Normalised accuracy (mean per-class recall)"))


#: how results/summary.md names its configuration digest: written by summary_markdown, read back by
#: stale_report_problem
DIGEST_IN_SUMMARY = "configuration digest `{}`"
#: and the digest of its input files' states (:func:`inputs_digest`), likewise
INPUTS_DIGEST_IN_SUMMARY = "inputs digest `{}`"


def config_digest(config: Mapping) -> str:
    """SHA-256 (first 16 hex digits) of the configuration as canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def inputs_digest(stamps: Mapping) -> str:
    """SHA-256 (first 16 hex digits) of what the workflow knows of its input files' states, as canonical JSON.

    ``stamps`` holds what its jobs take as rerun triggers (a folder of audio's manifest, the annotations' and a
    published condition's own lists' SHA-256, a custom system's code digest and data files' stamps, the published
    accuracies' SHA-256): a file edited in place leaves the configuration as it was, so its digest alone would not
    tell a report built from the earlier files' results (:func:`stale_report_problem`).
    """
    return config_digest(stamps)


def configuration_file_text(config: Mapping, digest: str, path: str, snakefile: str | None = None) -> str:
    """``<results>/configuration.yaml``: a run's configuration as a file that gives it again.

    Parameters
    ----------
    config : mapping
        The run's validated configuration (every default filled in).
    digest : str
        Its :func:`config_digest`, as ``summary.md`` names it.
    path : str
        Where the file is written, for the commands in its header.
    snakefile : str, optional
        The ``-s`` value the run needed (:func:`mgrfaults.logs.snakefile_argument`): the commands name it.

    Returns
    -------
    str
        YAML of :func:`mgrfaults.config.config_as_run`, after a comment naming the digest and the commands that
        run the configuration again and build its report.
    """
    sweep = bool(config.get("sweep", {}).get("enabled"))
    target = snakemake_program(snakefile) + (" sweep" if sweep else "")
    report = report_path(Path(path).parent, sweep)
    header = (f"# This results folder's configuration as it ran, every default filled in "
              f"({DIGEST_IN_SUMMARY.format(digest)}).\n"
              f"# The same configuration runs again, and builds its report, with:\n"
              f"#   {target} --cores all --configfile {shlex.quote(path)}\n"
              f"#   {target} --report {shlex.quote(report)} --configfile {shlex.quote(path)}\n")
    dataset = config.get("dataset", {})
    preset = dataset.get("synthetic", {}).get("preset")
    if dataset.get("source") == "synthetic" and preset in SYNTHETIC_PRESETS:
        # the file keeps the values the preset overrides (given with it, other values are refused): say what ran
        n_per_genre, duration = SYNTHETIC_PRESETS[preset]
        header += (f"# dataset.synthetic.preset {preset!r} made {n_per_genre} excerpts of {duration:g} s per genre: "
                   "the n_per_genre and duration below are the defaults it overrides.\n")
    return header + yaml.dump(config_as_run(config), Dumper=_WithoutAliases, sort_keys=False, allow_unicode=True)


class _WithoutAliases(yaml.SafeDumper):
    """Every value written out where it is used: a default the validator shared between two conditions would
    otherwise be written once as an anchor (``&id001``) and then as aliases."""

    def ignore_aliases(self, data):
        return True


def git_commit(repo: str | Path) -> str:
    """The checkout's commit (``git rev-parse HEAD``), ``+dirty`` when tracked files differ from it;
    ``unknown (not a git checkout)`` without git or outside a repository."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def report_requested(argv) -> bool:
    """Whether Snakemake's command line ``argv`` builds a report from the files as they are: ``--report [PATH]`` or
    ``--report=PATH``, without ``--report-after-run`` or its start (which runs the workflow first)."""
    argv = [str(a) for a in argv]
    # argparse takes a long option's unambiguous start: `--report-after` is `--report-after-run`
    after_run = any(len(a) > len("--report-") and "--report-after-run".startswith(a) for a in argv)
    return not after_run and any(a == "--report" or a.startswith("--report=") for a in argv)


def stale_report_problem(results, expected_runs, digest: str, inputs: str | None = None) -> str | None:
    """Why a report built now from ``results`` would not describe this configuration, or None.

    ``snakemake --report`` runs nothing: it bundles the files as they are. Refused here: the first page's answer
    not built yet; a runs table lacking this configuration's runs or holding others
    (:func:`mgrfaults.evaluation.tables.stale_runs_table`); a summary made under another configuration (its
    digest, :func:`config_digest`, differs: a seed, a condition's method, ``evaluate.compare`` changed and not
    run since); a summary made from other input files (its :func:`inputs_digest` differs: audio, annotations, a
    published condition's own lists, a custom system's code or data files, the published accuracies changed in
    place); a dataset made again after the summary (``dataset/metadata.csv`` newer: ``dataset_check`` under
    another configuration, then the report asked for under the first); a page of the report older than a table it
    is made from (:data:`REPORT_PAGES_FROM`: a run stopped between the two).

    Parameters
    ----------
    results : str or Path
        The results folder.
    expected_runs : iterable of (system, condition, fold)
        This configuration's runs.
    digest : str
        This configuration's :func:`config_digest`.
    inputs : str, optional
        The :func:`inputs_digest` of the input files as they are now; None: not checked.
    """
    from mgrfaults.evaluation.tables import stale_runs_table

    results = Path(results)
    rerun = ("Run snakemake with this configuration first (the same --configfile and --config, and without "
             "`--rerun-triggers mtime`, under which a changed configuration reruns nothing), then --report")
    if not (results / "report" / "answer.html").exists():
        return (f"{results / 'report' / 'answer.html'} is not built: the report's first page shows it. {rerun} "
                "(the dataset_check target builds the dataset's profile only: results/faults/profile.md)")
    problem = stale_runs_table(results / "tables" / "runs.csv", expected_runs)
    if problem:
        return problem
    summary = results / "summary.md"
    text = summary.read_text(errors="replace") if summary.exists() else ""
    made = _digest_named(text, DIGEST_IN_SUMMARY)
    if made and made != digest:
        return (f"{summary} was made under configuration digest {made}, this configuration's is {digest}: "
                f"the report would show an earlier configuration's results as this one's. {rerun}")
    made = _digest_named(text, INPUTS_DIGEST_IN_SUMMARY)
    if made and inputs and made != inputs:
        return (f"{summary} was made from input files that have changed since (its inputs digest {made}, "
                f"theirs now {inputs}: audio under the dataset's root, the annotations, a published condition's "
                "own lists, a custom system's code or data files, or resources/published_accuracies.csv, edited "
                "in place): the report would show the earlier files' results as theirs. `snakemake -n` lists the "
                f"jobs they rerun. {rerun}")
    # a run stopped after the tables were made again, before the pages and figures made from them were (a target
    # or --until short of the report's files, a Ctrl-C): the summary above is new, the first page not (audit 55)
    for made, sources in REPORT_PAGES_FROM.items():
        newer = [source for source in sources if _made_after(results / source, results / made)]
        if newer:
            return (f"{results / made} is older than {results / newer[0]}, which it is made from: a run stopped "
                    f"before the report's pages were made again from its tables. {rerun}")
    metadata = results / "dataset" / "metadata.csv"
    if summary.exists() and _made_after(metadata, summary):
        # the dataset was made again since (a dataset_check under another seed, say): the results are of the old one
        return (f"{metadata} is newer than {summary}: the dataset was made again after the results were, so the "
                f"report would show the new dataset's profile beside the old one's results. {rerun}")
    return None


REPORT_PAGES_FROM = {
    "report/answer.html": ("tables/runs.csv", "tables/difference.csv", "tables/attribution.csv",
                           "figures/accuracy_by_condition.png", "faults/profile.csv"),
    "figures/accuracy_by_condition.png": ("tables/runs.csv",),
    "figures/normalized_accuracy_by_condition.png": ("tables/runs.csv",),
}
"""Files of the report (relative to the results folder) and tables they are made from, directly or through others:
a source newer than its page means a run that stopped before the page was made again."""
MTIME_SLACK_S = 2.0
"""Seconds by which a source may be newer than what is made from it before the page counts as stale: a copy of a
results folder (``cp -r`` without ``-p``) gives its files the times of the copy, in its own order."""


def _made_after(source: Path, made: Path) -> bool:
    """Whether ``source`` (both present) was written more than :data:`MTIME_SLACK_S` after ``made``."""
    return (source.exists() and made.exists()
            and source.stat().st_mtime > made.stat().st_mtime + MTIME_SLACK_S)


def _digest_named(text: str, template: str) -> str | None:
    """The digest a summary's ``text`` names as ``template`` (:data:`DIGEST_IN_SUMMARY`,
    :data:`INPUTS_DIGEST_IN_SUMMARY`) writes it, or None."""
    made = re.search(re.escape(template).replace(re.escape("{}"), "([0-9a-f]+)"), text)
    return made.group(1) if made else None


def read_published(path) -> pd.DataFrame:
    """The study's published accuracies: rows with at least one value (percent, 0-100).

    Raises
    ------
    InputError
        Naming the file: text that is not UTF-8 CSV, a row with more fields than the header (an unquoted comma in
        ``source``), missing columns, a column of another name or given twice (names blind to case and spaces;
        ``#`` comment lines before the header and a spreadsheet's trailing commas are skipped), a value that is not a
        number in [0, 100], values that are all fractions (0.85 for 85 %) or one fraction among percentages, a value
        without its system or condition, a system and condition given twice.
    """
    from mgrfaults.data.annotations import _without_preamble, blank_columns, table_column_names
    from mgrfaults.data.metadata import csv_layout, read_csv_text, read_text_checked

    # '#' comment lines before the header skipped, as an annotations table's and a partition list's are
    content = _without_preamble(read_text_checked(path, "the published accuracies"), path, PUBLISHED_COLUMNS,
                                "the published accuracies")
    df = read_csv_text(content, path, "the published accuracies")
    # each row's line in the file, as a refusal names it: pandas skips blank lines, and a quoted source may run over two
    header, lines = csv_layout(content)
    df.index = pd.Index(lines if len(lines) == len(df) else range(2, len(df) + 2), dtype=int)
    # a column of another name (normalised_accuracy) or given twice would be dropped without a word (audit 49); names
    # are blind to case and spaces, as the annotations' are
    written = dict(zip(df.columns, header if len(header) == len(df.columns) else [str(c) for c in df.columns]))
    df = df.drop(columns=blank_columns(df))  # a spreadsheet's trailing commas: no name, no value
    df.columns = table_column_names([str(written[c]).strip() for c in df.columns], PUBLISHED_COLUMNS, path,
                                    "the published accuracies' table")
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; expected {PUBLISHED_COLUMNS}")
    for col in ("system", "condition", "source"):
        df[col] = df[col].str.strip()
    for col in ("accuracy", "normalized_accuracy"):
        text = df[col].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = (text != "") & (values.isna() | (values < 0) | (values > 100))
        if bad.any():
            raise InputError(f"{path}: column {col}, line {int(bad.idxmax())}: {text[bad].iloc[0]!r} "
                             "is not a percentage in [0, 100]")
        df[col] = values.where(text != "")
    given = pd.concat([df["accuracy"], df["normalized_accuracy"]]).dropna()
    if len(given) and (given <= 1).all() and (given > 0).any():
        raise InputError(f"{path}: every value is at most 1 ({', '.join(f'{v:g}' for v in given[:3])}, ...): the "
                         "values are percent (85.0 for 85 %), not fractions")
    for col in ("accuracy", "normalized_accuracy"):
        # one fraction among percentages (0.78 beside 81.2) would be shown as 0.8 %: no MGR system scores so
        fraction = (df[col] > 0) & (df[col] <= 1)
        if fraction.any():
            raise InputError(f"{path}: column {col}, line {int(fraction.idxmax())}: {df[col][fraction].iloc[0]:g} "
                             "is a fraction among percentages (an accuracy of 1 % or less is below any MGR system's "
                             "chance): write it in percent (78.0 for 0.78)")
    df = df[df["accuracy"].notna() | df["normalized_accuracy"].notna()]
    unnamed = df[(df["system"] == "") | (df["condition"] == "")]
    if len(unnamed):
        raise InputError(f"{path}: line {int(unnamed.index[0])}: a value without its "
                         f"{'system' if unnamed['system'].iloc[0] == '' else 'condition'}: name both")
    twice = df[df.duplicated(["system", "condition"], keep=False)]
    if len(twice):
        first = twice.iloc[0]
        lines = [str(i) for i in twice.index[(twice["system"] == first["system"])
                                                 & (twice["condition"] == first["condition"])]]
        raise InputError(f"{path}: {first['system']} under {first['condition']} is given on lines {', '.join(lines)}; "
                         "give each system and condition once")
    return df.reset_index(drop=True)


def unmatched_published(published: pd.DataFrame | None, systems: Sequence[str], conditions: Sequence[str]) -> str | None:
    """A sentence naming the published values a summary cannot show: of conditions or systems the run lacks.

    A condition name misspelled (``published_filterd``) or of another preset would otherwise leave its values out
    without a word. None where every row with a value is shown.
    """
    if published is None or published.empty:
        return None
    other_conditions = sorted(set(published["condition"]) - set(conditions))
    shown = published["condition"].isin(conditions)
    other_systems = sorted(set(published.loc[shown, "system"]) - set(systems))
    if not other_conditions and not other_systems:
        return None
    parts = []
    if other_conditions:
        parts.append(f"condition(s) {', '.join(other_conditions)} (this run's: {', '.join(conditions)})")
    if other_systems:
        parts.append(f"{len(other_systems)} system(s) this run does not have ({', '.join(other_systems[:5])}"
                     f"{', ...' if len(other_systems) > 5 else ''})")
    return "Published values not shown, of " + " and of ".join(parts) + " (`resources/published_accuracies.csv`)."


def _cell(mean, low, high) -> str:
    if _isnan(mean):
        return "-"
    if _isnan(low) or _isnan(high):
        return f"{100 * mean:.1f} [no interval]"  # evaluate.bootstrap: 0 asks for none
    return f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def summary_markdown(
    tables: Mapping[str, pd.DataFrame],
    systems: Sequence[str],
    compare: Sequence[str] | None,
    difference: pd.DataFrame | None,
    published: pd.DataFrame | None,
    commit: str,
    digest: str,
    command: str,
    confidence: float = _EVALUATE["confidence"],
    attribution: pd.DataFrame | None = None,
    dataset_findings: Sequence[str] = (),
    caveats: Sequence[str] = (),
    inputs: str | None = None,
) -> str:
    """The summary page.

    Parameters
    ----------
    tables : mapping
        Condition -> :func:`mgrfaults.evaluation.tables.condition_table` (fractions in [0, 1]).
    systems : sequence of str
        Row order.
    compare : (str, str) or None
        The conditions whose difference (first - second) is shown; None: no difference column.
    difference : DataFrame or None
        :func:`mgrfaults.evaluation.tables.difference_table` of ``compare``.
    published : DataFrame or None
        :func:`read_published` (percent); its values are shown beside the measured ones.
    commit, digest : str
        Provenance (:func:`git_commit`, :func:`config_digest`).
    command : str
        A command that makes the page again: ``--configfile`` of the run's ``configuration.yaml``
        (:func:`configuration_file_text`).
    confidence : float
        Of the intervals, for their heading.
    attribution : DataFrame, optional
        ``tables/attribution.csv`` (:mod:`mgrfaults.evaluation.attribution`): its accuracy per test group, pooled
        over folds, follows the tables (:func:`attribution_markdown`).
    dataset_findings : sequence of str
        :func:`mgrfaults.faults.profile.confound_findings` of the dataset, the page's last section.
    caveats : sequence of str
        What a reader must know before the tables (a partial dataset), each a paragraph under the provenance.
    inputs : str, optional
        The input files' :func:`inputs_digest`, named beside the configuration's.

    Returns
    -------
    str
        Markdown.
    """
    from mgrfaults.evaluation.attribution import confidence_label
    from mgrfaults.evaluation.tables import p_text

    conditions = list(tables)
    pub = {}
    if published is not None:
        for row in published.itertuples(index=False):
            pub[(row.system, row.condition)] = row
    lines = [
        "# Summary: accuracy by condition",
        "",
        f"Made with commit `{commit}`, {DIGEST_IN_SUMMARY.format(digest)} "
        f"(`mgrfaults.evaluation.summary.config_digest`)"
        + (f", {INPUTS_DIGEST_IN_SUMMARY.format(inputs)} (`inputs_digest`: the input files as they were)"
           if inputs else "")
        + f"; `{command}` makes it again (`configuration.yaml` beside "
        "this page: the run's configuration, every default filled in).",
        "",
        *[line for caveat in caveats for line in (f"**Note.** {caveat}", "")],
        f"Each cell: mean over folds, percent, [{confidence_label(confidence)} interval] (`tables/accuracy_<condition>.csv`: "
        "Clopper-Pearson, over several folds of their test excerpts pooled; the normalised accuracy's a bootstrap of "
        "adjusted recalls).",
    ]
    if compare:
        lines.append(f"Difference: {compare[0]} - {compare[1]} in points, with the test of `tables/difference.csv`.")
    lines.append("")
    size_row = " | ".join(
        f"{c}: " + ", ".join(sorted({str(int(n)) for n in tables[c]["n_test"]})) for c in conditions
    )
    lines += [f"Test excerpts per system: {size_row}.", ""]
    for metric, title in METRICS:
        header = ["system"] + conditions
        if compare:
            header += [f"{compare[0]} - {compare[1]} (points)"]
            if metric == "accuracy":
                header += ["p (test; Holm)"]
        published_cols = [c for c in conditions if any((s, c) in pub and not _isnan(getattr(pub[(s, c)], metric))
                                                       for s in systems)]
        header += [f"published {c}" for c in published_cols]
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for system in systems:
            cells = [system]
            for c in conditions:
                row = tables[c].set_index("system")
                if system not in row.index:
                    raise InputError(f"tables/accuracy_{c}.csv: no row for system {system!r}")
                r = row.loc[system]
                cells.append(_cell(r[f"{metric}_mean"], r[f"{metric}_ci_low"], r[f"{metric}_ci_high"]))
            if compare:
                d = difference.set_index("system").loc[system]
                key = "difference" if metric == "accuracy" else "normalized_difference"
                cells.append(f"{100 * d[key]:+.1f}")
                if metric == "accuracy":
                    cells.append(f"{p_text(d['p_value'], 2)} ({str(d['test']).split()[0]}; {p_text(d['p_holm'], 2)})")
            for c in published_cols:
                value = getattr(pub[(system, c)], metric) if (system, c) in pub else math.nan
                cells.append("-" if _isnan(value) else f"{value:.1f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if compare:
        lines += [P_VALUES_TEXT, ""]
        lines += artist_intervals_markdown(difference, compare, confidence)
        lines += tied_votes_markdown(difference, compare)
        lines += mislabelled_markdown(difference, compare)
    if published is None or published.empty:
        lines += ["The study's published accuracies: not filled in (`resources/published_accuracies.csv`).", ""]
    elif unmatched := unmatched_published(published, systems, conditions):
        lines += [unmatched, ""]
    if attribution is not None:
        lines += attribution_markdown(attribution, systems, conditions)
    if dataset_findings:
        lines += ["## The dataset", "", *[f"- {finding}" for finding in dataset_findings], "",
                  "Per genre, with how its files are stored: `faults/profile.md`.", ""]
    return "\n".join(lines)


P_VALUES_TEXT = (
    "p: the test's two-sided p-value for the system's difference (of the test excerpts pooled over folds, where the "
    "difference shown is the folds' mean: the two can differ with unequal folds); after the semicolon, Holm's "
    "adjustment for testing "
    "every system's difference together (a difference is significant at 5 % over the table where that one is below "
    "0.05). Both take the trained systems as fixed: they measure the chance of the test excerpts drawn, not that of "
    "a training seed.")
"""Under the summary's tables: what the p-values are and are not."""


def artist_intervals_markdown(difference: pd.DataFrame, compare: Sequence[str],
                              confidence: float = _EVALUATE["confidence"]) -> list[str]:
    """A paragraph with each system's difference interval when the test excerpts are clustered by artist
    (:func:`mgrfaults.evaluation.tables.artist_clustered_difference`); none for a table made without artists."""
    from mgrfaults.evaluation.attribution import confidence_label

    if "difference_ci_low_artists" not in difference.columns or difference.empty:
        return []
    a, b = compare
    first = difference.iloc[0]
    intervals = "; ".join(
        f"{row['system']} {_signed_points(row['difference'])} "
        f"[{_signed_points(row['difference_ci_low_artists'])}, {_signed_points(row['difference_ci_high_artists'])}]"
        for row in difference.to_dict("records"))
    return [f"The tests and intervals above take each test excerpt for an independent draw; excerpts of one artist "
            f"are not, to the question whether a system knows the genre of artists it has not heard. With the test "
            f"excerpts clustered by artist instead ({first[f'n_artists_{a}']:.0f} artists under {a}, "
            f"{first[f'n_artists_{b}']:.0f} under {b}; `tables/difference.csv`), the difference {a} - {b} and its "
            f"{confidence_label(confidence)} interval, in points: {intervals}.", ""]


def mislabelled_markdown(difference: pd.DataFrame, compare: Sequence[str]) -> list[str]:
    """A paragraph on the test excerpts annotated as mislabelled, where a compared condition's test part holds any:
    how many under each condition, and the accuracies and difference without them (none: no paragraph)."""
    a, b = compare
    if f"n_mislabelled_{a}" not in difference.columns or difference.empty:
        return []
    first = difference.iloc[0]
    if not first[f"n_mislabelled_{a}"] + first[f"n_mislabelled_{b}"]:
        return []
    lines = [f"Mislabelled excerpts (annotated `fault: mislabel`) among the test excerpts: {first[f'n_mislabelled_{a}']:.0f} "
             f"of {first['n_a']} under {a}, {first[f'n_mislabelled_{b}']:.0f} of {first['n_b']} under {b}. Each is "
             f"scored against its label, so a system that hears its real genre is counted wrong; without them "
             f"(`tables/difference.csv`) the accuracies and the difference {a} - {b} would be, in percent:", ""]
    for row in difference.to_dict("records"):
        lines.append(f"- {row['system']}: {_percent(row[f'accuracy_without_mislabelled_{a}'])} and "
                     f"{_percent(row[f'accuracy_without_mislabelled_{b}'])}, difference "
                     f"{_signed_points(row['difference_without_mislabelled'])} (as decided: {_signed_points(row['difference'])})")
    return lines + [""]


def tied_votes_markdown(difference: pd.DataFrame, compare: Sequence[str]) -> list[str]:
    """A paragraph on the decisions that were tied votes, for the systems that had any (none: no paragraph).

    A tie goes to the genre first in label order (the study's rule, :func:`mgrfaults.evaluation.tables.tied_decisions`);
    beside the accuracies as decided, the paragraph gives them with each tie shared among its genres, and the
    difference so computed.
    """
    a, b = compare
    tied = difference[(difference[f"n_tied_{a}"] + difference[f"n_tied_{b}"]) > 0]
    if tied.empty:
        return []
    lines = [f"Tied votes (decisions two or more genres won equally, given to the genre first in label order as in "
             f"the study's code; `tables/difference.csv`): with each tie shared among its genres instead, the "
             f"accuracies and the difference {a} - {b} would be, in percent:", ""]
    for row in tied.to_dict("records"):
        lines.append(
            f"- {row['system']}: {row[f'n_tied_{a}']:.0f} of {row['n_a']} decisions tied under {a}, {row[f'n_tied_{b}']:.0f} of "
            f"{row['n_b']} under {b}; {_percent(row[f'accuracy_ties_shared_{a}'])} and "
            f"{_percent(row[f'accuracy_ties_shared_{b}'])}, difference {_signed_points(row['difference_ties_shared'])} "
            f"(as decided: {_percent(row[f'accuracy_{a}'])} and {_percent(row[f'accuracy_{b}'])}, "
            f"{_signed_points(row['difference'])})")
    return lines + [""]


def _percent(value) -> str:
    return "-" if _isnan(value) else f"{100 * value:.1f}"


def _signed_points(value) -> str:
    return "-" if _isnan(value) else f"{100 * value:+.1f}"


ATTRIBUTION_TEXT = (
    "Accuracy, percent, on each condition's test excerpts grouped by what the training part shares with them: "
    "another excerpt of its artist (an excerpt is one of every artist its credit names: `A and B`), a replica of "
    "the excerpt (annotated, and on a real dataset also detected from "
    "the audio; a replica counts before the artist), or neither (`tables/attribution.csv`, by fold; "
    "`figures/attribution.png`). An excerpt whose artist is in training can be recognised by the artist's sound "
    "rather than the genre's: when `neither` under a random partition scores about what a filtered condition "
    "scores, the difference between the conditions comes from the excerpts that share an artist or a recording "
    "with training (`neither` is no random sample, and often a small one: read its interval, not its point). "
    "Training is the parts a system is fit on: for the classifiers on learned features, fit on "
    "the validation part too as the study's are (`systems.learned.fit_on`), and for a custom system that declares "
    "it (`systems.custom.<name>.fit_on`), that part as well, so their groups can hold other excerpts. In "
    "parentheses: the excerpts, summed over folds.")
"""What the accuracy-per-test-group table means: the summary's and the report's first page's words."""


def attribution_markdown(attribution: pd.DataFrame, systems: Sequence[str], conditions: Sequence[str]) -> list[str]:
    """The summary's section on where the accuracy comes from: per system, the accuracy of each condition's test
    excerpts grouped by what the training part shares with them, pooled over folds.

    Parameters
    ----------
    attribution : DataFrame
        ``tables/attribution.csv``: system, condition, fold, group, n, n_correct, ...
    systems, conditions : sequence of str
        Row and column order. A (condition, group) that holds no test excerpt has no column.

    Returns
    -------
    list of str
        Markdown lines: a heading, what the groups mean, the table
        (:func:`mgrfaults.evaluation.attribution.pooled_group_accuracy`); none when no group holds an excerpt.
    """
    from mgrfaults.evaluation.attribution import pooled_group_accuracy

    table = pooled_group_accuracy(attribution, systems, conditions)
    if table.shape[1] == 1:
        return []
    return ["## Where the accuracy comes from", "", ATTRIBUTION_TEXT, "",
            "| " + " | ".join(table.columns) + " |", "|" + "---|" * table.shape[1],
            *("| " + " | ".join(row) + " |" for row in table.itertuples(index=False)), ""]


def _isnan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True
