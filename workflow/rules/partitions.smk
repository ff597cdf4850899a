# Stage: partitions. One job per condition writes every fold's partition (track_id, part) and summary.
# The number of folds of a condition (CONDITIONS, common.smk) fixes its outputs, so each condition
# gets its own rule, `partitions_<condition>`.


for _name, _spec in CONDITION_SPECS.items():
    _condition, _n_folds = _spec.options, _spec.n_folds  # options: the method's keys, defaults filled

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
            # faults: detected | both take the removed faults from the fault detection stage
            **({"detected": f"{RESULTS}/faults/detected.csv"} if _condition["faults"] != "annotated" else {}),
        output:
            partitions=[f"{RESULTS}/partitions/{_name}/fold_{fold}.csv" for fold in range(_n_folds)],
            summaries=[f"{RESULTS}/partitions/{_name}/fold_{fold}_summary.csv" for fold in range(_n_folds)],
        params:
            name=_name,
            condition=dict(_condition),
            seed=derive(RESOLVED.seed, "partitions", _name),
            **OWN_LISTS_DIGESTS[_name],  # not read by the script: a rerun trigger
        log:
            f"{RESULTS}/logs/partitions/{_name}.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/make_partitions.py"
