#!/usr/bin/env bash
# Stop the single-node Slurm test cluster started by tests/slurm/start.sh.
# Cancels the remaining jobs, then ends only the daemons that start.sh started
# (pids recorded under $VAEBENCH_SLURM_STATE/pids, checked against
# /proc/<pid>/exe). A munged or MariaDB that was already running is left alone.
# Logs and state stay in $VAEBENCH_SLURM_STATE (default /tmp/vaebench-slurm).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh source-path=SCRIPTDIR
source "$HERE/common.sh"
need_root "$@"

if [[ ! -d $PIDS ]]; then
  log "nothing to stop ($PIDS does not exist)"
  exit 0
fi
exec 9>"$STATE/lock"
flock -w 120 9 || die "another start.sh/stop.sh holds $STATE/lock"

# cancel queued and running jobs while slurmctld is still there
if our_pid slurmctld >/dev/null; then
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
  if [[ -n $jobs ]]; then
    log "cancelling jobs: $(echo "$jobs" | paste -sd' ')"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -z $(timeout 10 squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
fi

stopped=0
for name in "${STOP_ORDER[@]}"; do
  if our_pid "$name" >/dev/null; then
    stop_daemon "$name"
    clean_pidfiles "$name"
    stopped=$((stopped + 1))
  else
    rm -f "$PIDS/$name"
  fi
done
# config.sha256 is kept: the next start.sh sees nothing running and starts all
log "stopped $stopped daemon(s); logs remain in $LOGS"
