#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for CI and for trying the SLURM profile (Debian 12, root,
# no systemd needed). One partition "debug", this host's CPUs and ~85 % of its memory, two fake GPUs.
#
#   cluster/slurm_localhost.sh up      # installs the Debian packages if absent, writes /etc/slurm/{slurm,gres}.conf,
#                                      # starts munged, slurmctld, slurmd; waits until the node is idle
#   cluster/slurm_localhost.sh down    # stops those daemons by their PID files (never by name)
#   cluster/slurm_localhost.sh status  # sinfo + squeue
#
# Accounting (slurmdbd) is not configured: `sacct` does not work, so the Snakemake profile checks job
# status with squeue (profiles/slurm: slurm-status-command: squeue); MinJobAge keeps finished jobs
# visible to squeue. The fake GPUs are /dev/null and /dev/zero as GRES files (any distinct char devices work; a
# file-less GPU is dropped by slurmd). The config must be at /etc/slurm: the jobstep plugin strips SLURM_CONF from the
# environment of its inner srun. Verified with slurm 22.05.8 (bookworm) and munge 0.5.15.
set -euo pipefail

STATE=${SLURM_LOCALHOST_STATE:-/tmp/slurm-localhost}   # spool, logs, PID files
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.85)}' /proc/meminfo)
PACKAGES=(slurmctld slurmd slurm-client munge)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

write_config() {
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" "$STATE/log"
  cat > /etc/slurm/slurm.conf <<CONF
# written by cluster/slurm_localhost.sh
ClusterName=localhost
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=${STATE}/ctld
SlurmdSpoolDir=${STATE}/d
SlurmctldPidFile=${STATE}/slurmctld.pid
SlurmdPidFile=${STATE}/slurmd.pid
SlurmctldLogFile=${STATE}/log/slurmctld.log
SlurmdLogFile=${STATE}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# a job that asks for no memory must not get the whole node
DefMemPerCPU=1000
# finished jobs stay visible to 'squeue --states=all' (the plugin wants >= 3x its first status delay)
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
GresTypes=gpu
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  printf 'NodeName=%s Name=gpu File=/dev/null\nNodeName=%s Name=gpu File=/dev/zero\n' "$NODE" "$NODE" \
    > /etc/slurm/gres.conf
}

up() {
  install_packages
  down                                              # daemons an earlier run left (by their PID files)
  write_config
  [ -s /etc/munge/munge.key ] || { mungekey --create; chown munge:munge /etc/munge/munge.key; }
  install -d -o munge -g munge -m 755 /run/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged            # daemonizes; PID in /run/munge/munged.pid
  fi
  munge -n | unmunge >/dev/null
  /usr/sbin/slurmctld -i                            # daemonizes; -i: no state files yet is fine
  /usr/sbin/slurmd
  for _ in $(seq 1 240); do
    sinfo -h -o %T 2>/dev/null | grep -qx idle && { sinfo; return 0; }
    sleep 0.25
  done
  echo "the node did not become idle; logs in $STATE/log" >&2
  sinfo -R >&2 || true
  return 1
}

stop_pidfile() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

down() {
  # jobs first: slurmstepd and a job's processes outlive slurmd (every job of this cluster is ours)
  if [ -s "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
    scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 1 40); do [ -z "$(squeue -h -t R,CG,PD 2>/dev/null)" ] && break; sleep 0.25; done
  fi
  stop_pidfile "$STATE/slurmd.pid"
  stop_pidfile "$STATE/slurmctld.pid"
  stop_pidfile /run/munge/munged.pid
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) sinfo; squeue --states=all ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
