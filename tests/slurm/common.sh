# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for tests/slurm/start.sh and tests/slurm/stop.sh.
# Sourced, never executed. See tests/slurm/README.md.

# ---------------------------------------------------------------- settings
# Every setting can be overridden from the environment.
STATE="${VAEBENCH_SLURM_STATE:-/tmp/vaebench-slurm}"      # pids, logs, spool, fake GPUs
CLUSTER="${VAEBENCH_SLURM_CLUSTER:-vaebench}"
# profiles/site (the worked example of a site profile) runs unchanged here: its partitions,
# node feature, account and qos (normal: slurmdbd's default) are this cluster's
PARTITIONS="${VAEBENCH_SLURM_PARTITIONS:-cpu gpu}"         # space separated; first = default
FEATURES="${VAEBENCH_SLURM_FEATURES:-a100}"                # the node's features (constraint=)
# The node is declared (SlurmdParameters=config_overrides) as a small GPU node that fits one
# training bundle of profiles/slurm (4 CPUs per GPU, 16 GB), whatever the machine has.
CPUS="${VAEBENCH_SLURM_CPUS:-8}"                           # declared CPUs of the one node
MEM_MB="${VAEBENCH_SLURM_MEM_MB:-32000}"                   # declared MB; auto = min(8192, machine - 1024)
GPUS="${VAEBENCH_SLURM_GPUS:-2}"                           # fake GPUs (gres/gpu), 0 = none
SHARDS="${VAEBENCH_SLURM_SHARDS:-4}"                       # gres/shard per fake GPU (GPU sharing), 0 = none
ACCOUNTS="${VAEBENCH_SLURM_ACCOUNTS:-vaebench}"            # created in slurmdbd
USERS="${VAEBENCH_SLURM_USERS:-root ${SUDO_USER:-}}"       # added to every account
TIMEOUT="${VAEBENCH_SLURM_TIMEOUT:-90}"                    # seconds per readiness wait
DB_PASS="vaebench-slurm"                                   # MariaDB listens on localhost only

PIDS="$STATE/pids"     # <daemon> files hold the pids of the daemons start.sh started
LOGS="$STATE/log"
RUN="$STATE/run"       # the daemons' own pid files
MARKER="# Managed by vaebench tests/slurm/start.sh"

# daemon name -> binary that /proc/<pid>/exe must point to
declare -A DAEMON_BIN=(
  [munged]=/usr/sbin/munged
  [mariadbd]=/usr/sbin/mariadbd
  [slurmdbd]=/usr/sbin/slurmdbd
  [slurmctld]=/usr/sbin/slurmctld
  [slurmd]=/usr/sbin/slurmd
)
# stop order; start order is the reverse
STOP_ORDER=(slurmd slurmctld slurmdbd mariadbd munged)

T0=${EPOCHREALTIME/./}
elapsed() { # seconds since the script started, one decimal
  local ms=$(((${EPOCHREALTIME/./} - T0) / 1000))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}
log() { printf '[slurm-test %6ss] %s\n' "$(elapsed)" "$*" >&2; }
die() {
  printf '[slurm-test] ERROR: %s\n' "$*" >&2
  exit 1
}

need_root() {
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "must run as root (no sudo found)"
    # keep the VAEBENCH_SLURM_* settings; sudo sets SUDO_USER (added to the accounts)
    local keep
    keep=$(env | sed -n 's/^\(VAEBENCH_SLURM_[A-Z_]*\)=.*/\1/p' | paste -sd, -)
    exec sudo ${keep:+--preserve-env="$keep"} bash "$0" "$@"
  fi
}

# pid of one of *our* daemons, or nothing. A recorded pid only counts while
# /proc/<pid>/exe is still the expected binary (guards against pid reuse).
our_pid() {
  local name=$1 pid exe
  [[ -s "$PIDS/$name" ]] || return 1
  pid=$(<"$PIDS/$name")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  # Debian's /usr/sbin/slurmctld is an alternatives link to slurmctld-wlm
  [[ "${exe% (deleted)}" == "$(readlink -f "${DAEMON_BIN[$name]}")" ]] || return 1
  echo "$pid"
}


# true while the process exists and is not a zombie (an init that reaps
# slowly leaves /proc/<pid> behind for a while)
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# pids of any live (non-zombie) process with this name (ours or not)
any_pids() {
  local pid
  for pid in $(pgrep -x "$1" 2>/dev/null); do
    alive "$pid" && echo "$pid"
  done
  return 0
}

# stop one of our daemons: SIGTERM, wait up to 20 s, then SIGKILL
stop_daemon() {
  local name=$1 pid i
  if pid=$(our_pid "$name"); then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$name did not stop within 20 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$PIDS/$name"
}

# remove pid files the daemons leave behind (a stale /run/slurmctld.pid breaks
# Debian's prerm scripts, a stale munged pid file confuses the next munged)
clean_pidfiles() {
  local name=$1
  case $name in
    munged) [[ -n "$(any_pids munged)" ]] || rm -f /run/munge/munged.pid ;;
    mariadbd) [[ -n "$(any_pids mariadbd)" ]] || rm -f /run/mysqld/mysqld.pid ;;
    *) rm -f "$RUN/$name.pid" ;;
  esac
}
