#!/usr/bin/env bash
# A throwaway single-node SLURM on this machine, for tests/test_slurm.py and CI.
#
#   scripts/slurm_local.sh start    install slurmd/slurmctld/munge if needed (Debian), write a
#                                   minimal slurm.conf for this host, start munged, slurmctld
#                                   and slurmd, wait until `sinfo` shows the node idle
#                                   (retries once; prints the daemons' log tails on failure)
#   scripts/slurm_local.sh stop     stop the daemons this script started
#   scripts/slurm_local.sh status   sinfo, the queue and the job-completion log's tail
#
# Needs root (or passwordless sudo): the daemons run as root, with no accounting database
# (jobs' end states go to a plain job-completion file, JobCompType=jobcomp/filetxt). State,
# spool and logs live under $LT_LAB_SLURM_DIR (default /tmp/lt-lab-slurm). The config is
# /etc/slurm/slurm.conf, so sbatch/squeue/sinfo find it without SLURM_CONF; the script never
# overwrites a slurm.conf it did not write (a real cluster's).
set -euo pipefail

DIR=${LT_LAB_SLURM_DIR:-/tmp/lt-lab-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by lt-book scripts/slurm_local.sh"
WAIT_S=${LT_LAB_SLURM_WAIT_S:-60}
HOST=$(hostname -s)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
say() { echo "slurm_local: $*" >&2; }

install_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null && return 0
    say "installing slurmd, slurmctld, slurm-client and munge (Debian)"
    local packages=(slurmd slurmctld slurm-client munge)
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; then
        as_root apt-get update -qq
        as_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    fi
}

write_config() {
    if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        say "$CONF exists and was not written by this script: not touching a real cluster's config"
        return 1
    fi
    as_root mkdir -p "$DIR"/state "$DIR"/spool "$DIR"/log /etc/slurm
    as_root chmod 755 "$DIR"
    # The node as slurmd sees it (CPUs, sockets, cores, threads, memory), so slurmd accepts it.
    local node
    node=$(slurmd -C 2>/dev/null | head -n 1 | sed 's/^NodeName=[^ ]* //')
    [ -n "$node" ] || node="CPUs=$(nproc) RealMemory=$(free -m | awk '/^Mem:/ {print $2}')"
    as_root tee "$CONF" >/dev/null <<EOF
$MARK
ClusterName=ltlab
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MinJobAge=600
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$HOST NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
}

alive() {  # the pid in file $1 runs (a zombie, dead but not reaped, does not count)
    local pid state
    [ -s "$1" ] && pid=$(cat "$1") && kill -0 "$pid" 2>/dev/null || return 1
    state=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
    [ "${state:0:1}" != "Z" ]
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged is already serving (ours or the system's)
    fi
    as_root mkdir -p /run/munge /var/log/munge /var/lib/munge
    as_root chown munge:munge /run/munge /var/log/munge /var/lib/munge
    as_root chmod 755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        as_root mungekey --create --keyfile=/etc/munge/munge.key
        as_root chown munge:munge /etc/munge/munge.key
        as_root chmod 400 /etc/munge/munge.key
    fi
    as_root runuser -u munge -- /usr/sbin/munged --force
    as_root touch "$DIR/munged.ours"
    for _ in $(seq 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    say "munged does not answer"
    return 1
}

node_state() { sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n 1; }

start_once() {
    write_config
    start_munge
    alive "$DIR/slurmctld.pid" || as_root slurmctld -i
    alive "$DIR/slurmd.pid" || as_root slurmd
    local state="" deadline=$(( $(date +%s) + WAIT_S ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        state=$(node_state || true)
        case "$state" in
            idle|mixed|allocated) say "node $HOST is $state"; return 0 ;;
            down*|drain*) as_root scontrol update nodename="$HOST" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.5
    done
    say "node $HOST not idle after ${WAIT_S} s (state: ${state:-no answer from slurmctld})"
    return 1
}

stop_daemons() {
    local name
    if alive "$DIR/slurmctld.pid" && [ -n "$(squeue -h 2>/dev/null)" ]; then
        # a throwaway cluster: let its jobs end for a few seconds, then cancel the rest
        for _ in $(seq 40); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
        # shellcheck disable=SC2046 (one job id a word)
        as_root scancel $(squeue -h -o %i | sed 's/_.*//' | sort -u) 2>/dev/null || true
        for _ in $(seq 20); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
    fi
    for name in slurmd slurmctld; do
        if alive "$DIR/$name.pid"; then
            as_root kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true
        fi
    done
    for _ in $(seq 40); do
        alive "$DIR/slurmd.pid" || alive "$DIR/slurmctld.pid" || break
        sleep 0.25
    done
    if [ -e "$DIR/munged.ours" ] && alive /run/munge/munged.pid; then
        as_root kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
        as_root rm -f "$DIR/munged.ours"
    fi
}

log_tails() {
    local file
    for file in /var/log/munge/munged.log "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log"; do
        echo "---- last lines of $file ----"
        as_root tail -n 25 "$file" 2>/dev/null || echo "(no such file)"
    done
}

status() {
    local name
    for name in slurmctld slurmd; do
        if alive "$DIR/$name.pid"; then echo "$name: running (pid $(cat "$DIR/$name.pid"))"
        else echo "$name: not running"; fi
    done
    sinfo 2>&1 || true
    squeue 2>&1 || true
    if [ -s "$DIR/log/jobcomp.txt" ]; then
        echo "---- job-completion log ($DIR/log/jobcomp.txt), last 20 jobs ----"
        tail -n 20 "$DIR/log/jobcomp.txt" | tr ' ' '\n' \
            | awk '/^JobId=/ { if (line) print line; line = $0; next }
                   /^(Name|JobState|NodeList|ArrayJobId|ArrayTaskId|ExitCode)=/ { line = line " " $0 }
                   END { if (line) print line }'
    fi
    alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid" && [ -n "$(node_state)" ]
}

case "${1:-}" in
    start)
        started=$(date +%s)
        install_packages
        if ! start_once; then
            say "first start failed; stopping the daemons and trying once more"
            stop_daemons
            sleep 2
            if ! start_once; then
                say "SLURM did not start; the daemons' logs:"
                log_tails
                stop_daemons
                exit 1
            fi
        fi
        say "single-node SLURM up in $(( $(date +%s) - started )) s (config $CONF, state $DIR)"
        ;;
    stop) stop_daemons ;;
    status) status ;;
    logs) log_tails ;;
    *) echo "usage: $0 start|stop|status|logs" >&2; exit 2 ;;
esac
