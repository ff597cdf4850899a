#!/usr/bin/env bash
# Start a single-node SLURM cluster on this host (idempotent), for tests/test_slurm.py and CI.
#
# One node = this host (its real CPUs and memory, from `slurmd -C`), one partition, no accounting
# database (accounting_storage/none), no cgroups (proctrack/linuxproc, task/none): the smallest
# setup in which `snakemake --executor slurm` submits, polls and completes jobs.
#
# Debian packages slurm-wlm and munge are installed with apt-get when missing.
# Daemons (munged, slurmctld, slurmd) run as root in the background; their pids are written to
# $MGRFAULTS_SLURM_DIR/pids/ (default /tmp/mgrfaults-slurm) and tests/slurm/stop_cluster.sh
# stops exactly those pids. Running it again while the cluster is up changes nothing.
#
# Exit status: 0 cluster up and node idle; 3 slurm/munge could not be installed (the test skips
# on exactly this); 1 any other failure (the test fails).
#
# Environment:
#   MGRFAULTS_SLURM_DIR        state folder: pids/, log/, spool, state     [/tmp/mgrfaults-slurm]
#   MGRFAULTS_SLURM_PARTITION  the one partition's name                    [compute]
#   MGRFAULTS_SLURM_TIMEOUT    seconds to wait for the node to turn idle   [90]
set -euo pipefail

STATE_DIR=${MGRFAULTS_SLURM_DIR:-/tmp/mgrfaults-slurm}
PARTITION=${MGRFAULTS_SLURM_PARTITION:-compute}
TIMEOUT=${MGRFAULTS_SLURM_TIMEOUT:-90}
SLURM_CONF_PATH=/etc/slurm/slurm.conf   # where every client (sbatch, squeue, srun in the job) looks
MARKER="# written by mgr-faults tests/slurm/start_cluster.sh"
PID_DIR="$STATE_DIR/pids"
LOG_DIR="$STATE_DIR/log"

log() { echo "start_cluster: $*" >&2; }

if [[ $EUID -ne 0 ]]; then
    # the daemons must run as root; a non-interactive sudo is the only other way in
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n --preserve-env=MGRFAULTS_SLURM_DIR,MGRFAULTS_SLURM_PARTITION,MGRFAULTS_SLURM_TIMEOUT "$0" "$@"
    fi
    log "must run as root (or with password-less sudo)"
    exit 1
fi

# --- packages ------------------------------------------------------------------------------
install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    local packages=(slurm-wlm munge)
    # try without `apt-get update` first: fast when the lists are fresh
    apt-get install -y --no-install-recommends "${packages[@]}" >"$LOG_DIR/apt.log" 2>&1 && return 0
    apt-get update >>"$LOG_DIR/apt.log" 2>&1 || return 1
    apt-get install -y --no-install-recommends "${packages[@]}" >>"$LOG_DIR/apt.log" 2>&1
}

mkdir -p "$PID_DIR" "$LOG_DIR" "$STATE_DIR/spool" "$STATE_DIR/state"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
        || ! command -v sbatch >/dev/null; then
    if ! command -v apt-get >/dev/null; then
        log "slurm is not installed and there is no apt-get"
        exit 3
    fi
    log "installing slurm-wlm and munge with apt-get (log: $LOG_DIR/apt.log)"
    if ! install_packages; then
        log "apt-get could not install slurm-wlm munge; see $LOG_DIR/apt.log"
        tail -5 "$LOG_DIR/apt.log" >&2 || true
        exit 3
    fi
fi

