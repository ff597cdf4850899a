#!/usr/bin/env bash
# The GPU checks of the training path, on a GPU machine:
#
#     bash benchmarks/device_check.sh [OUT]        # OUT: where the figures go (default: $OUT, else results/device_check)
#     STEPS="train grid_replay" bash benchmarks/device_check.sh [OUT]     # the other steps
#     STEPS=workflow_grid bash benchmarks/device_check.sh [OUT]          # the 2014 grid through the workflow
#
# Written for the GPU machines lent to this project's sessions. Their image (CPython 3.12) holds torch, h5py,
# pyyaml, pandas, pytest and pytest-xdist, but not Snakemake, librosa, soundfile, pulp or jsonschema. Those come as
# wheels: `python benchmarks/device_wheels.py` writes them here into .whl/ (27.5 MiB), and a call that carries it
# (run(carry=[".whl"], ...)) has this script install them into WHEELS_SITE (default /tmp/mgrfaults_site) and put
# that first on PYTHONPATH. Without them, the steps that need the workflow (workflow_grid) fail at once and
# pytest_gpu runs the three test modules that import neither. The steps (STEPS names those to run, in the order
# to run them; default "pytest_gpu kernels compiled"):
#
#   pytest_gpu: the GPU tests (`pytest -m gpu`): the DNN, resident and stacked training on CUDA, and with the
#      wheels the workflow's nets trained on CUDA through Snakemake (tests/test_workflow.py);
#   kernels: `benchmarks/step_kernels.py`: where one captured step's time goes (the step, its 11 matmuls alone,
#      each kernel's device time), batch 1200 and 100, fp32 and TF32, cuBLAS and cuBLASLt; OUT/kernels.json;
#   compiled: `benchmarks/train.py ... --compiled --loops "resident graphs"`: the issue's one-net targets (500
#      units, batch 1200 and 100), the captured step as it is and compiled by torch.compile, fp32 and TF32;
#      OUT/compiled.json;
#   autotuned: the same for TF32 only, compiled in Inductor's default mode and in max-autotune-no-cudagraphs
#      (the matmuls tuned too: Triton kernels with bias and ReLU fused in, against cuBLAS; batch 100 is bound by
#      its 11 small matmuls); OUT/autotuned.json;
#   train: `benchmarks/train.py --gpu-suite`: frames/s, TFLOP/s and the share of the measured matmul peak, one
#      net and stacks, fp32/TF32, end to end from HDF5, the precision check; OUT/train.json;
#   grid_replay: `benchmarks/grid_replay.py`: the 2014 grid's training time on this GPU, measured: each net of
#      NETS_TABLE (the epochs each ran to patience at GTZAN size, measured on a CPU through the workflow) trained
#      by train_mlp for exactly those epochs, HDF5 read, graph capture and validation passes included, and where
#      each net's seconds went; OUT/replay.json. By default the standard condition's four nets (REPLAY_ARGS="" for
#      the table's sixteen, config/gtzan.yaml's grid, which take longer than this step's limit);
#   workflow_grid: `benchmarks/grid.py`: the 2014 grid itself through Snakemake on this GPU (needs the wheels):
#      the GTZAN-size synthetic dataset, its features and partitions on the machine's cores, then every net
#      trained to patience (stacked by shape, as `systems.dnn.stack: auto` does on a GPU), timed; under
#      standard and fault_filtered, and under config/gtzan.yaml's two published-list conditions too where the
#      study's lists came along (`mkdir .gtzan_lists && cp ../shared/gtzan/partitions/*.txt .gtzan_lists/`, then
#      carry it; GRID_LISTS names another folder; a GRID_ARGS of your own replaces the default arguments, --lists
#      included). The training is stopped at 360 s (--train-limit), and the step's own limit stops grid.py, which
#      stops Snakemake, so the table of epochs comes back either way; OUT/grid_nets.tsv. 560 s.
# `benchmarks/grid.py --rates-from OUT/train.json` then estimates the grid from the train step's rates, on any
# machine.
#
# The steps run in the order STEPS names them, each under its own time limit, so one that hangs leaves the others
# their time (a benchmark prints each row as it is measured, so a step cut short keeps its rows in its .txt, and the
# JSON files are rewritten after each row). BUDGET_S bounds the whole script, counted from its start (the wheels'
# install included): each step runs under its own limit or what is left of the budget, whichever is less, and one
# left less than MIN_STEP_S (20 s) is skipped and named at the end. The exit status is 1 when any step failed or
# was skipped. The limits of all seven add up to 1540 s; a lent machine runs 600 s a call and gives a session 15
# minutes in all, its start (a minute or more) included. So name the steps most wanted first, under a budget that
# ends well inside the call: what issue 15 still lacks, in one call (run(timeout_s=600, carry=[".whl",
# ".gtzan_lists"])):
#   BUDGET_S=500 STEPS="pytest_gpu workflow_grid autotuned grid_replay" bash benchmarks/device_check.sh "$OUT"
# (a second call rarely fits in the 15 minutes: the steps after the grid run where it ends early; the budget leaves
# 100 s of the call for a stopped step's own stopping, up to 60 s for grid.py's Snakemake, and the table's copy). On an H200 the default steps took 36, 20 and 54 s
# (pytest_gpu then ran three modules); on an H100, with bf16 in the suite and before the compiled step, train took
# 265 s and grid_replay 58 s. A call brings back at most 8 files: machine.txt (what ran where), each step's output
# (NAME.txt, rewritten), and the figures of all but pytest_gpu (a JSON or TSV file each).
# Each step's arguments: TRAIN_ARGS, COMPILED_ARGS (also autotuned's), REPLAY_ARGS (with NETS_TABLE), KERNELS_ARGS
# and GRID_ARGS.
# On a CPU (a smoke run of this script; kernels exits 2 there: it needs a GPU):
#   STEPS="pytest_gpu train compiled grid_replay workflow_grid" \
#   TRAIN_ARGS="--tracks 30 --frames 200 --batch-sizes 1200 --stack 4 --epochs 1" \
#   COMPILED_ARGS="--tracks 30 --frames 200 --units 50 --batch-sizes 1200 --epochs 1" \
#   REPLAY_ARGS="--train-frames 5000 --frames-per-track 50 --valid-tracks 20 --max-epochs 2" \
#   GRID_ARGS="--preset tiny --device cpu --max-epochs 2" \
#   bash benchmarks/device_check.sh /tmp/device_check
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
out=${1:-${OUT:-results/device_check}}
mkdir -p "$out"
export PYTHONPATH=src
py=${PYTHON:-python3}
train_args=${TRAIN_ARGS:---gpu-suite}
compiled_args=${COMPILED_ARGS:---device cuda --tracks 443 --frames 1290 --units 500 --batch-sizes 1200 100 \
--precisions fp32 tf32}
replay_args=${REPLAY_ARGS-"--conditions standard"}
nets_table=${NETS_TABLE:-benchmarks/reference/grid_gtzan_size_cpu.tsv}
kernels_args=${KERNELS_ARGS-}
# the grid under config/gtzan.yaml's four conditions where the study's lists came along (GRID_LISTS), else two
grid_lists=${GRID_LISTS:-.gtzan_lists}
grid_args=${GRID_ARGS:---preset gtzan_size --device cuda --train-limit 360}
if [ -z "${GRID_ARGS+set}" ] && [ -f "$grid_lists/train_filtered.txt" ]; then
    grid_args+=" --lists $grid_lists"
