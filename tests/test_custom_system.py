"""Your own system (systems.custom, mgrfaults.systems.custom) and GTZAN copies in the layouts they come in."""

from __future__ import annotations

import os
import re
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, TINY_CONFIG, run_snakemake
from mgrfaults import GENRES
from mgrfaults.data.annotations import (
    check_gtzan_copy,
    gtzan_expected_ids,
    gtzan_genre_root,
    gtzan_id_check,
    gtzan_source_problem,
)
from mgrfaults.data.audio import write_au
from mgrfaults.data.dataset import list_audio_files
from mgrfaults.errors import InputError
from mgrfaults.systems.custom import (
    Part,
    PluginError,
    SystemContext,
    check_scores,
    custom_system_specs,
    load_factory,
    resolve_factory,
    run_custom_system,
)

# ---------------------------------------------------------------------------------------------
# the plugin protocol on constructed parts
# ---------------------------------------------------------------------------------------------

N_GENRES = 3


def constructed_parts(n=(6, 3, 4), dim=5):
    """Parts whose excerpt i of genre g has rows around g: a plugin can learn them."""
    rng = np.random.default_rng(0)
    data, parts = {}, {}
    for name, size in zip(("train", "valid", "test"), n):
        ids = [f"{name}.{i:05d}" for i in range(size)]
        labels = np.arange(size) % N_GENRES
        for tid, y in zip(ids, labels):
            data[tid] = (y + 0.1 * rng.standard_normal((7, dim))).astype(np.float32)
        parts[name] = Part(name, ids, None if name == "test" else labels, [f"{t}.au" for t in ids],
                           lambda tid, path: data[tid])
    return parts


def context(name="Mine", seed=1):
    return SystemContext(name=name, condition="standard", fold=2, genres=tuple(GENRES[:N_GENRES]), seed=seed,
                         input="texture")


def plugin_file(tmp_path, body, name="plugin.py"):
    path = tmp_path / name
    path.write_text("import numpy as np\n\n" + body)
    return path


NEAREST_MEAN = """
class NearestMean:
    def __init__(self, context, scale=1.0):
        self.n, self.scale, self.seed = len(context.genres), scale, context.seed

    def fit(self, train, valid):
        assert valid.labels is not None and len(valid) > 0
        rows = np.stack([x.mean(axis=0) for x in train])
        self.means = np.stack([rows[train.labels == g].mean(axis=0) for g in range(self.n)])

    def predict(self, test):
        assert test.labels is None  # the test labels are hidden
        x = np.stack([e.mean(axis=0) for e in test])
        return -self.scale * ((x[:, None, :] - self.means[None]) ** 2).sum(axis=2) + 0 * np.random.rand()

def build(context, **params):
    return NearestMean(context, **params)
"""


def test_plugin_from_a_file_fits_and_scores(tmp_path):
    factory = load_factory(f"{plugin_file(tmp_path, NEAREST_MEAN)}:build")
    parts = constructed_parts()
    scores = run_custom_system(factory, context(), {"scale": 2.0}, parts)
    assert scores.shape == (4, N_GENRES)
    assert (scores.argmax(axis=1) == np.arange(4) % N_GENRES).all()


