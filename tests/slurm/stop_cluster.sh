#!/usr/bin/env bash
# Stop the test cluster started by tests/slurm/start_cluster.sh: exactly the pids it recorded in
# $MGRFAULTS_SLURM_DIR/pids/ (default /tmp/mgrfaults-slurm), never processes found by name.
# Safe to run when nothing is running. It also removes the slurm.conf start_cluster.sh wrote (and only
# that one): with a configuration naming a controller that is gone, every SLURM client waits ~10 s, and
# the Snakemake SLURM plugin runs `scontrol show config` when it is imported, i.e. at every `snakemake`
# start on this machine. --keep-munge is a restart (used on a config change): munged and the
# configuration stay.
set -uo pipefail

STATE_DIR=${MGRFAULTS_SLURM_DIR:-/tmp/mgrfaults-slurm}
PID_DIR="$STATE_DIR/pids"
SLURM_CONF_PATH=/etc/slurm/slurm.conf   # as in start_cluster.sh
MARKER="# written by mgr-faults tests/slurm/start_cluster.sh"
KEEP_MUNGE=0
[[ ${1:-} == --keep-munge ]] && KEEP_MUNGE=1

log() { echo "stop_cluster: $*" >&2; }

if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -n --preserve-env=MGRFAULTS_SLURM_DIR "$0" "$@"
fi

# stop_daemon NAME: TERM the recorded pid if it still is NAME, KILL it after 15 s
stop_daemon() {
    local name=$1 pid_file="$PID_DIR/$1.pid" pid
    [[ -s $pid_file ]] || return 0
    pid=$(<"$pid_file")
    if [[ -d /proc/$pid ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name"* ]]; then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 150); do
            [[ -d /proc/$pid ]] || break
            sleep 0.1
        done
        if [[ -d /proc/$pid ]]; then
            log "$name (pid $pid) ignored TERM: killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$pid_file"
}

# jobs still running would outlive slurmd as orphaned slurmstepd processes: cancel them first
if [[ -s $PID_DIR/slurmctld.pid ]] && command -v scancel >/dev/null; then
    job_ids=$(squeue -h -o %A 2>/dev/null)
    if [[ -n $job_ids ]]; then
        log "cancelling jobs still queued or running: $(echo $job_ids)"
        # shellcheck disable=SC2086
        scancel $job_ids 2>/dev/null
        sleep 2
    fi
fi

stop_daemon slurmd
stop_daemon slurmctld
if ! ((KEEP_MUNGE)); then
    stop_daemon munged
    if [[ -e $SLURM_CONF_PATH ]] && grep -qF "$MARKER" "$SLURM_CONF_PATH"; then
        log "removing $SLURM_CONF_PATH (written by start_cluster.sh)"
        rm -f "$SLURM_CONF_PATH"
    fi
fi
exit 0