fi
grid_dir=${GRID_DIR:-/tmp/mgrfaults_grid}
steps=${STEPS:-pytest_gpu kernels compiled}
# BUDGET_S: seconds for the whole script, from its start (the wheels' install included); each step runs under its
# own limit or what is left, whichever is less, and a step left less than MIN_STEP_S is skipped, named at the end
budget=${BUDGET_S:-}
min_step_s=${MIN_STEP_S:-20}
if [ -n "$budget" ] && ! [[ "$budget" =~ ^[0-9]+$ ]]; then
    echo "BUDGET_S: a whole number of seconds, not '$budget'" >&2
    exit 2
fi
failed=()
skipped=()
for name in $steps; do  # a misspelt step would otherwise be skipped without a word
    case $name in
        pytest_gpu | kernels | compiled | autotuned | train | grid_replay | workflow_grid) ;;
        *) echo "STEPS: no step '$name' (the steps: pytest_gpu kernels compiled autotuned train grid_replay" \
                "workflow_grid)" >&2
           exit 2 ;;
    esac
done

step() {  # step NAME LIMIT_S COMMAND...: run COMMAND into OUT/NAME.txt under a time limit, then show its tail
    local name=$1 limit=$2
    shift 2
    if [ -n "$budget" ]; then  # the step's own limit, or what is left of the budget if that is less
        local left=$((budget - SECONDS))
        if [ "$left" -lt "$min_step_s" ]; then
            echo "== $name: skipped, $left s of BUDGET_S=$budget left (a step needs $min_step_s s)"
            skipped+=("$name")
            return
        fi
        [ "$left" -lt "$limit" ] && limit=$left
    fi
    local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.txt" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s (limit $limit s)"
    tail -n 40 "$out/$name.txt"
    [ "$rc" -eq 0 ] || failed+=("$name")
}

