#!/usr/bin/env bash
# Start a real single-node Slurm cluster (slurmctld + slurmd + slurmdbd/MariaDB
# accounting + fake GPUs) on this machine, for tests of the Slurm profile.
# Idempotent: a second run with the same settings only checks the cluster.
# Settings: VAEBENCH_SLURM_* environment variables, see common.sh / README.md.
# Stop with tests/slurm/stop.sh (ends only the daemons started here).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh source-path=SCRIPTDIR
source "$HERE/common.sh"
need_root "$@"

PKGS=(procps munge mariadb-server slurmdbd slurmctld slurmd slurm-client)
HOST=$(hostname -s)
DEFAULT_PARTITION=${PARTITIONS%% *}

mkdir -p "$STATE"
chmod 0755 "$STATE"
exec 9>"$STATE/lock" # every daemon is started with 9>&- so it does not inherit the lock
flock -w 120 9 || die "another start.sh/stop.sh holds $STATE/lock"

# wait_for <what> <log file or -> <command...>: retry the command every 0.2 s
wait_for() {
  local what=$1 logfile=$2 deadline=$((SECONDS + TIMEOUT))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      if [[ $logfile != - && -f $logfile ]]; then
        printf '%s\n' "---- last lines of $logfile:" >&2
        tail -n 25 "$logfile" >&2
      fi
      die "timed out after ${TIMEOUT}s waiting for $what"
    fi
    sleep 0.2
  done
}

# wait until a daemon has written its pid file, then record that pid as ours
record_pid() {
  local name=$1 pidfile=$2 logfile=$3 deadline=$((SECONDS + TIMEOUT)) pid
  while :; do
    if [[ -s $pidfile ]]; then
      pid=$(<"$pidfile")
      echo "$pid" >"$PIDS/$name"
      our_pid "$name" >/dev/null && break
    fi
    if ((SECONDS >= deadline)); then
      [[ -f $logfile ]] && tail -n 25 "$logfile" >&2
      die "$name did not start (no live pid in $pidfile after ${TIMEOUT}s)"
    fi
    sleep 0.1
  done
  log "$name started (pid $pid)"
}

start_failed() {
  [[ -f $2 ]] && tail -n 15 "$2" >&2
  die "$1 failed to start (log: $2)"
}

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

# ------------------------------------------------------------ 1. packages
install_packages() {
  local p missing=() cleanup_policy=0
  for p in "${PKGS[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]} (apt-get, no recommends)"
  # keep package scripts from starting services (matters on systemd hosts)
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    cleanup_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq >"$STATE/apt.log" 2>&1 ||
    ! apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >>"$STATE/apt.log" 2>&1; then
    ((cleanup_policy)) && rm -f /usr/sbin/policy-rc.d
    tail -n 30 "$STATE/apt.log" >&2
    die "apt-get failed (full log: $STATE/apt.log)"
  fi
  ((cleanup_policy)) && rm -f /usr/sbin/policy-rc.d
  log "packages installed"
}

