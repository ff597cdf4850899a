# Stage: partitions. One job per condition writes every fold's partition (track_id, part) and summary.
# The number of folds of a condition (CONDITIONS, common.smk) fixes its outputs, so each condition
# gets its own rule, `partitions_<condition>`.
from mgrfaults.annotations import partition_list_paths
from mgrfaults.seeds import derive


def partitions_targets():
    return [
        f"{RESULTS}/partitions/{condition}/fold_{fold}{suffix}.csv"
        for condition, n_folds in CONDITIONS.items()
        for fold in range(n_folds)
        for suffix in ("", "_summary")
    ]


def published_list_files(condition):
    """The three list files of a `published` condition: its own folder, or those the data stage fetched."""
    lists_dir = condition.get("lists") or f"{RESULTS}/dataset/partition_lists"
    return {part: str(path) for part, path in partition_list_paths(lists_dir, condition.get("set", "filtered")).items()}


for _name, _n_folds in CONDITIONS.items():
    _condition = config["partitions"]["conditions"][_name]

    rule:
        name:
            f"partitions_{_name}"
        input:
            metadata=f"{RESULTS}/dataset/metadata.csv",
            **(
                dict(bad_audio=f"{RESULTS}/dataset/bad_audio.csv", **published_list_files(_condition))
                if _condition["method"] == "published"
                else {}
            ),
        output:
            partitions=[f"{RESULTS}/partitions/{_name}/fold_{fold}.csv" for fold in range(_n_folds)],
            summaries=[f"{RESULTS}/partitions/{_name}/fold_{fold}_summary.csv" for fold in range(_n_folds)],
        params:
            name=_name,
            condition=dict(_condition),
            seed=derive(config["seed"], "partitions", _name),
        log:
            f"{RESULTS}/logs/partitions/{_name}.log",
        script:
            "../scripts/make_partitions.py"