# --- helpers --------------------------------------------------------------------------------
# pid_alive NAME: the pid in pids/NAME.pid is running and is the program NAME (not a reused pid)
pid_alive() {
    local pid_file="$PID_DIR/$1.pid" pid
    [[ -s $pid_file ]] || return 1
    pid=$(<"$pid_file")
    [[ -d /proc/$pid ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1"* ]]
}

# wait_for_file PATH SECONDS: a daemon that forks writes its pid file a moment after returning
wait_for_file() {
    local deadline=$((SECONDS + $2))
    until [[ -s $1 ]]; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

node_state() { sinfo -h -N -p "$PARTITION" -o "%T" 2>/dev/null | head -1; }

# --- configuration --------------------------------------------------------------------------
NODE_NAME=$(hostname -s)
# "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105":
# exactly what slurmd will detect, so the node never drains for a mismatch
NODE_HARDWARE=$(slurmd -C | head -1 | sed -E 's/^NodeName=[^ ]+ //')

if [[ -e $SLURM_CONF_PATH ]] && ! grep -qF "$MARKER" "$SLURM_CONF_PATH"; then
    log "$SLURM_CONF_PATH exists and was not written by this script: refusing to replace a real cluster's configuration"
    exit 1
fi
mkdir -p "$(dirname "$SLURM_CONF_PATH")"
NEW_CONF=$(cat <<EOF
$MARKER
# A single-node test cluster: this host, no accounting database, no cgroups.
ClusterName=mgrfaults
SlurmctldHost=$NODE_NAME(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# the snakemake plugin polls job states with squeue (no sacct without accounting): finished
# jobs must stay visible to squeue longer than its polling interval (capped at 180 s)
MinJobAge=600
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$PID_DIR/slurmctld.pid
SlurmdPidFile=$PID_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$NODE_NAME NodeAddr=127.0.0.1 $NODE_HARDWARE State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE_NAME Default=YES MaxTime=INFINITE State=UP
EOF
)
CONF_CHANGED=0
if [[ ! -e $SLURM_CONF_PATH ]] || [[ $(<"$SLURM_CONF_PATH") != "$NEW_CONF" ]]; then
    printf '%s\n' "$NEW_CONF" >"$SLURM_CONF_PATH"
    CONF_CHANGED=1
fi

# --- munge ----------------------------------------------------------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating a munge key"
    mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge

if ! pid_alive munged; then
    log "starting munged"
    rm -f /run/munge/munged.pid
    # munged refuses to run as root without --force; it runs as its own user and forks
    runuser -u munge -- munged
    wait_for_file /run/munge/munged.pid 15 || { log "munged wrote no pid file"; exit 1; }
    cp /run/munge/munged.pid "$PID_DIR/munged.pid"
fi
munge -n | unmunge >/dev/null || { log "munge does not work (see /var/log/munge/munged.log)"; exit 1; }

# --- slurm daemons --------------------------------------------------------------------------
if ((CONF_CHANGED)) && { pid_alive slurmctld || pid_alive slurmd; }; then
    log "slurm.conf changed: restarting the daemons"
    "$(dirname "$0")/stop_cluster.sh" --keep-munge
fi
if ! pid_alive slurmctld; then
    log "starting slurmctld"
    rm -f "$PID_DIR/slurmctld.pid"
    # -c: a clean start, no jobs recovered from an earlier session's state
    slurmctld -c -f "$SLURM_CONF_PATH"
    wait_for_file "$PID_DIR/slurmctld.pid" 15 || { log "slurmctld did not start: $LOG_DIR/slurmctld.log"; exit 1; }
fi
if ! pid_alive slurmd; then
    log "starting slurmd"
    rm -f "$PID_DIR/slurmd.pid"
    slurmd -f "$SLURM_CONF_PATH"
    wait_for_file "$PID_DIR/slurmd.pid" 15 || { log "slurmd did not start: $LOG_DIR/slurmd.log"; exit 1; }
fi

# --- wait for the node --------------------------------------------------------------------------
deadline=$((SECONDS + TIMEOUT))
while true; do
    state=$(node_state)
    case $state in
        idle | mixed | allocated) break ;;
        *drain* | *down* | *fail*)
            # e.g. left down by an earlier unclean stop: this is our node, return it to service
            scontrol update NodeName="$NODE_NAME" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    if ((SECONDS >= deadline)); then
        log "node $NODE_NAME is '${state:-not reported}' after ${TIMEOUT}s; logs in $LOG_DIR"
        tail -5 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
        exit 1
    fi
    sleep 1
done
log "cluster up: node $NODE_NAME ($NODE_HARDWARE) is $state in partition $PARTITION; pids in $PID_DIR"