# the workflow's packages, where they are missing and their wheels came along (benchmarks/device_wheels.py)
has_workflow() {
    "$py" -c "import snakemake, librosa, soundfile, pulp, jsonschema" 2>/dev/null
}
wheels="none"
if ! has_workflow && compgen -G ".whl/*.whl" >/dev/null; then
    site=${WHEELS_SITE:-/tmp/mgrfaults_site}
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl \
        || { echo "installing .whl/ into $site failed" >&2; exit 2; }
    export PYTHONPATH=src:$site
    wheels="$(ls .whl/*.whl | wc -l) wheels from .whl/ in $site"
fi
workflow=no
has_workflow && workflow=yes

# the machine and its load
{ date -u; uptime; echo "the workflow's packages: $workflow (carried: $wheels)"
"$py" - <<'VERSIONS' 2>&1
import importlib.metadata as md
versions = []
for name in ["numpy", "scipy", "pandas", "h5py", "scikit-learn", "numba", "snakemake", "librosa", "pulp"]:
    try:
        versions.append(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        versions.append(f"{name} missing")
print("versions:", ", ".join(versions))
VERSIONS
nvidia-smi 2>&1 || echo "no nvidia-smi"; "$py" -c "import torch; print('torch', torch.__version__, \
'cuda', torch.cuda.is_available())"; } >"$out/machine.txt" 2>&1
cat "$out/machine.txt"
run_step() {  # run_step NAME: the step NAME, within what is left of BUDGET_S
    local name=$1
    case $name in
        pytest_gpu)
            if [ "$workflow" = yes ]; then  # every module's GPU tests (the workflow's among them)
                gpu_tests=(tests)
            else  # the other test modules import librosa or Snakemake at collection
                gpu_tests=(tests/test_dnn.py tests/test_resident.py tests/test_stack.py)
            fi
            step pytest_gpu 180 "$py" -m pytest -m gpu -n 0 -p no:cacheprovider --durations 10 "${gpu_tests[@]}" ;;
        kernels)
            # shellcheck disable=SC2086  # KERNELS_ARGS is a list of arguments
            step kernels 80 "$py" benchmarks/step_kernels.py $kernels_args --json "$out/kernels.json" ;;
        train)
            # shellcheck disable=SC2086  # TRAIN_ARGS is a list of arguments
            step train 220 "$py" benchmarks/train.py $train_args --json "$out/train.json" ;;
        compiled)
            # shellcheck disable=SC2086  # COMPILED_ARGS is a list of arguments
            step compiled 140 "$py" benchmarks/train.py $compiled_args --compiled \
                --loops "resident graphs" "resident eager compiled" --json "$out/compiled.json" ;;
        autotuned)
            # shellcheck disable=SC2086  # COMPILED_ARGS is a list of arguments
            # batch 100 first (the target with no margin): a long autotuning at 1200 cannot leave it unmeasured
            step autotuned 240 "$py" benchmarks/train.py $compiled_args --batch-sizes 100 1200 --precisions tf32 \
                --compiled --compile-modes default max-autotune-no-cudagraphs \
                --loops "resident graphs compiled" "resident graphs autotuned" "resident eager compiled" \
                "resident eager autotuned" --json "$out/autotuned.json" ;;
        grid_replay)
            # shellcheck disable=SC2086  # REPLAY_ARGS is a list of arguments
            step grid_replay 120 "$py" benchmarks/grid_replay.py --nets-table "$nets_table" $replay_args \
                --json "$out/replay.json" ;;
        workflow_grid)
            if [ "$workflow" = yes ]; then
                rm -f "$grid_dir/grid_nets.tsv"  # a warm machine's earlier table must not come back as this run's
                # shellcheck disable=SC2086  # GRID_ARGS is a list of arguments
                step workflow_grid 560 "$py" benchmarks/grid.py $grid_args --workdir "$grid_dir"
                cp "$grid_dir/grid_nets.tsv" "$out/grid_nets.tsv" 2>/dev/null
            else
                echo "== workflow_grid: Snakemake or librosa missing here: run python benchmarks/device_wheels.py," \
                    "then carry .whl" | tee "$out/workflow_grid.txt"
                failed+=(workflow_grid)
            fi ;;
    esac
}

for name in $steps; do  # in the order STEPS names them: the one that matters most first
    run_step "$name"
done
if [ ${#skipped[@]} -gt 0 ]; then
    echo "skipped (less than $min_step_s s of BUDGET_S=$budget left): ${skipped[*]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
fi
[ ${#failed[@]} -eq 0 ] && [ ${#skipped[@]} -eq 0 ] || exit 1