def test_a_plugin_importing_torch_inside_fit_is_seeded_and_reruns_alike(tmp_path):
    # audit 54: torch was seeded only where the plugin's module had imported it before the job ran; imported in fit,
    # it drew from torch's own random seed, different in every process
    import subprocess

    plugin = plugin_file(tmp_path, """
class Lazy:
    def fit(self, train, valid):
        import torch
        self.weights = torch.randn(3).numpy()

    def predict(self, test):
        return np.tile(self.weights, (len(test), 1))

def build(context):
    return Lazy()
""")
    script = (f"import sys; sys.path[:0] = [{str(REPO / 'src')!r}, {str(REPO / 'tests')!r}]\n"
              "assert 'torch' not in sys.modules\n"
              "from test_custom_system import constructed_parts, context\n"
              "from mgrfaults.systems.custom import load_factory, run_custom_system\n"
              f"print(run_custom_system(load_factory({str(plugin) + ':build'!r}), context(seed=SEED), {{}}, "
              "constructed_parts())[0].tolist())\n")
    runs = [subprocess.run([sys.executable, "-c", script.replace("SEED", str(seed))], capture_output=True, text=True,
                           check=True).stdout for seed in (5, 5, 6)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_wrong_shape_names_system_condition_and_fold(tmp_path):
    body = "def build(context):\n    return Bad()\n\nclass Bad:\n    def fit(self, train, valid):\n        pass\n" \
           "    def predict(self, test):\n        return np.zeros((len(test), 2))\n"
    factory = load_factory(f"{plugin_file(tmp_path, body)}:build")
    with pytest.raises(PluginError) as err:
        run_custom_system(factory, context("Wrong"), {}, constructed_parts())
    message = str(err.value)
    assert "custom system Wrong (standard, fold 2)" in message
    assert "shape (4, 2)" in message and "(4, 3)" in message
    assert "context.genres, in that order" in message  # the columns a plugin must give, named


@pytest.mark.parametrize("change", ["test.track_ids.sort(reverse=True)", "test.track_ids = sorted(test.track_ids)[::-1]",
                                    "test.paths.reverse()", "test.track_ids[0] = 'x'"])
def test_a_plugin_cannot_reorder_the_excerpts_its_decisions_are_written_against(tmp_path, change):
    # sorting the test ids in place had each decision written against another excerpt (accuracy 33 % for 100 %)
    body = NEAREST_MEAN.replace("    def predict(self, test):\n", f"    def predict(self, test):\n        {change}\n")
    factory = load_factory(f"{plugin_file(tmp_path, body)}:build")
    with pytest.raises(PluginError, match=r"custom system Mine \(standard, fold 2\): predict\(\) raised "
                                          r"(AttributeError|TypeError: a part's track_ids and paths are read-only)"):
        run_custom_system(factory, context(), {}, constructed_parts())


def test_a_part_reads_as_lists_and_its_labels_are_the_plugins_own_copy(tmp_path):
    # what ordinary plugins do with a part keeps working: index a DataFrame by the ids, change the labels they got
    body = NEAREST_MEAN.replace("    def fit(self, train, valid):\n", "    def fit(self, train, valid):\n"
                                "        import pandas as pd\n        pd.DataFrame({'y': train.labels}, index=train.track_ids)"
                                ".loc[train.track_ids]\n        train.labels.sort()\n        np.asarray(train.labels)[:] = 0\n")
    factory = load_factory(f"{plugin_file(tmp_path, body)}:build")
    scores = run_custom_system(factory, context(), {}, constructed_parts())
    assert (scores.argmax(axis=1) == np.arange(4) % N_GENRES).all()  # the labels it fits on are not the sorted copy


def test_labelled_rows_are_written_against_the_test_parts_own_order(tmp_path):
    # a plugin scoring the excerpts in its own order returns them indexed by track id: read back in the part's order
    body = NEAREST_MEAN.replace("        x = np.stack([e.mean(axis=0) for e in test])\n        return ",
                                "        import pandas as pd\n        order = sorted(range(len(test)), key=lambda i: "
                                "test.track_ids[i], reverse=True)\n        x = np.stack([test[i].mean(axis=0) for i in order])\n"
                                "        return pd.DataFrame(index=[test.track_ids[i] for i in order], "
                                "columns=['blues', 'classical', 'country'], data=")
    body = body.replace("+ 0 * np.random.rand()\n", "+ 0 * np.random.rand())\n")
    factory = load_factory(f"{plugin_file(tmp_path, body)}:build")
    scores = run_custom_system(factory, context(), {"scale": 2.0}, constructed_parts())
    assert (scores.argmax(axis=1) == np.arange(4) % N_GENRES).all()


@pytest.mark.parametrize("row, kind", [([np.nan, 1.0], "1 with NaN"), ([np.inf, 1.0], r"1 with \+inf"),
                                       ([-np.inf, -np.inf], "1 of -inf only")])
def test_scores_that_decide_no_genre_name_the_excerpts_and_why(row, kind):
    scores = np.ones((3, 2))
    scores[1] = row
    with pytest.raises(PluginError, match=rf"^Mine: predict\(\) returned scores that decide no genre for 1 "
                                          rf"excerpt\(s\), e\.g\. \['b'\] \({kind}\): an excerpt's genre is its highest "
                                          r"score, which must be finite; .* Return finite scores, e\.g\. probabilities"):
        check_scores(scores, 3, 2, "Mine", ["a", "b", "c"])
    with pytest.raises(PluginError, match="not a numeric array"):
        check_scores([["x", "y"]], 1, 2, "Mine")


LOG_PROBA = """
from sklearn.tree import DecisionTreeClassifier

class Tree:
    def __init__(self, context):
        self.tree = DecisionTreeClassifier(random_state=context.seed)

    def fit(self, train, valid):
        self.tree.fit(np.stack([x.mean(axis=0) for x in train]), train.labels)

    def predict(self, test):
        with np.errstate(divide="ignore"):  # log(0) of the genres no leaf holds
            return self.tree.predict_log_proba(np.stack([x.mean(axis=0) for x in test]))

def build(context):
    return Tree(context)
"""


def test_log_probabilities_with_minus_inf_decide_and_survive_the_predictions_csv(tmp_path):
    # predict_log_proba gives -inf to a genre of probability 0: refused as "NaN or infinite" though its argmax
    # decides (audit 44); the predictions CSV and the tie count read them back right
    from mgrfaults.evaluation.metrics import read_predictions
    from mgrfaults.evaluation.tables import tied_decisions
    from mgrfaults.io import write_csv_atomic
    from mgrfaults.systems.learned import predictions_frame

    factory = load_factory(f"{plugin_file(tmp_path, LOG_PROBA)}:build")
    parts = constructed_parts()
    scores = run_custom_system(factory, context(), {}, parts)
    assert np.isneginf(scores).sum() == 2 * len(scores)  # pure leaves: one genre at log(1) = 0, the others -inf
    predicted = scores.argmax(axis=1)
    assert (predicted == np.arange(4) % N_GENRES).all()
    genres = list(context().genres)
    write_csv_atomic(predictions_frame(parts["test"].track_ids, predicted, predicted, scores, genres),
                     tmp_path / "fold_0.csv")
    read = read_predictions(tmp_path / "fold_0.csv", genres)
    np.testing.assert_array_equal(read[[f"score_{g}" for g in genres]].to_numpy(), scores)
    assert tied_decisions(read) == (0.0, 1.0)
    # a tie between two finite scores beside a -inf is still a tie, shared
    tied = read.copy()
    tied.loc[tied["predicted"] == genres[0], f"score_{genres[1]}"] = 0.0  # beside genre 0's log(1) = 0 and a -inf
    assert tied_decisions(tied) == (2.0, 0.75)  # 2 of the 4 tied, each half right


def test_masked_or_complex_scores_are_refused():
    # np.asarray dropped the mask (the masked entries decided) and the imaginary part, a numpy warning at most
    scores = np.ma.masked_array([[0.9, 0.1], [0.2, 0.8]], mask=[[True, False], [False, False]])
    with pytest.raises(PluginError, match=r"Mine: predict\(\) returned a masked array: its masked entries would "):
        check_scores(scores, 2, 2, "Mine")
    assert check_scores(scores.filled(0.0), 2, 2, "Mine").tolist() == [[0.0, 0.1], [0.2, 0.8]]
    with pytest.raises(PluginError, match=r"Mine: predict\(\) returned complex scores"):
        check_scores(np.array([[1 + 2j, 0], [0, 1]]), 2, 2, "Mine")
    import torch

    with pytest.raises(PluginError, match=r"Mine: predict\(\) returned complex scores"):  # .double() dropped it
        check_scores(torch.tensor([[1 + 2j, 0], [0, 1]]), 2, 2, "Mine")
    assert check_scores(np.ma.masked_array([[0.9, 0.1], [0.2, 0.8]]), 2, 2, "Mine").tolist()[0] == [0.9, 0.1]


def test_import_errors_name_the_path(tmp_path):
    broken = plugin_file(tmp_path, "import no_such_module_here\n", name="broken.py")
    with pytest.raises(PluginError, match=r"systems.custom.X.factory: cannot import .*broken.py.*no_such_module_here"):
        load_factory(f"{broken}:build", where="systems.custom.X.factory")
    with pytest.raises(PluginError, match="cannot import 'no_such_pkg.models'"):
        load_factory("no_such_pkg.models:build")
    with pytest.raises(PluginError, match="has no attribute 'nothing'"):
        load_factory("json:nothing")
    with pytest.raises(PluginError, match="not 'package.module:callable'"):
        load_factory("json")
    # a space before the colon named a module 'plug.py ', which passed the start's checks and no job found
    with pytest.raises(PluginError, match=r"systems.custom.X.factory: 'plug.py :build' has a space before the ':'; "
                                          r"write 'plug.py:build'"):
        resolve_factory("plug.py :build", [tmp_path], where="systems.custom.X.factory")


def test_a_module_factory_the_jobs_cannot_import_is_said_at_start(tmp_path, monkeypatch, caplog):
    # a package beside the config imports in a shell there (`python -c` puts the working folder on the path), not in
    # a job, whose script runs from .snakemake/scripts with this process's sys.path appended: it failed after the
    # data and feature stages, saying only "No module named" (audit 34)
    for package in ("mypkg", "xmlrpc"):  # `xmlrpc`: the standard library's, without a sub-module `mod` (audit 36)
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "mod.py").write_text("def build(context):\n    pass\n")
    monkeypatch.chdir(tmp_path)
    key = "systems.custom.Pkg.factory"
    with pytest.raises(PluginError, match=rf"^{re.escape(key)}: 'mypkg.mod' is found in the working folder, "
                                          r"which is not on the jobs' import path .*: give the factory as a file, "
                                          r"'mypkg/mod\.py:build', add the working folder to PYTHONPATH"):
        resolve_factory("mypkg.mod:build", [tmp_path], where=key)
    shadowed = (rf"^{re.escape(key)}: 'xmlrpc.mod': the working folder's 'xmlrpc' is not the one a job imports, "
                r"which finds .*xmlrpc/__init__\.py first; give the package another name")
    with pytest.raises(PluginError, match=shadowed):
        resolve_factory("xmlrpc.mod:build", [tmp_path], where=key)
    # on this process's path (`python -m snakemake`, PYTHONPATH naming it, an empty entry of it), so on the jobs'
    # too: Snakemake appends it to theirs (audits 35, 36)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_factory("mypkg.mod:build", [tmp_path], where=key) == "mypkg.mod:build"
    # there first, a name the standard library holds is still the library's in a job, which searches the working
    # folder after its own path (audit 37)
    with pytest.raises(PluginError, match=shadowed):
        resolve_factory("xmlrpc.mod:build", [tmp_path], where=key)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # named there, it comes before the library in a job (audit 38)
    assert resolve_factory("xmlrpc.mod:build", [tmp_path], where=key) == "xmlrpc.mod:build"
    monkeypatch.delenv("PYTHONPATH")
    # check-config looks modules up as a `snakemake` run does: the workflow's folder on the path, the working folder
    # not (`python -m mgrfaults` put it first)
    from mgrfaults.cli import snakemake_import_path

    with snakemake_import_path():
        assert str(tmp_path) not in sys.path and str(REPO) in sys.path
        with pytest.raises(PluginError, match="is found in the working folder"):
            resolve_factory("mypkg.mod:build", [tmp_path], where=key)
    assert sys.path[0] == str(tmp_path)
    with caplog.at_level("WARNING"):  # found nowhere: a job's own software (--use-conda) may hold it
        assert resolve_factory("mypkgz.mod:build", [tmp_path], where=key) == "mypkgz.mod:build"
        assert resolve_factory("mypkg.modz:build", [tmp_path], where=key) == "mypkg.modz:build"
    assert "no module 'mypkgz.mod' is found on the jobs' import path" in caplog.text
    assert "no module 'mypkg.modz' is found on the jobs' import path" in caplog.text
    assert resolve_factory("json.decoder:JSONDecoder", where=key) == "json.decoder:JSONDecoder"
    # and the job's own refusal says why, where a module of the factory's path is not found (not one it imports)
    with pytest.raises(PluginError, match=r"cannot import 'no_such_pkg.models': ModuleNotFoundError: .*; this job "
                                          r"imports it from its sys.path .* or give the factory as a file, "
                                          r"'no_such_pkg/models\.py:build'"):
        load_factory("no_such_pkg.models:build")
    (tmp_path / "uses_missing.py").write_text("import no_such_module_here\n")
    with pytest.raises(PluginError, match=r"No module named 'no_such_module_here'$"):
        load_factory("uses_missing:build")


