#!/usr/bin/env bash
# The GPU checks of the training path, in one call on a GPU machine:
#
#     bash benchmarks/device_check.sh [OUT]        # OUT: where the figures go (default: $OUT, else results/device_check)
#
# Written for the GPU machines lent to this project's sessions: their image holds torch, h5py, pyyaml, pandas,
# pytest and pytest-xdist, but not Snakemake, librosa or soundfile, and this project's wheels cannot be carried
# there (their compiled parts are built for CPython 3.11; the image runs 3.12). So it runs what needs none of them:
#
#   1. the DNN, resident and stacked training tests on CUDA: `pytest -m gpu` on the three modules that hold them
#      (the other test modules import librosa or Snakemake at collection);
#   2. `benchmarks/train.py --gpu-suite`: frames/s, TFLOP/s and the share of the measured matmul peak, one net and
#      stacks, fp32/TF32, end to end from HDF5, the precision check; its figures also go to OUT/train.json;
#   3. `benchmarks/train.py ... --compiled --loops "resident graphs"`: the issue's one-net targets (500 units, batch
#      1200 and 100), the captured step as it is and compiled by torch.compile, fp32 and TF32; OUT/compiled.json;
#   4. `benchmarks/grid_replay.py`: the 2014 grid's training time on this GPU, measured: each net of NETS_TABLE
#      (the epochs each ran to patience at GTZAN size, measured on a CPU through the workflow) trained by
#      train_mlp for exactly those epochs, HDF5 read, graph capture and validation passes included, and where
#      each net's seconds went; OUT/replay.json. By default the standard condition's four nets (REPLAY_ARGS="" for
#      the table's eight, which take longer than this step's limit).
# `benchmarks/grid.py --rates-from OUT/train.json` then estimates the grid from step 2's rates, on any machine.
#
# Each step has its own time limit, so one that hangs leaves the others their time (a benchmark prints each row as
# it is measured, so a step cut short keeps its rows in its .txt, and grid_replay rewrites its JSON after each
# row); the exit status is 1 when any step failed; the limits add up to 570 s, under the device's 600 s a call
# (on an H100, with bf16 in the suite and before the compiled step, the steps took 24 and 265 s, and the replay
# 58 s for the standard condition's four nets), and its 7 output files are under the 8 a call brings back.
# On a CPU (a smoke run of this script):
#   TRAIN_ARGS="--tracks 30 --frames 200 --batch-sizes 1200 --stack 4 --epochs 1" \
#   COMPILED_ARGS="--tracks 30 --frames 200 --units 50 --batch-sizes 1200 --epochs 1" \
#   REPLAY_ARGS="--train-frames 5000 --frames-per-track 50 --valid-tracks 20 --max-epochs 2" \
#   bash benchmarks/device_check.sh /tmp/device_check
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-results/device_check}}
mkdir -p "$out"
export PYTHONPATH=src
py=${PYTHON:-python3}
train_args=${TRAIN_ARGS:---gpu-suite}
compiled_args=${COMPILED_ARGS:---device cuda --tracks 443 --frames 1290 --units 500 --batch-sizes 1200 100 \
--precisions fp32 tf32}
replay_args=${REPLAY_ARGS-"--conditions standard"}
nets_table=${NETS_TABLE:-benchmarks/reference/grid_gtzan_size_cpu.tsv}
failed=()

step() {  # step NAME LIMIT_S COMMAND...: run COMMAND into OUT/NAME.txt under a time limit, then show its tail
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >>"$out/$name.txt" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s (limit $limit s)"
    tail -n 40 "$out/$name.txt"
    [ "$rc" -eq 0 ] || failed+=("$name")
}

# the machine, at the top of the first step's file (a call brings back 8 files: one for each step's output and figures)
{ date -u; nvidia-smi 2>&1 || echo "no nvidia-smi"; "$py" -c "import torch; print('torch', torch.__version__, \
'cuda', torch.cuda.is_available())"; } >"$out/pytest_gpu.txt" 2>&1
cat "$out/pytest_gpu.txt"
step pytest_gpu 90 "$py" -m pytest -m gpu -n 0 -p no:cacheprovider --durations 10 \
    tests/test_dnn.py tests/test_resident.py tests/test_stack.py
# shellcheck disable=SC2086  # TRAIN_ARGS is a list of arguments
step train 220 "$py" benchmarks/train.py $train_args --json "$out/train.json"
# shellcheck disable=SC2086  # COMPILED_ARGS likewise
step compiled 140 "$py" benchmarks/train.py $compiled_args --compiled --loops "resident graphs" "resident eager compiled" \
    --json "$out/compiled.json"
# shellcheck disable=SC2086  # REPLAY_ARGS likewise
step grid_replay 120 "$py" benchmarks/grid_replay.py --nets-table "$nets_table" $replay_args --json "$out/replay.json"
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
