# The confound sweep: the whole study rerun at every confound strength x seed, each point in its own
# results folder <RESULTS>/sweep/strength_<s>/seed_<seed>. The stage rules stay single-sourced: every
# point is this workflow's own Snakefile loaded as a Snakemake module with the point's config
# (seed, confound_strength, fault rates, results folder), its rules renamed <point name><rule>.
# Included by the Snakefile only when config `sweep.enabled` is true; a point's config has it false.

SWEEP_POINTS = _sweep_points()

for _point in SWEEP_POINTS:
    _sweep_module = _point["name"]  # `use rule` resolves the module (and its rule prefix) through this global

    module:
        name:
            _point["name"]
        snakefile:
            str(Path(workflow.basedir) / "Snakefile")
        config:
            _sweep_point_config(_point)

    use rule * from _sweep_module exclude all as _sweep_module*


rule sweep_tables:
    """Drop (standard - fault_filtered) per system, strength and seed; its summary over seeds; the figure; attribution."""
    input:
        runs=[f"{SWEEP_DIR}/{p['folder']}/tables/runs.csv" for p in SWEEP_POINTS],
        attribution=[f"{SWEEP_DIR}/{p['folder']}/tables/attribution.csv" for p in SWEEP_POINTS],
    output:
        drops=report(
            f"{SWEEP_DIR}/drop_by_strength.csv",
            caption="../report/sweep.rst",
            category="8. Confound sweep",
            labels={"result": "drop per system, strength and seed", "format": "csv"},
        ),
        summary=report(
            f"{SWEEP_DIR}/drop_summary.csv",
            caption="../report/sweep.rst",
            category="8. Confound sweep",
            labels={"result": "drop summary over seeds", "format": "csv"},
        ),
        attribution=report(
            f"{SWEEP_DIR}/attribution_by_strength.csv",
            caption="../report/sweep.rst",
            category="8. Confound sweep",
            labels={"result": "attribution per strength and seed", "format": "csv"},
        ),
        figure=report(
            f"{SWEEP_DIR}/drop_by_strength.png",
            caption="../report/sweep.rst",
            category="8. Confound sweep",
            labels={"result": "drop vs strength", "format": "png"},
        ),
    params:
        points=SWEEP_POINTS,
        conditions=COMPARE,
        confidence=EVALUATE.confidence,
    log:
        f"{SWEEP_DIR}/logs/sweep_tables.log",
    conda:
        "../envs/mgrfaults.yaml"
    script:
        "../scripts/sweep_tables.py"


rule sweep:
    """Target: the confound sweep's tables and figure, and the configuration that gives them again."""
    input:
        rules.sweep_tables.output,
        CONFIGURATION_FILE,