def test_factory_without_fit_or_predict(tmp_path):
    with pytest.raises(PluginError, match="has no fit\\(\\) or predict\\(\\)"):
        run_custom_system(lambda ctx: object(), context(), {}, constructed_parts())


def test_specs_resolve_files_and_refuse_clashes(tmp_path):
    plugin_file(tmp_path, NEAREST_MEAN)
    custom = {"Mine": {"factory": "plugin.py:build", "input": "texture"}}
    specs = custom_system_specs(custom, ["BFF_SVM"], [tmp_path / "elsewhere", tmp_path])
    assert specs["Mine"] == {"factory": f"{(tmp_path / 'plugin.py').resolve()}:build", "input": "texture", "params": {},
                             "files": []}
    with pytest.raises(PluginError, match="also in systems.run"):
        custom_system_specs({"BFF_SVM": custom["Mine"]}, ["BFF_SVM"], [tmp_path])
    with pytest.raises(PluginError, match=r"systems.custom.Mine.factory: missing.py not found"):
        custom_system_specs({"Mine": {"factory": "missing.py:build", "input": "texture"}}, [], [tmp_path])
    with pytest.raises(PluginError, match="systems.custom.Mine.input"):
        custom_system_specs({"Mine": {"factory": "plugin.py:build", "input": "midi"}}, [], [tmp_path])
    # the factory's first argument: a parameter of its name would fail only in the job (audit 49)
    with pytest.raises(PluginError, match=r"systems.custom.Mine.params.context: the factory is called as "):
        custom_system_specs({"Mine": {**custom["Mine"], "params": {"context": 1}}}, [], [tmp_path])


def test_a_param_that_yaml_reads_as_text_is_warned_of(tmp_path, caplog):
    # PyYAML reads `lr: 1e-3` as the text '1e-3' (YAML 1.1 wants a dot); the factory gets it as given, with a warning
    plugin_file(tmp_path, NEAREST_MEAN)
    spec = {"factory": "plugin.py:build", "input": "texture", "params": {"lr": "1e-3", "name": "1e3x", "k": 1.0e-3}}
    with caplog.at_level("WARNING"):
        specs = custom_system_specs({"Mine": spec}, [], [tmp_path])
    assert specs["Mine"]["params"] == {"lr": "1e-3", "name": "1e3x", "k": 1.0e-3}
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == ["systems.custom.Mine.params.lr: '1e-3' reaches the factory as text, as YAML 1.1 reads a number "
                      "in exponent form without a dot and a signed exponent; for the number write 1.0e-3"]


def test_a_plugins_data_files_are_listed_file_by_file(tmp_path, monkeypatch):
    # weights and settings the plugin reads: inputs of its jobs, so that an edit reruns it (a folder: its files)
    from mgrfaults.config import ConfigError, check_input_paths

    plugin_file(tmp_path, NEAREST_MEAN)
    (tmp_path / "weights" / "layer").mkdir(parents=True)
    for name in ("weights/a.npy", "weights/layer/b.npy", "weights/.cache", "settings.json"):
        (tmp_path / name).write_text("x")
    monkeypatch.chdir(tmp_path)
    spec = {"factory": "plugin.py:build", "input": "texture", "files": ["settings.json", "weights"]}
    specs = custom_system_specs({"Mine": spec}, [], [tmp_path])
    assert specs["Mine"]["files"] == [str(tmp_path / p) for p in ("settings.json", "weights/a.npy", "weights/layer/b.npy")]
    with pytest.raises(PluginError, match=r"systems\.custom\.Mine\.files\[1\]: 'weights.pt' does not exist"):
        custom_system_specs({"Mine": {**spec, "files": ["settings.json", "weights.pt"]}}, [], [tmp_path])
    # a file replaced by a copy with an older time (cp -p) changes the stamp: Snakemake's time test alone misses it
    from mgrfaults.systems.custom import plugin_files_stamp

    stamp = plugin_files_stamp(specs["Mine"]["files"])
    assert plugin_files_stamp(specs["Mine"]["files"]) == stamp
    (tmp_path / "weights" / "a.npy").write_text("new weights")
    os.utime(tmp_path / "weights" / "a.npy", ns=(1, 1))
    assert plugin_files_stamp(specs["Mine"]["files"]) != stamp
    config = {"systems": {"custom": {"Mine": {**spec, "files": ["weights.pt"]}}}}
    with pytest.raises(ConfigError, match=r"systems\.custom\.Mine\.files\[0\]: 'weights.pt' does not exist"):
        check_input_paths(config)
    # the workflow's outputs are no plugin's data: a folder holding the results folder, or one inside it (audit 34)
    (tmp_path / "results" / "partitions").mkdir(parents=True)
    (tmp_path / "results" / "partitions" / "fold_0.csv").write_text("x")
    for entry, where in ((".", "holds the folders"), (str(tmp_path), "holds the folders"),
                         ("results/partitions", "is a folder"), ("results/partitions/fold_0.csv", "lies in a folder")):
        with pytest.raises(PluginError, match=rf"systems\.custom\.Mine\.files\[1\]: {re.escape(repr(entry))} {where} "
                                              r"the workflow writes into \(results: 'results'\): a custom system's data"):
            custom_system_specs({"Mine": {**spec, "files": ["settings.json", entry]}}, [], [tmp_path], results="results")
    assert custom_system_specs({"Mine": spec}, [], [tmp_path], results="results")["Mine"]["files"] == specs["Mine"]["files"]
    # with `results: .` the project's own folders are no outputs (audit 35), the folders the rules write into are
    assert custom_system_specs({"Mine": spec}, [], [tmp_path], results=".")["Mine"]["files"] == specs["Mine"]["files"]
    with pytest.raises(PluginError, match=r"files\[1\]: '\.' holds the folders the workflow writes into \(results: '\.'\)"):
        custom_system_specs({"Mine": {**spec, "files": ["settings.json", "."]}}, [], [tmp_path], results=".")
    # Python's bytecode, written into a plugin's folder as the job imports it, is no data file of its (audit 35)
    (tmp_path / "weights" / "__pycache__").mkdir()
    (tmp_path / "weights" / "__pycache__" / "plug.cpython-311.pyc").write_text("x")
    (tmp_path / "weights" / "old.pyc").write_text("x")
    assert custom_system_specs({"Mine": spec}, [], [tmp_path])["Mine"]["files"] == specs["Mine"]["files"]
    # a linked sub-folder (weights on another disk) holds data files; a link into the outputs is refused (audit 36)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "big.npy").write_text("x")
    (tmp_path / "weights" / "big").symlink_to(tmp_path / "models", target_is_directory=True)
    (tmp_path / "weights" / "loop").symlink_to(tmp_path / "weights", target_is_directory=True)
    assert custom_system_specs({"Mine": spec}, [], [tmp_path])["Mine"]["files"] == [
        str(tmp_path / p) for p in ("settings.json", "weights/a.npy", "weights/big/big.npy", "weights/layer/b.npy")]
    # a link into the outputs, made already or not yet (before a first run: a broken link) (audit 37)
    for target in ("partitions", "tables"):
        (tmp_path / "weights" / "out").symlink_to(tmp_path / "results" / target, target_is_directory=True)
        with pytest.raises(PluginError, match=r"files\[1\]: 'weights' holds '.*weights/out', which leads to a folder "
                                              r"the workflow writes into \(results: 'results'\)"):
            custom_system_specs({"Mine": spec}, [], [tmp_path], results="results")
        (tmp_path / "weights" / "out").unlink()