# ------------------------------------------------------------ 2. configs
compute_settings() {
  local total_mb
  total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  if [[ $MEM_MB == auto ]]; then
    MEM_MB=$((total_mb - 1024))
    ((MEM_MB > 8192)) && MEM_MB=8192
    ((MEM_MB < 1024)) && MEM_MB=$((total_mb / 2))
  fi
  [[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "VAEBENCH_SLURM_CPUS must be a positive integer (got '$CPUS')"
  [[ $MEM_MB =~ ^[1-9][0-9]*$ ]] || die "VAEBENCH_SLURM_MEM_MB must be a positive integer or auto (got '$MEM_MB')"
  [[ $GPUS =~ ^[0-9]+$ ]] || die "VAEBENCH_SLURM_GPUS must be an integer >= 0 (got '$GPUS')"
  [[ $SHARDS =~ ^[0-9]+$ ]] || die "VAEBENCH_SLURM_SHARDS must be an integer >= 0 (got '$SHARDS')"
  ((GPUS > 0)) || SHARDS=0 # shards are slices of a GPU
  DEF_MEM_PER_CPU=$((MEM_MB / CPUS))
  ((DEF_MEM_PER_CPU > 1024)) && DEF_MEM_PER_CPU=1024
  return 0
}

# fake GPU devices: character devices cloned from /dev/null; if mknod is not
# allowed (containers), fall back to distinct existing character devices.
# gres.conf needs File= to be a device: a line without File= is dropped and
# the node then goes INVAL ("gres/gpu count reported lower than configured").
GPU_FILES=()
make_fake_gpus() {
  local i f fallback=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom)
  ((GPUS > 0)) || return 0
  mkdir -p "$STATE/dev"
  for ((i = 0; i < GPUS; i++)); do
    f=$STATE/dev/fakegpu$i
    if [[ ! -c $f ]]; then
      rm -f "$f"
      mknod -m 0666 "$f" c 1 3 2>/dev/null || break
    fi
    GPU_FILES+=("$f")
  done
  if ((${#GPU_FILES[@]} < GPUS)); then
    ((GPUS <= ${#fallback[@]})) || die "mknod not allowed here, and at most ${#fallback[@]} fake GPUs are possible without it"
    log "mknod not allowed; using ${fallback[*]:0:GPUS} as fake GPU devices"
    GPU_FILES=("${fallback[@]:0:GPUS}")
  fi
}

render_configs() {
  local conf=$STATE/conf.new part gres_node="" gres_types=gpu tres=gres/gpu f
  rm -rf "$conf"
  mkdir -p "$conf"
  ((GPUS > 0)) && gres_node=" Gres=gpu:$GPUS"
  # gres/shard (Slurm >= 22.05): SHARDS jobs can share one GPU; the node count is the total
  if ((SHARDS > 0)); then
    gres_node+=",shard:$((GPUS * SHARDS))"
    gres_types=gpu,shard
    tres=gres/gpu,gres/shard
  fi

  cat >"$conf/slurm.conf" <<EOF
$MARKER (settings: $STATE)
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld-$CLUSTER
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups needed (works in VMs/containers without systemd)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# jobs without --mem must not take the whole node
DefMemPerCPU=$DEF_MEM_PER_CPU
# reject impossible requests at submission instead of pending forever
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
MailProg=/bin/true
# the node below is declared, not detected: CPUs/memory may differ from the machine
SlurmdParameters=config_overrides
GresTypes=$gres_types
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=$tres
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$MEM_MB$gres_node${FEATURES:+ Features=$FEATURES} State=UNKNOWN
EOF
  for part in $PARTITIONS; do
    if [[ $part == "$DEFAULT_PARTITION" ]]; then
      echo "PartitionName=$part Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$conf/slurm.conf"
    else
      echo "PartitionName=$part Nodes=ALL Default=NO MaxTime=INFINITE State=UP" >>"$conf/slurm.conf"
    fi
  done

  {
    echo "$MARKER"
    echo "AutoDetect=off"
    for f in "${GPU_FILES[@]}"; do
      echo "NodeName=$HOST Name=gpu File=$f"
    done
    # one line per GPU: Count = shards of that GPU, File = the GPU it slices
    if ((SHARDS > 0)); then
      for f in "${GPU_FILES[@]}"; do
        echo "NodeName=$HOST Name=shard Count=$SHARDS File=$f"
      done
    fi
  } >"$conf/gres.conf"

  cat >"$conf/slurmdbd.conf" <<EOF
$MARKER
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
PidFile=$RUN/slurmdbd.pid
LogFile=$LOGS/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF

  # silences slurmdbd's "Database settings not recommended values" error
  cat >"$conf/mariadb.cnf" <<EOF
$MARKER
[mysqld]
innodb_buffer_pool_size=512M
innodb_lock_wait_timeout=900
bind-address=127.0.0.1
EOF
  NEW_HASH=$(cat "$conf"/* | sha256sum | cut -d' ' -f1)
}

# copy a rendered file into place if its content differs; back up foreign files
install_conf() {
  local src=$1 dst=$2 mode=$3 owner=$4
  if [[ -f $dst ]] && cmp -s "$src" "$dst"; then
    return 0
  fi
  if [[ -f $dst ]] && ! grep -qF "$MARKER" "$dst"; then
    mkdir -p "$STATE/backup"
    cp -p "$dst" "$STATE/backup/$(basename "$dst").$(date +%s)"
    log "backed up existing $dst to $STATE/backup/"
  fi
  mkdir -p "$(dirname "$dst")"
  install -m "$mode" -o "$owner" -g "$owner" "$src" "$dst"
}

install_configs() {
  local conf=$STATE/conf.new
  install_conf "$conf/slurm.conf" /etc/slurm/slurm.conf 0644 root
  install_conf "$conf/gres.conf" /etc/slurm/gres.conf 0644 root
  # slurmdbd refuses a slurmdbd.conf that is not 0600 and owned by SlurmUser
  install_conf "$conf/slurmdbd.conf" /etc/slurm/slurmdbd.conf 0600 slurm
  if [[ -d /etc/mysql/mariadb.conf.d ]]; then
    install_conf "$conf/mariadb.cnf" /etc/mysql/mariadb.conf.d/99-vaebench-slurm.cnf 0644 root
  fi
}

# ------------------------------------------------------------ 3. daemons
start_munge() {
  if munge_ok; then
    our_pid munged >/dev/null || log "munged already running (not ours; reused, never stopped)"
    return 0
  fi
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile=/etc/munge/munge.key --force
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged --force >>"$LOGS/munged.out" 2>&1 9>&- ||
    die "munged failed to start: $(tail -n 5 "$LOGS/munged.out")"
  record_pid munged /run/munge/munged.pid /var/log/munge/munged.log
  wait_for "munge to answer" /var/log/munge/munged.log munge_ok
}

MYSQLADMIN="" MYSQL=""
db_ping() { "$MYSQLADMIN" --no-defaults --socket=/run/mysqld/mysqld.sock ping; }

start_mariadb() {
  # looked up here: on a fresh machine they exist only after install_packages
  MYSQLADMIN=$(command -v mariadb-admin || command -v mysqladmin || true)
  MYSQL=$(command -v mariadb || command -v mysql || true)
  [[ -n $MYSQLADMIN && -n $MYSQL ]] || die "mariadb client tools not found"
  if db_ping >/dev/null 2>&1; then
    our_pid mariadbd >/dev/null || log "MariaDB/MySQL already running (not ours; reused, never stopped)"
  else
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    if [[ ! -d /var/lib/mysql/mysql ]]; then
      log "initialising /var/lib/mysql"
      mariadb-install-db --user=mysql >>"$LOGS/mariadbd.log" 2>&1 || die "mariadb-install-db failed ($LOGS/mariadbd.log)"
    fi
    rm -f /run/mysqld/mysqld.pid
    setsid "${DAEMON_BIN[mariadbd]}" --user=mysql --pid-file=/run/mysqld/mysqld.pid \
      --socket=/run/mysqld/mysqld.sock </dev/null >>"$LOGS/mariadbd.log" 2>&1 9>&- &
    record_pid mariadbd /run/mysqld/mysqld.pid "$LOGS/mariadbd.log"
    wait_for "MariaDB to answer" "$LOGS/mariadbd.log" db_ping
  fi
  "$MYSQL" --socket=/run/mysqld/mysqld.sock -u root <<EOF || die "could not create the slurm database/user (is root allowed via the unix socket?)"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
}

sacctmgr_ok() { sacctmgr -n -P list cluster format=cluster; }

start_slurmdbd() {
  if ! our_pid slurmdbd >/dev/null; then
    rm -f "$RUN/slurmdbd.pid"
    /usr/sbin/slurmdbd 9>&- || start_failed slurmdbd "$LOGS/slurmdbd.log"
    record_pid slurmdbd "$RUN/slurmdbd.pid" "$LOGS/slurmdbd.log"
  fi
  wait_for "slurmdbd (sacctmgr list cluster)" "$LOGS/slurmdbd.log" sacctmgr_ok
  if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
    log "registered cluster $CLUSTER in slurmdbd"
  fi
}

ctld_up() { scontrol ping | grep -q 'is UP'; }

start_slurmctld() {
  if ! our_pid slurmctld >/dev/null; then
    rm -f "$RUN/slurmctld.pid"
    /usr/sbin/slurmctld 9>&- || start_failed slurmctld "$LOGS/slurmctld.log"
    record_pid slurmctld "$RUN/slurmctld.pid" "$LOGS/slurmctld.log"
  fi
  wait_for "slurmctld (scontrol ping)" "$LOGS/slurmctld.log" ctld_up
}

node_state() { sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n 1; }

# idle = ready; a node left DRAIN/INVAL/DOWN by an earlier config is resumed
node_idle() {
  local st
  st=$(node_state)
  case $st in
    idle) return 0 ;;
    *drain* | *inval* | down* | *fail*)
      scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
      return 1
      ;;
    *) return 1 ;;
  esac
}

start_slurmd() {
  if ! our_pid slurmd >/dev/null; then
    rm -f "$RUN/slurmd.pid"
    /usr/sbin/slurmd 9>&- || start_failed slurmd "$LOGS/slurmd.log"
    record_pid slurmd "$RUN/slurmd.pid" "$LOGS/slurmd.log"
  fi
  if ! wait_for_quiet node_idle; then
    scontrol show node "$HOST" >&2 || true
    tail -n 25 "$LOGS/slurmd.log" >&2 || true
    die "node $HOST not idle after ${TIMEOUT}s (state: $(node_state))"
  fi
}

wait_for_quiet() {
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ------------------------------------------------------------ 4. accounts
ensure_accounts() {
  local existing a u
  existing=$(sacctmgr -n -P list assoc cluster="$CLUSTER" format=account,user) ||
    die "sacctmgr list assoc failed"
  for a in $ACCOUNTS; do
    if ! grep -q "^$a|" <<<"$existing"; then
      sacctmgr -i add account "$a" cluster="$CLUSTER" description="vaebench tests" organization=vaebench >/dev/null ||
        die "sacctmgr add account $a failed"
      log "created account $a"
    fi
    for u in $USERS; do
      id "$u" >/dev/null 2>&1 || continue
      if ! grep -qx "$a|$u" <<<"$existing"; then
        sacctmgr -i add user "$u" account="$a" cluster="$CLUSTER" >/dev/null ||
          die "sacctmgr add user $u account=$a failed"
        log "added user $u to account $a"
      fi
    done
  done
}

# ------------------------------------------------------------ 5. smoke test
# smoke_run <label> <srun options...>: run a tiny job step, print "<jobid> <CUDA_VISIBLE_DEVICES>"
smoke_run() {
  local label=$1 out jobid cvd
  shift
  # shellcheck disable=SC2016 # expanded by the job's shell
  out=$(timeout "$TIMEOUT" srun -p "$DEFAULT_PARTITION" -n 1 -t 1 --mem=100 --job-name=vaebench-smoke \
    "$@" bash -c 'echo "$SLURM_JOB_ID ${CUDA_VISIBLE_DEVICES:-none}"' 2>&1) ||
    die "smoke test ($label) srun failed: $out"
  read -r jobid cvd <<<"$(grep -E '^[0-9]+ ' <<<"$out" | tail -n 1)"
  [[ $jobid =~ ^[0-9]+$ ]] || die "smoke test ($label): unexpected srun output: $out"
  if [[ $label != cpu && $cvd == none ]]; then
    die "smoke test: $label job got no CUDA_VISIBLE_DEVICES"
  fi
  echo "$jobid $cvd"
}

smoke_test() {
  local r jobid cvd st deadline since shard_jobid="" shard_cvd="" tres
  since=$(date -d '-1 min' +%Y-%m-%dT%H:%M:%S)
  # (assignments, so that a die in the subshell ends start.sh under set -e)
  if ((GPUS > 0)); then
    r=$(smoke_run --gpus=1 --gpus=1)
  else
    r=$(smoke_run cpu)
  fi
  read -r jobid cvd <<<"$r"
  if ((SHARDS > 0)); then
    r=$(smoke_run --gres=shard:1 --gres=shard:1)
    read -r shard_jobid shard_cvd <<<"$r"
  fi
  deadline=$((SECONDS + TIMEOUT))
  # job ids restart at 1 with a new StateSaveLocation: filter by name and time too
  until st=$(sacct -n -X -P -j "$jobid" --name=vaebench-smoke -S "$since" -o State 2>/dev/null | tail -n 1) &&
    [[ $st == COMPLETED ]]; do
    ((SECONDS < deadline)) || die "smoke test: sacct does not report job $jobid as COMPLETED (got '$st')"
    sleep 0.3
  done
  log "smoke test ok: job $jobid ran (CUDA_VISIBLE_DEVICES=$cvd) and sacct reports it COMPLETED"
  [[ -n $shard_jobid ]] || return 0
  until tres=$(sacct -n -X -P -j "$shard_jobid" --name=vaebench-smoke -S "$since" -o State,AllocTRES 2>/dev/null | tail -n 1) &&
    [[ $tres == COMPLETED\|* ]]; do
    ((SECONDS < deadline)) || die "smoke test: sacct does not report shard job $shard_jobid as COMPLETED (got '$tres')"
    sleep 0.3
  done
  [[ $tres == *gres/shard=1* ]] || die "smoke test: sacct shows no gres/shard=1 for shard job $shard_jobid (got '$tres')"
  log "smoke test ok: --gres=shard:1 job $shard_jobid ran (CUDA_VISIBLE_DEVICES=$shard_cvd), sacct: ${tres#*|}"
}

# quick health check for the already-running case
cluster_ready() {
  local st
  ctld_up >/dev/null 2>&1 || return 1
  sacctmgr_ok >/dev/null 2>&1 || return 1
  st=$(node_state)
  [[ $st == idle || $st == mixed || $st == allocated || $st == completing ]]
}

# ------------------------------------------------------------ main
main() {
  local name pid others started=0
  install_packages
  mkdir -p "$PIDS" "$STATE/spool"
  install -d -o slurm -g slurm -m 0755 "$LOGS" "$RUN" "$STATE/ctld-$CLUSTER"
  compute_settings
  make_fake_gpus
  render_configs
  local old_hash=""
  [[ -f $STATE/config.sha256 ]] && old_hash=$(<"$STATE/config.sha256")

  # already running with the same settings: nothing to do
  if [[ $NEW_HASH == "$old_hash" ]] && our_pid slurmdbd >/dev/null && our_pid slurmctld >/dev/null &&
    our_pid slurmd >/dev/null && munge_ok && cluster_ready; then
    ensure_accounts # accounts/users are not part of the config: add new ones
    log "already running (node $HOST: $(node_state); partitions: $PARTITIONS); nothing to do"
    return 0
  fi

  # slurm daemons not started by us: refuse to touch them
  for name in slurmd slurmctld slurmdbd; do
    others=$(any_pids "$name" | grep -vx "$(our_pid "$name" || echo none)" || true)
    [[ -z $others ]] || die "$name is already running (pid $(echo "$others" | paste -sd' ')) but was not started by this script; stop it first (systemctl stop $name / kill it) and retry"
  done

  # settings changed: restart our slurm daemons with the new config
  if [[ $NEW_HASH != "$old_hash" ]]; then
    for name in slurmd slurmctld slurmdbd; do
      if our_pid "$name" >/dev/null; then
        started=1
        stop_daemon "$name"
        rm -f "$RUN/$name.pid"
      fi
    done
    ((started)) && log "settings changed: restarted the slurm daemons"
  fi

  install_configs
  start_munge
  start_mariadb
  start_slurmdbd
  start_slurmctld
  start_slurmd
  ensure_accounts
  smoke_test
  echo "$NEW_HASH" >"$STATE/config.sha256"
  log "Slurm is up: cluster $CLUSTER, node $HOST (CPUs=$CPUS RealMemory=${MEM_MB}M gpu=$GPUS shard=$((GPUS * SHARDS))), partitions: $PARTITIONS (default $DEFAULT_PARTITION), features: ${FEATURES:-none}, accounts: $ACCOUNTS"
}

main "$@"