def test_a_custom_system_may_not_take_the_name_of_a_trained_nets_decision(tmp_path):
    plugin_file(tmp_path, NEAREST_MEAN)
    spec = {"factory": "plugin.py:build", "input": "texture"}
    # 50_RS trains, and its job writes 50_RS (vote) and 50_RS_sum; 500_RSD_AF_LAll trains 500_RSD
    for taken in ("50_RS_sum", "500_RSD", "500_RSD_sum"):
        with pytest.raises(PluginError, match=rf"systems.custom.{taken}: '{taken}' names the predictions a net"):
            custom_system_specs({taken: spec}, ["50_RS", "500_RSD_AF_LAll"], [tmp_path])
    # a net that is not trained leaves its names free
    assert list(custom_system_specs({"500_RS_sum": spec}, ["50_RS", "BFF_SVM"], [tmp_path])) == ["500_RS_sum"]


def test_the_code_digest_follows_the_plugins_folder_and_a_modules_file_without_importing_it(tmp_path, monkeypatch):
    from mgrfaults.systems.custom import plugin_code_digest, plugin_source_file

    plugin = plugin_file(tmp_path, "from helper import feature\n" + NEAREST_MEAN)
    (tmp_path / "helper.py").write_text("def feature(x):\n    return x.mean(0)\n")
    (tmp_path / "notes.txt").write_text("not code")
    before = plugin_code_digest(f"{plugin}:build")
    (tmp_path / "notes.txt").write_text("still not code")
    assert plugin_code_digest(f"{plugin}:build") == before
    (tmp_path / "helper.py").write_text("def feature(x):\n    return -x.std(0)\n")  # a sibling it imports
    after = plugin_code_digest(f"{plugin}:build")
    assert len(after) == 64 and after != before
    # a module of a sub-package it imports (lib/helper.py): an edit reruns it too
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "genre.py").write_text("GENRE = 'jazz'\n")
    with_lib = plugin_code_digest(f"{plugin}:build")
    (tmp_path / "lib" / "genre.py").write_text("GENRE = 'rock'\n")
    assert plugin_code_digest(f"{plugin}:build") not in (with_lib, after)
    # not the plugin's code: a hidden folder (.snakemake's script copies), a virtual environment, caches
    with_lib = plugin_code_digest(f"{plugin}:build")
    for folder in (".snakemake/scripts", "venv", "__pycache__"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "tmp1.py").write_text("x = 1\n")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    assert plugin_code_digest(f"{plugin}:build") == with_lib
    # a sub-package that is a link to another folder is followed; a link back up is not walked again
    (tmp_path.parent / f"{tmp_path.name}_shared").mkdir()
    (tmp_path.parent / f"{tmp_path.name}_shared" / "util.py").write_text("A = 1\n")
    (tmp_path / "shared").symlink_to(tmp_path.parent / f"{tmp_path.name}_shared")
    (tmp_path / "lib" / "up").symlink_to(tmp_path)
    linked = plugin_code_digest(f"{plugin}:build")
    (tmp_path.parent / f"{tmp_path.name}_shared" / "util.py").write_text("A = 2\n")
    assert plugin_code_digest(f"{plugin}:build") != linked
    # a module factory: found on sys.path as an import would find it, without running the package's __init__
    package = tmp_path / "site" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported at parse')\n")
    (package / "models.py").write_text("def build(context):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert plugin_source_file("mypkg.models:build") == package / "models.py"
    module_digest = plugin_code_digest("mypkg.models:build")
    (package / "models.py").write_text("def build(context):\n    return None\n")
    assert plugin_code_digest("mypkg.models:build") not in ("", module_digest)
    assert plugin_code_digest("no_such_pkg_here.models:build") == ""  # the job will name the import error


def test_a_factory_in_namespace_packages_two_levels_deep_is_found_before_any_job(tmp_path, monkeypatch):
    # folders without __init__.py (PEP 420): an import finds mylab.models.knn, while importlib's finder, asked for
    # mylab.models before mylab is imported, fails with KeyError: 'mylab' (audit 49: the start ended in that traceback)
    from mgrfaults.systems.custom import module_found, plugin_code_digest, plugin_source_file, resolve_factory

    site = tmp_path / "site"
    (site / "mylab" / "models").mkdir(parents=True)
    (site / "mylab" / "models" / "knn.py").write_text("def build(context):\n    pass\n")
    (site / "mylab" / "regular").mkdir()  # a package with an __init__ below the namespace one, and one below that
    (site / "mylab" / "regular" / "__init__.py").write_text("raise RuntimeError('imported at parse')\n")
    (site / "mylab" / "regular" / "inner").mkdir()
    (site / "mylab" / "regular" / "inner" / "svm.py").write_text("def build(context):\n    pass\n")
    monkeypatch.syspath_prepend(str(site))
    for module, file in (("mylab.models.knn", site / "mylab" / "models" / "knn.py"),
                         ("mylab.regular.inner.svm", site / "mylab" / "regular" / "inner" / "svm.py")):
        assert module_found(module) and module_found(module, [str(site)])
        assert plugin_source_file(f"{module}:build") == file and len(plugin_code_digest(f"{module}:build")) == 64
        assert resolve_factory(f"{module}:build") == f"{module}:build"
    assert not module_found("mylab.models.absent") and not module_found("mylab.nothing.knn")
    assert not module_found("mylab.models") and not module_found("mylab")  # a folder holds no factory (audits 51, 52)
    assert plugin_source_file("mylab.nothing.knn:build") is None


def test_a_plugin_that_changes_the_working_folder_leaves_the_runs_own(tmp_path):
    import os

    body = NEAREST_MEAN.replace("    def fit(self, train, valid):\n",
                                f"    def fit(self, train, valid):\n        os.chdir({str(tmp_path)!r})\n")
    plugin = plugin_file(tmp_path, "import os\n" + body)
    factory = load_factory(f"{plugin}:build")
    folder = os.getcwd()
    scores = run_custom_system(factory, context(), {}, constructed_parts())
    assert os.getcwd() == folder and scores.shape == (4, N_GENRES)


# ---------------------------------------------------------------------------------------------
# through the workflow: conftest's tiny_run holds the example's scikit-learn system
# ---------------------------------------------------------------------------------------------


PLUGIN_IN_A_PROCESS = """
import atexit, sys, time
sys.path[:0] = [{tests!r}]
from test_custom_system import constructed_parts, context
from mgrfaults.logs import setup_script_logging
from mgrfaults.systems.custom import end_job_within, load_factory, run_custom_system
setup_script_logging()
atexit.register(print, "EXITED", flush=True)  # the interpreter's own shutdown ran (atexit hooks, threads joined)
try:
    run_custom_system(load_factory({factory!r}), context(), {{}}, constructed_parts())
except BaseException as e:
    print("ERROR", e, flush=True)
    end_job_within("custom system Mine (standard, fold 2)", exit_code=1, grace_s=2)
    raise
end_job_within("custom system Mine (standard, fold 2)", exit_code=0, grace_s=2)
print("ENDED", flush=True)
"""


def run_plugin_in_a_process(tmp_path, body, timeout=60):
    # in a process of its own: an os._exit that got through, or a wait for a thread, must not end or hang pytest's
    import subprocess
    import sys

    code = PLUGIN_IN_A_PROCESS.format(tests=str(REPO / "tests"), factory=f"{plugin_file(tmp_path, body)}:build")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


PLUGIN_SCORES = "    def predict(self, test):\n        return np.full((len(test), 3), 0.1)\n"  # context()'s 3 genres


@pytest.mark.parametrize("code", [0, 3])
def test_a_plugin_that_calls_os_exit_is_named_not_taken_for_missing_outputs(tmp_path, code):
    # os._exit ended the job with no word: Snakemake then blamed missing outputs on filesystem latency
    done = run_plugin_in_a_process(tmp_path, "import os\n\ndef build(context):\n    return Quits()\n\nclass Quits:\n"
                                             f"    def fit(self, train, valid):\n        os._exit({code})\n" + PLUGIN_SCORES)
    assert done.returncode == 1 and "EXITED" in done.stdout, done.stderr[-2000:]
    assert (f"ERROR custom system Mine (standard, fold 2): fit() called os._exit({code}); a custom system must return "
            "or raise") in done.stdout


def test_an_os_exit_in_a_plugins_own_thread_still_ends_the_process(tmp_path):
    # a loader thread that gives up with os._exit(1): raised in that thread, it ended the thread alone, and the job
    # trained on what the loader had read, exit status 0
    body = ("import os, threading\nimport numpy as np\n\ndef build(context):\n    return Gives()\n\nclass Gives:\n"
            "    def fit(self, train, valid):\n        t = threading.Thread(target=os._exit, args=(7,))\n"
            "        t.start()\n        t.join()\n" + PLUGIN_SCORES)
    done = run_plugin_in_a_process(tmp_path, body)
    assert done.returncode == 7 and "ENDED" not in done.stdout, done.stdout + done.stderr


def test_a_plugin_whose_forked_workers_exit_still_runs(tmp_path):
    # a forked child ends with os._exit (multiprocessing, a data loader's workers): that one must end its process
    body = ("import multiprocessing as mp\nimport numpy as np\n\ndef square(x):\n"
            "    return x * x\n\ndef build(context):\n    return Pool()\n\nclass Pool:\n"
            "    def fit(self, train, valid):\n        with mp.get_context('fork').Pool(2) as pool:\n"
            "            assert pool.map(square, range(4)) == [0, 1, 4, 9]\n" + PLUGIN_SCORES)
    done = run_plugin_in_a_process(tmp_path, body)
    assert done.returncode == 0 and "ERROR" not in done.stdout and "ENDED" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_plugin_whose_workers_start_by_spawn_or_forkserver_runs(tmp_path, method):
    # such a worker imports the plugin's module again to unpickle its function: under a made-up module name it could
    # not, died, and the pool started another, forever (forkserver is Python 3.14's default on Linux)
    body = ("import multiprocessing as mp\nimport numpy as np\n\ndef square(x):\n"
            "    return x * x\n\ndef build(context):\n    return Pool()\n\nclass Pool:\n"
            f"    def fit(self, train, valid):\n        with mp.get_context('{method}').Pool(2) as pool:\n"
            "            assert pool.map(square, range(4)) == [0, 1, 4, 9]\n" + PLUGIN_SCORES)
    done = run_plugin_in_a_process(tmp_path, body, timeout=120)
    assert done.returncode == 0 and "ERROR" not in done.stdout and "ENDED" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("name, why", [("my-plugin.py", "is no Python module name"),
                                       ("json.py", "is the name of a module of Python's standard library"),
                                       ("statistics.py", "is the name of a module of Python's standard library"),
                                       ("numpy.py", "is the name of a module this job has loaded"),
                                       ("my_system.py", None)])
def test_a_plugin_file_whose_name_workers_cannot_import_is_warned_of(tmp_path, caplog, name, why):
    # loaded under a made-up name, its functions cannot be unpickled by a worker started by spawn or forkserver:
    # such a pool starts workers forever (a dashed name hung `test_a_plugin_whose_workers_start_by_spawn...`'s pool)
    from mgrfaults.systems.custom import load_factory

    path = plugin_file(tmp_path, "def build(context):\n    return None\n", name=name)
    with caplog.at_level("WARNING"):
        assert callable(load_factory(f"{path}:build"))
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if why is None:
        assert warned == []
    else:
        assert len(warned) == 1 and f"plugin file {path}: its name {path.stem!r} {why}" in warned[0]
        assert "which worker processes the plugin may start by spawn or forkserver cannot import" in warned[0]


def test_a_plugin_file_loaded_twice_keeps_the_classes_its_first_system_pickles_by(tmp_path):
    # two systems from one file in one process (a notebook, a library user): run again, the module replaced the
    # class the first system's objects pickle by, and pickling them failed (audit 24)
    import pickle

    from mgrfaults.systems.custom import load_factory

    path = plugin_file(tmp_path, "class Model:\n    pass\n\ndef build(context):\n    return Model()\n",
                       name="pickled_plugin.py")
    first = load_factory(f"{path}:build")(None)
    second = load_factory(f"{path}:build")(None)
    assert type(first) is type(second)
    assert type(pickle.loads(pickle.dumps(first))) is type(first)


LEAVES_A_THREAD = ("import threading, time\nimport numpy as np\n\ndef build(context):\n"
                   "    return Leaves()\n\nclass Leaves:\n    def fit(self, train, valid):\n"
                   "        threading.Thread(target=time.sleep, args=(600,), name='loader').start()\n")


@pytest.mark.parametrize("fails", [False, True])
def test_a_job_ends_without_waiting_for_threads_its_plugin_left_running(tmp_path, fails):
    # a loader thread left running: Python waited for it before ending the job's process (forever, for an endless
    # one), after the predictions or after the plugin's error alike
    body = LEAVES_A_THREAD + ("        raise RuntimeError('no model')\n" if fails else "") + PLUGIN_SCORES
    t0 = time.perf_counter()
    done = run_plugin_in_a_process(tmp_path, body, timeout=120)
    assert done.returncode == (1 if fails else 0) and time.perf_counter() - t0 < 60, done.stderr[-2000:]
    assert ("custom system Mine (standard, fold 2): the job's process has not ended 2 s after the plugin's last call: "
            f"1 thread(s) of the plugin still running (loader); ended now (exit status {int(fails)})") in done.stderr
    assert ("ERROR" in done.stdout) == fails


def test_a_plugins_daemon_threads_executors_and_atexit_hooks_end_as_python_ends_them(tmp_path):
    # the normal shutdown stops an executor left open and runs atexit hooks: no warning, nothing cut short
    body = ("import atexit, threading, time\nfrom concurrent.futures import ThreadPoolExecutor\nimport numpy as np\n\n"
            "POOL = ThreadPoolExecutor(2)\n\ndef build(context):\n    return Tidy()\n\nclass Tidy:\n"
            "    def fit(self, train, valid):\n        assert POOL.submit(sum, [1, 2]).result() == 3\n"
            "        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
            "        atexit.register(print, 'PLUGIN HOOK', flush=True)\n" + PLUGIN_SCORES)
    done = run_plugin_in_a_process(tmp_path, body)
    assert done.returncode == 0 and "ENDED" in done.stdout and "PLUGIN HOOK" in done.stdout, done.stderr[-2000:]
    assert "has not ended" not in done.stderr


@pytest.mark.workflow
def test_custom_system_in_the_tiny_run(tiny_run):
    results = tiny_run / "results"
    custom = list(TINY_CONFIG["systems"]["custom"])
    runs = pd.read_csv(results / "tables" / "runs.csv")
    for name in custom:
        assert set(runs.loc[runs["system"] == name, "condition"]) == {"standard", "fault_filtered"}, name
        pred = pd.read_csv(results / "predictions" / name / "fault_filtered" / "fold_0.csv")
        part = pd.read_csv(results / "partitions" / "fault_filtered" / "fold_0.csv")
        assert list(pred.columns) == ["track_id", "true", "predicted"] + [f"score_{g}" for g in GENRES]
        assert set(pred["track_id"]) == set(part.loc[part["part"] == "test", "track_id"])
        for table in ("accuracy_standard.csv", "accuracy_fault_filtered.csv", "difference.csv"):
            assert name in (results / "tables" / table).read_text(), (name, table)
    # fit_on: train_valid (the example fits on both parts): the attribution counts the validation part seen, as for
    # the learned features' forest, where the vote of a net (stopped on it, not fit on it) counts it unseen
    attribution = pd.read_csv(results / "tables" / "attribution.csv").set_index(["system", "condition", "fold", "group"])
    sizes = {system: attribution.loc[system, "n"].sort_index() for system in ("Texture_LogReg", "500_RSD_AF_LAll", "500_RSD")}
    assert sizes["Texture_LogReg"].equals(sizes["500_RSD_AF_LAll"])
    assert not sizes["Texture_LogReg"].equals(sizes["500_RSD"])


def test_a_custom_system_declares_the_parts_it_learns_from():
    from mgrfaults.config import load_config
    from mgrfaults.systems.custom import custom_parts_fit_on

    custom = {"A": {"factory": "m:f", "input": "frames"}, "B": {"factory": "m:f", "input": "frames", "fit_on": "train_valid"}}
    custom = load_config({"systems": {"custom": custom}})["systems"]["custom"]
    assert custom["A"]["fit_on"] == "train"  # the schema's default: valid only selects, as for the built-in nets
    assert custom_parts_fit_on(custom) == {"A": ("train",), "B": ("train", "valid")}


@pytest.mark.workflow
def test_bad_plugin_fails_the_workflow_naming_it(tmp_path):
    plugin_file(tmp_path, "def build(context):\n    return Bad()\n\nclass Bad:\n    def fit(self, train, valid):\n"
                "        pass\n    def predict(self, test):\n        return np.zeros((len(test), 4))\n", name="bad.py")
    config = {**TINY_CONFIG, "systems": {"run": ["BFF_SVM"],
                                         "custom": {"Bad": {"factory": "bad.py:build", "input": "texture"}}},
              "evaluate": {"figure_of_merit": ["BFF_SVM"]}}  # only systems that are run
    proc = run_snakemake(tmp_path, config, targets=["results/predictions/Bad/standard/fold_0.csv"], check=False)
    log = (tmp_path / "results" / "logs" / "train" / "Bad" / "standard" / "fold_0.log").read_text()
    assert proc.returncode != 0
    assert "custom system Bad (standard, fold 0): predict() returned scores of shape" in log
    assert not (tmp_path / "results" / "predictions" / "Bad").exists()


# ---------------------------------------------------------------------------------------------
# GTZAN as real copies come
# ---------------------------------------------------------------------------------------------


def tone(seconds=0.05, sr=22050, freq=330.0):
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def kaggle_copy(root, ids):
    import soundfile

    for tid in ids:
        genre = tid.split(".")[0]
        path = root / "Data" / "genres_original" / genre / f"{tid}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, tone(), 22050, subtype="PCM_16")
    (root / "Data" / "images_original" / "blues").mkdir(parents=True)  # Kaggle's spectrogram images
    (root / "Data" / "features_30_sec.csv").write_text("filename,label\n")
    return root


def original_copy(root, ids):
    for tid in ids:
        write_au(root / "genres" / tid.split(".")[0] / f"{tid}.au", tone())
    (root / "genres" / "bextract_single.mf").write_text("")  # the archive's list files
    return root


@pytest.mark.parametrize("make, layout, ext", [(kaggle_copy, "kaggle", ".wav"), (original_copy, "original", ".au")])
def test_gtzan_layouts_are_recognised(tmp_path, make, layout, ext):
    ids = ["blues.00000", "blues.00001", "jazz.00054", "rock.00099"]
    root = make(tmp_path / layout, ids)
    genre_root, found_layout = gtzan_genre_root(root)
    assert found_layout == layout
    files = list_audio_files(genre_root)
    assert list(files["track_id"]) == ids and all(p.endswith(ext) for p in files["path"])
    check_gtzan_copy(root, files["track_id"], expected_ids=ids)
    # the genre folders' parent given directly
    assert gtzan_genre_root(genre_root) == (genre_root, "flat")


def test_two_gtzan_copies_under_one_root_are_refused_naming_both(tmp_path):
    # a Kaggle copy (its jazz.00054 corrupt) beside an extracted archive: which one is meant is not to be guessed
    ids = ["blues.00000", "jazz.00054"]
    kaggle_copy(tmp_path / "both", ids)
    original_copy(tmp_path / "both", ids)
    with pytest.raises(InputError, match=r"holds 2 copies of GTZAN's genre folders: .*Data/genres_original \(kaggle\), "
                                         r".*both/genres \(original\)\. Set dataset\.gtzan\.root to the one to use"):
        gtzan_genre_root(tmp_path / "both")


def test_genre_folders_deeper_than_a_layout_are_named_not_taken(tmp_path):
    """genres.tar.gz extracted into a folder named genres: the genre folders are one level too deep."""
    ids = ["blues.00000", "rock.00099"]
    original_copy(tmp_path / "copy" / "genres", ids)  # copy/genres/genres/<genre>/
    (tmp_path / "copy" / "__MACOSX" / "genres" / "blues").mkdir(parents=True)  # macOS's shadow tree is passed over
    with pytest.raises(InputError, match=r"They are in .*copy/genres/genres, deeper than any layout puts them .*set "
                                         r"dataset\.gtzan\.root to .*copy/genres/genres\.$"):
        gtzan_genre_root(tmp_path / "copy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="Download a copy of GTZAN"):  # none anywhere: where to get one
        gtzan_genre_root(tmp_path / "empty")


def test_gtzan_copy_checked_by_ids(tmp_path):
    found = [t for t in gtzan_expected_ids() if t not in ("jazz.00054", "pop.00003")] + ["notes"]
    check = gtzan_id_check(found, bad_ids=["jazz.00001"])
    assert check == {"missing": ["jazz.00054", "pop.00003"], "undecodable": ["jazz.00001"], "unexpected": ["notes"]}
    assert len(gtzan_expected_ids()) == 1000
    with pytest.raises(InputError, match=r"2 of the 1000 GTZAN excerpts missing: \['jazz.00054', 'pop.00003'\]"
                       r".* belongs back in the copy .*dataset.on_bad_audio: skip"):
        check_gtzan_copy(tmp_path, found)
    with pytest.raises(InputError, match="holds no GTZAN genre folders"):
        gtzan_genre_root(tmp_path)


def test_a_partial_gtzan_copy_is_refused_unless_declared_partial(tmp_path, caplog):
    found = [t for t in gtzan_expected_ids() if t.startswith(("reggae", "blues.0000"))]
    with pytest.raises(InputError, match=r"dataset.gtzan.root: .*: 890 of the 1000 GTZAN excerpts missing: .* or set "
                                         r"dataset.gtzan.partial: true to run on the excerpts it holds"):
        check_gtzan_copy(tmp_path, found)
    with caplog.at_level("WARNING", logger="mgrfaults"):
        missing = check_gtzan_copy(tmp_path, found, partial=True)
    assert len(missing) == 890 and "reggae.00000" not in missing and "blues.00010" in missing
    message = caplog.records[-1].getMessage()
    assert f"dataset.gtzan.partial: {tmp_path} holds 110 of the 1000 GTZAN excerpts; missing per genre: blues 90, " \
           "classical 100, country 100" in message and "reggae" not in message.split("(first")[0]
    with pytest.raises(InputError, match=r"1 file\(s\) that are no GTZAN excerpt: \['notes'\]\. Move them out"):
        check_gtzan_copy(tmp_path, found + ["notes"], partial=True)  # partial, not another dataset
    with pytest.raises(InputError, match=r"no GTZAN excerpt: \['/copy/rock/rock.00042 \(copy\).wav'\]\. Move them out "
                                         r"of the copy \(or use dataset.source: directory for another set of excerpts\)\.$"):
        check_gtzan_copy(tmp_path, found + ["rock.00042 (copy)"], partial=True,
                         paths={"rock.00042 (copy)": "/copy/rock/rock.00042 (copy).wav"})
    assert check_gtzan_copy(tmp_path, gtzan_expected_ids()) == []


@pytest.mark.workflow
def test_workflow_runs_a_partial_gtzan_copy_with_sturms_index(tmp_path, shared_gtzan):
    ids = [f"{genre}.{i:05d}" for genre in ("blues", "reggae") for i in range(4)]
    root = kaggle_copy(tmp_path / "kaggle", ids)
    gtzan = {"root": str(root), "index": str(shared_gtzan / "metadata" / "GTZANindex.txt"),
             "partition_lists": str(shared_gtzan / "partitions")}
    config = {"dataset": {"source": "gtzan", "gtzan": gtzan}}
    proc = run_snakemake(tmp_path / "whole", config, targets=["results/dataset/metadata.csv"], check=False)
    assert proc.returncode != 0 and "992 of the 1000 GTZAN excerpts missing" in proc.stdout
    config["dataset"]["gtzan"]["partial"] = True
    run_snakemake(tmp_path / "run", config, targets=["results/dataset/metadata.csv"])
    meta = pd.read_csv(tmp_path / "run" / "results" / "dataset" / "metadata.csv", keep_default_na=False)
    assert sorted(meta["track_id"]) == ids
    assert set(meta.loc[meta["genre"] == "reggae", "artist"]) == {"Bob Marley"}  # Sturm's index, on the ids present
    assert meta.set_index("track_id").loc["blues.00000", "artist"] == "John Lee Hooker"
    # reggae.00003, left out of the study's fault-filtered lists, keeps its fault
    assert meta.set_index("track_id").loc["reggae.00003", "fault"] != "none"
    log = (tmp_path / "run" / "results" / "logs" / "data" / "scan_audio.log").read_text()
    assert "holds 8 of the 1000 GTZAN excerpts; missing per genre: blues 96, classical 100" in log


@pytest.mark.workflow
def test_workflow_takes_a_trusted_file_of_a_gtzan_copy_through_every_stage(tmp_path, shared_gtzan):
    """dataset.trust_audio on a Kaggle copy, by the path below the folder of genre folders: the metadata of a GTZAN
    copy keeps the mark, so the features and the fault descriptors take the file as the scan did."""
    import soundfile

    from mgrfaults.features.store import FeatureStore

    ids = [f"{genre}.{i:05d}" for genre in ("blues", "reggae") for i in range(3)]
    root = kaggle_copy(tmp_path / "kaggle", ids)
    soundfile.write(root / "Data" / "genres_original" / "reggae" / "reggae.00002.wav", tone(freq=250) / 0.3 * 10 ** (-65 / 20),
                    22050, subtype="PCM_16")  # music below the near-silence floor, -60 dBFS
    gtzan = {"root": str(root), "index": str(shared_gtzan / "metadata" / "GTZANindex.txt"),
             "partition_lists": str(shared_gtzan / "partitions"), "partial": True}
    config = {"dataset": {"source": "gtzan", "gtzan": gtzan, "trust_audio": ["reggae/reggae.00002.wav"]},
              "features": {"n_shards": 1}, "faults": {"n_shards": 1}}
    run_snakemake(tmp_path / "run", config, targets=["dataset_check", "results/features/frames/shard_0.h5"])
    results = tmp_path / "run" / "results"
    meta = pd.read_csv(results / "dataset" / "metadata.csv", dtype={"track_id": str})
    assert meta.set_index("track_id")["audio_trusted"].to_dict() == {tid: tid == "reggae.00002" for tid in ids}
    assert len(FeatureStore([results / "features" / "frames" / "shard_0.h5"]).track_ids) == 6
    assert "1 file(s) taken as they decode" in (results / "faults" / "profile.md").read_text()


def test_root_null_with_the_dead_url_says_what_to_do():
    problem = gtzan_source_problem({"root": None, "url": "http://opihi.cs.uvic.ca/sound/genres.tar.gz"})
    assert "since 2022" in problem and "dataset.gtzan.root" in problem and "Data/genres_original" in problem
    assert gtzan_source_problem({"root": "/data/gtzan", "url": "http://opihi.cs.uvic.ca/sound/genres.tar.gz"}) is None
    assert gtzan_source_problem({"root": None, "url": "https://mirror.example/genres.tar.gz"}) is None


@pytest.mark.workflow
def test_workflow_fails_at_once_without_root(tmp_path):
    gtzan = yaml.safe_load((REPO / "config" / "gtzan.yaml").read_text())["dataset"]  # root: null, the old URL
    proc = run_snakemake(tmp_path, {"dataset": gtzan}, targets=["results/dataset/metadata.csv"], check=False)
    assert proc.returncode != 0 and "has not answered since 2022" in proc.stdout
    assert not (tmp_path / "results" / "dataset").exists()


@pytest.mark.workflow
def test_workflow_reads_a_kaggle_copy(tmp_path):
    """1000 short excerpts in Kaggle's layout, jazz.00054.wav corrupt as in the real copy: found, checked, skipped."""
    root = kaggle_copy(tmp_path / "kaggle", gtzan_expected_ids())
    (root / "Data" / "genres_original" / "jazz" / "jazz.00054.wav").write_bytes(b"RIFF" + bytes(100))
    config = {"dataset": {"source": "gtzan", "on_bad_audio": "skip", "gtzan": {"root": str(root)}}}
    run_snakemake(tmp_path / "run", config, targets=["results/dataset/listing.csv"])
    dataset = tmp_path / "run" / "results" / "dataset"
    listing = pd.read_csv(dataset / "listing.csv")
    assert len(listing) == 999 and "jazz.00054" not in set(listing["track_id"])
    assert pd.read_csv(dataset / "bad_audio.csv")["path"].str.endswith("jazz.00054.wav").tolist() == [True]
    log = (tmp_path / "run" / "results" / "logs" / "data" / "scan_audio.log").read_text()
    assert "kaggle layout" in log and "['jazz.00054']" in log


def render_description(config):
    """The report's front page (workflow/report/workflow.rst, a Jinja template) for ``config``."""
    from types import SimpleNamespace

    import jinja2

    template = jinja2.Template((REPO / "workflow" / "report" / "workflow.rst").read_text())
    return template.render(snakemake=SimpleNamespace(config=config))


def test_report_says_when_a_directory_dataset_has_no_artists():
    from mgrfaults.config import load_config

    config = load_config()
    config["systems"]["custom"] = {"Mine": {"factory": "mine.py:build", "input": "audio"}}
    text = render_description(config)
    assert "No artist annotations" not in text and "``Mine`` (``mine.py:build``, input: audio)." in text
    config["dataset"]["source"] = "directory"
    config["dataset"]["directory"].update(root="/data/audio", annotations=None)
    text = render_description(config)
    assert "No artist annotations" in text and "cannot keep an artist out of more than one part" in text
    assert "dataset.directory.annotations" in text and "fault detection" in text
    config["dataset"]["directory"]["annotations"] = "/data/artists.csv"
    assert "No artist annotations" not in render_description(config)


AUDIO_PLUGIN = """
class Loudness:
    def __init__(self, context):
        self.context = context

    def fit(self, train, valid):
        assert train.paths[0].endswith(".au") and self.context.input == "audio"
        self.level = {int(y): np.abs(train[i]).mean() for i, y in enumerate(train.labels)}

    def predict(self, test):
        x = np.array([np.abs(test[i]).mean() for i in range(len(test))])
        # genres without a training excerpt (the label order is GTZAN's ten) are far from any level
        levels = np.array([self.level.get(g, 1e6) for g in range(len(self.context.genres))])
        return -np.abs(x[:, None] - levels[None])

def build(context):
    return Loudness(context)
"""


@pytest.mark.parametrize("quiet", [None, "trusted", "judged"])
def test_audio_input_end_to_end_files(tmp_path, quiet):
    """custom_system_files on decoded audio: two genres of different loudness, predictions written; a training
    excerpt below the near-silence floor is read where the metadata marks it trusted (dataset.trust_audio), and
    refused otherwise."""
    from mgrfaults.systems.custom import custom_system_files

    spec, out = two_loudness_genres(tmp_path, quiet)
    if quiet == "judged":
        with pytest.raises(PluginError, match=r"blues\.00001\.au: near-silence"):
            custom_system_files("Loud", spec, tmp_path / "fold_0.csv", tmp_path / "metadata.csv", [], 7, out,
                                condition="standard", fold=0, device="cpu", sample_rate=22050, max_duration=1.0)
        return
    df = custom_system_files("Loud", spec, tmp_path / "fold_0.csv", tmp_path / "metadata.csv", [], 7, out,
                             condition="standard", fold=0, device="cpu", sample_rate=22050, max_duration=1.0)
    assert list(df["track_id"]) == ["blues.00003", "rock.00003"]
    assert list(df["predicted"]) == ["blues", "rock"]
    assert pd.read_csv(out).equals(df)


def test_a_system_that_writes_into_its_own_data_files_is_warned_of(tmp_path, monkeypatch, caplog):
    # a checkpoint saved into the weights' folder changes the jobs' inputs: every later run would run it again (audit 34)
    from mgrfaults.systems.custom import custom_system_files

    spec, out = two_loudness_genres(tmp_path, None)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "pretrained.npy").write_text("x")
    saving = plugin_file(tmp_path, AUDIO_PLUGIN + "\n\ndef saving(context):\n"
                                  "    (__import__('pathlib').Path('weights') / 'checkpoint.npy').write_text('y')\n"
                                  "    return Loudness(context)\n", name="saving.py")
    monkeypatch.chdir(tmp_path)
    for factory, warned in ((spec["factory"], False), (f"{saving}:saving", True)):
        caplog.clear()
        with caplog.at_level("WARNING"):
            custom_system_files("Loud", {**spec, "factory": factory}, tmp_path / "fold_0.csv",
                                tmp_path / "metadata.csv", [], 7, out, condition="standard", fold=0, device="cpu",
                                sample_rate=22050, max_duration=1.0, data_entries=["weights"])
        messages = [r.getMessage() for r in caplog.records if "wrote into its own data files" in r.getMessage()]
        assert bool(messages) == warned, messages
    assert messages[0].startswith("Loud (standard, fold 0) wrote into its own data files (systems.custom.Loud.files: 1 "
                                  f"written, added or removed: [{str(tmp_path / 'weights' / 'checkpoint.npy')!r}]")


def two_loudness_genres(tmp_path, quiet):
    """Two genres of different loudness in ``tmp_path`` (metadata.csv, fold_0.csv), a plugin telling them apart by
    loudness, its spec and where its predictions go; ``quiet``: a training excerpt below the near-silence floor, marked
    trusted in the metadata (``trusted``) or not (``judged``)."""
    rows, parts = [], []
    for g, genre in enumerate(("blues", "rock")):
        for i, part in enumerate(("train", "train", "valid", "test")):
            tid = f"{genre}.{i:05d}"
            path = tmp_path / genre / f"{tid}.au"
            level = 10 ** (-65 / 20) if quiet and tid == "blues.00001" else 0.1 + 0.5 * g
            write_au(path, level * tone(0.2, freq=200 + 30 * i) / 0.3)
            rows.append(dict(track_id=tid, path=str(path), genre=genre, artist=f"a{g}{i}", fault="none",
                             replica_of="", duration=0.2, sample_rate=22050,
                             **({"audio_trusted": quiet == "trusted" and tid == "blues.00001"} if quiet else {})))
            parts.append(dict(track_id=tid, part=part))
    pd.DataFrame(rows).to_csv(tmp_path / "metadata.csv", index=False)
    pd.DataFrame(parts).to_csv(tmp_path / "fold_0.csv", index=False)
    plugin = plugin_file(tmp_path, AUDIO_PLUGIN, name="loudness.py")
    return {"factory": f"{plugin}:build", "input": "audio", "params": {}}, tmp_path / "pred.csv"


def test_an_error_inside_fit_names_the_run(tmp_path):
    body = "def build(context):\n    return Crash()\n\nclass Crash:\n    def fit(self, train, valid):\n" \
           "        raise RuntimeError('out of memory')\n    def predict(self, test):\n        pass\n"
    factory = load_factory(f"{plugin_file(tmp_path, body)}:build")
    with pytest.raises(PluginError, match=r"custom system Mine \(standard, fold 2\): fit\(\) raised RuntimeError: out of"):
        run_custom_system(factory, context(), {}, constructed_parts())


@pytest.mark.parametrize("factory_body, fit_body, expected", [
    ("raise RuntimeError('weights not found')", "pass", r"the factory raised RuntimeError: weights not found"),
    ("return Crash()", "raise SystemExit(0)", r"fit\(\) called sys.exit\(0\); a custom system must return or raise"),
])
def test_a_plugin_that_raises_anything_or_exits_names_the_run(tmp_path, factory_body, fit_body, expected):
    # an error of the factory, and an exit or an interrupt inside fit(), end the job naming the system and its run:
    # a sys.exit would otherwise end the job without outputs and without a word
    body = (f"def build(context):\n    {factory_body}\n\nclass Crash:\n    def fit(self, train, valid):\n"
            f"        {fit_body}\n    def predict(self, test):\n        pass\n")
    factory = load_factory(f"{plugin_file(tmp_path, body)}:build")
    with pytest.raises(PluginError, match=r"custom system Mine \(standard, fold 2\): " + expected):
        run_custom_system(factory, context(), {}, constructed_parts())


def test_a_termination_inside_a_plugin_is_not_blamed_on_it(tmp_path):
    # SIGTERM (Terminated: a time limit, scancel) goes through as it came: the scheduler's doing, not the plugin's
    # (a Ctrl-C likewise: test_a_real_ctrl_c_during_a_plugin_still_interrupts)
    from mgrfaults.errors import Terminated

    for raised, expected in [("Terminated(143)", Terminated)]:
        body = ("from mgrfaults.errors import Terminated\n\ndef build(context):\n    return Stop()\n\nclass Stop:\n"
                f"    def fit(self, train, valid):\n        raise {raised}\n    def predict(self, test):\n        pass\n")
        factory = load_factory(f"{plugin_file(tmp_path, body, name=f'stop_{expected.__name__}.py')}:build")
        with pytest.raises(expected):
            run_custom_system(factory, context(), {}, constructed_parts())


@pytest.mark.parametrize("form", ["columns reversed", "rows reversed", "both", "tensor in the graph", "bf16 tensor",
                                  "positions reversed", "positions as integers"])
def test_labelled_scores_are_read_by_their_labels(tmp_path, form):
    # a DataFrame whose columns are the genres, or whose index is the track ids, in another order: read by label,
    # not by position (that gave accuracy 0 for right scores); a tensor that requires grad is detached
    import torch

    parts = constructed_parts()
    ctx = context()
    scores = np.eye(len(ctx.genres))[np.arange(len(parts["test"])) % len(ctx.genres)]
    frame = pd.DataFrame(scores, columns=list(ctx.genres), index=list(parts["test"].track_ids))
    by_position = pd.DataFrame(scores, columns=list(ctx.genres))
    returned = {"columns reversed": frame[frame.columns[::-1]], "rows reversed": frame.iloc[::-1],
                "both": frame.iloc[::-1, ::-1], "tensor in the graph": torch.tensor(scores, requires_grad=True),
                "bf16 tensor": torch.tensor(scores, dtype=torch.bfloat16),  # exact for 0 and 1
                "positions reversed": by_position.iloc[::-1],  # a RangeIndex still labels the rows
                "positions as integers": by_position.set_axis(np.arange(len(scores)))}[form]
    np.testing.assert_array_equal(check_scores(returned, len(parts["test"]), len(ctx.genres), "Mine",
                                               parts["test"].track_ids, ctx.genres), scores)
    with pytest.raises(PluginError, match=r"columns .* are not context.genres"):
        check_scores(frame.rename(columns={ctx.genres[0]: "other"}), len(scores), len(ctx.genres), "Mine",
                     parts["test"].track_ids, ctx.genres)
    with pytest.raises(PluginError, match=r"integer index .* is not the rows 0\.\."):
        check_scores(by_position.set_axis(np.arange(len(scores)) + 1), len(scores), len(ctx.genres), "Mine",
                     parts["test"].track_ids, ctx.genres)
    with pytest.raises(PluginError, match=r"index .* is not the test excerpts' track ids"):
        check_scores(frame.set_axis([f"x{i}" for i in range(len(frame))]), len(scores), len(ctx.genres), "Mine",
                     parts["test"].track_ids, ctx.genres)


class _Interrupting:
    """A plugin whose fit() raises KeyboardInterrupt itself, or sends the process a real SIGINT (a Ctrl-C)."""

    def __init__(self, real):
        self.real = real

    def fit(self, train, valid):
        if self.real:
            import signal

            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here
        raise KeyboardInterrupt

    def predict(self, test):
        return np.zeros((len(test), N_GENRES))


def test_a_keyboard_interrupt_the_plugin_raises_itself_is_its_error_naming_the_run():
    with pytest.raises(PluginError, match=r"custom system Mine \(standard, fold 2\): fit\(\) raised KeyboardInterrupt "
                                          r"itself, with no Ctrl-C"):
        run_custom_system(lambda ctx: _Interrupting(real=False), context(), {}, constructed_parts())


def test_a_real_ctrl_c_during_a_plugin_still_interrupts():
    import signal

    from mgrfaults.systems.custom import CtrlC

    # Python's own handler, as a job's process has it: in one CI run the test's worker process held another (the
    # SIGINT then passed without a word, and fit() went on to raise KeyboardInterrupt itself)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(CtrlC):
            run_custom_system(lambda ctx: _Interrupting(real=True), context(), {}, constructed_parts())
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
    finally:
        signal.signal(signal.SIGINT, previous)
