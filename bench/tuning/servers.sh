# bench/tuning/servers.sh: what bench/tuning/run and bench/tuning/workloads share. Sourced, not run.
#
# It renders the postgresql.conf pgstack would give a 1-instance cluster sized like this host
# (cpu = nproc, memory = MemTotal), keeps what a standalone server here can use, and starts two
# throwaway servers from the same initdb (-k, data checksums) in a temp dir: "stock" (only
# listen/port/socket set) and "tuned" (the rendered file included). It also measures contention
# (CPU used by other processes) so that the callers can wait for a quiet machine and discard busy runs.
#
# The caller sets BENCH_NAME (for messages) and may set, before sourcing, any of (defaults in brackets):
#   PAUSE     seconds to wait after the CHECKPOINT that precedes each run [3]
#   MAX_OTHER_CPU  percent of all CPUs that processes other than the two servers, the clients and the
#             script may use during a run [10]: before a run prepare_run waits (up to QUIET_WAIT
#             seconds [180]) for the machine to be that quiet, and the caller discards a run during which
#             others used more and repeats it (up to RETRIES [3] more times, then keeps it flagged
#             "busy"). Waiting and repeats stop once they have cost QUIET_BUDGET seconds [1800] in all.
#   PGBIN     PostgreSQL binaries [/usr/lib/postgresql/15/bin]
#   TUNED_CONF  use this postgresql.conf instead of `pgstack render` (to try a hand-edited file)
#   RESULTS_DIR where the report goes [bench/results]
#   KEEP_TMP  1: leave the temp dir (data dirs, logs, outputs) in place for inspection
#   HUGE_PAGES  agent: as pgstack-agent does on a host (src/agent/huge_pages), size the kernel's 2MiB
#             page pool to what the servers map (postgres -C shared_memory_size_in_huge_pages; needs
#             root) and put it back at the end; host: leave the pool as the host has it [agent]
set -euo pipefail
export LC_ALL=C # numbers with a decimal point, byte-order sort for join
umask 022       # the postgres user reads the rendered file

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGSTACK=$ROOT/build/bin/pgstack
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PAUSE=${PAUSE:-3}
MAX_OTHER_CPU=${MAX_OTHER_CPU:-10}
QUIET_WAIT=${QUIET_WAIT:-180}
RETRIES=${RETRIES:-3}
QUIET_BUDGET=${QUIET_BUDGET:-1800}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
TUNED_CONF=${TUNED_CONF:-}
KEEP_TMP=${KEEP_TMP:-0}
HUGE_PAGES=${HUGE_PAGES:-agent}
HUGE_POOL=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HUGE_POOL_BEFORE="" # the pool found, when this script changed it

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die() {
  printf '%s: %s\n' "$BENCH_NAME" "$*" >&2
  exit 1
}

for n in PAUSE MAX_OTHER_CPU QUIET_WAIT RETRIES QUIET_BUDGET; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, got '${!n}'"
done
[[ $PAUSE -ge 1 ]] || die "PAUSE must be at least 1"
[[ $HUGE_PAGES == agent || $HUGE_PAGES == host ]] || die "HUGE_PAGES must be agent or host, got '$HUGE_PAGES'"
[[ $HUGE_PAGES == host || ($EUID -eq 0 && -w $HUGE_POOL) ]] \
  || die "HUGE_PAGES=agent sizes the huge page pool as pgstack-agent does and needs root: run as root, or set HUGE_PAGES=host"

if [[ -z $TUNED_CONF ]]; then
  [[ -x $PGSTACK ]] || die "$PGSTACK is missing: run 'make build' first"
  # `pgstack render --help` also succeeds (main help) on a pgstack without render: look for the subcommand.
  "$PGSTACK" --help 2>/dev/null | grep -qE '^[[:space:]]+render([[:space:]]|$)' \
    || die "$PGSTACK has no render command: rebuild it (make build), or set TUNED_CONF=postgresql.conf"
else
  [[ -r $TUNED_CONF ]] || die "TUNED_CONF=$TUNED_CONF is not a readable file"
fi
for b in initdb pg_ctl postgres pgbench psql; do
  [[ -x $PGBIN/$b ]] || die "$PGBIN/$b is missing (set PGBIN to PostgreSQL's bin directory)"
done

# Postgres refuses to run as root: as root, run the servers and pgbench as the postgres user.
if [[ $EUID -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' system user"
  as_pg() { runuser -u postgres -- "$@"; }
  PGUSER_NAME=postgres
else
  as_pg() { "$@"; }
  PGUSER_NAME=$(id -un)
fi

NPROC=$(nproc)
MEM_KB=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
MEM_MI=$((MEM_KB / 1024))
KERNEL=$(uname -sr)
CPU_MODEL=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
CPU_MODEL=${CPU_MODEL:-unknown}
PG_VERSION=$("$PGBIN/postgres" --version)
HUGEPAGES_TOTAL=$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)
HUGEPAGES_TOTAL=${HUGEPAGES_TOTAL:-0}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pgstack-bench.XXXXXX")
chmod 755 "$TMP"
SOCK=$TMP/sock
mkdir -p "$SOCK" "$TMP/runs"
[[ $EUID -eq 0 ]] && chown postgres: "$TMP" "$SOCK" "$TMP/runs"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for server in stock tuned; do
    if [[ -f $TMP/$server/postmaster.pid ]]; then
      as_pg "$PGBIN/pg_ctl" -D "$TMP/$server" -m fast -w -t 60 stop >/dev/null 2>&1 \
        || as_pg "$PGBIN/pg_ctl" -D "$TMP/$server" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  [[ -n $HUGE_POOL_BEFORE ]] && echo "$HUGE_POOL_BEFORE" >"$HUGE_POOL"
  if [[ $KEEP_TMP == 1 ]]; then
    say "Kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The value of a postgresql.conf line's right-hand side: quoted ('' is a quote) or a bare word.
conf_value() {
  local rest=$1 re_quoted="^'((''|[^'])*)'" re_bare='^([^[:space:]#]+)'
  if [[ $rest =~ $re_quoted ]]; then
    local v=${BASH_REMATCH[1]}
    printf '%s' "${v//\'\'/\'}"
  elif [[ $rest =~ $re_bare ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  fi
}

# Why a parameter is dropped from the tuned server ("" keeps it).
drop_reason() {
  local name=$1 value=$2
  case $name in
    archive_mode | archive_command | archive_library | archive_timeout | restore_command | archive_cleanup_command)
      echo "no WAL archive for a standalone benchmark server"
      ;;
    fsync | synchronous_commit | full_page_writes | wal_sync_method | commit_delay | commit_siblings | wal_writer_delay | wal_writer_flush_after)
      echo "durability is left at the defaults on both servers for a fair comparison"
      ;;
    listen_addresses | port | unix_socket_directories | unix_socket_group | unix_socket_permissions)
      echo "the benchmark sets where each server listens"
      ;;
    data_directory | config_file | hba_file | ident_file | external_pid_file | ssl | ssl_* | log_directory | logging_collector | log_destination | log_filename | dynamic_library_path)
      echo "pgstack's instance layout (paths, TLS, log files) does not exist here"
      ;;
    primary_conninfo | primary_slot_name | promote_trigger_file | hot_standby | synchronous_standby_names | recovery_*)
      echo "replication and recovery do not apply to a standalone server"
      ;;
    include | include_if_exists | include_dir)
      echo "the benchmark includes only the rendered file itself"
      ;;
    *)
      if [[ $name != *.* ]] && ! grep -qxF "$name" "$KNOWN"; then
        echo "not a parameter of $PG_VERSION"
      fi
      ;;
  esac
}

port_free() {
  local port=$1
  [[ -z $(ss -Htln "( sport = :$port )" 2>/dev/null) && ! -e $SOCK/.s.PGSQL.$port ]]
}

next_free_port() {
  local port=$1
  while ! port_free "$port"; do port=$((port + 1)); done
  echo "$port"
}

psql_at() { as_pg "$PGBIN/psql" -X -q -At -h "$SOCK" -p "${PORT[$1]}" -U "$PGUSER_NAME" -d postgres -v ON_ERROR_STOP=1 -c "$2"; }

# Renders the tuned file, starts both servers and records what differs; the caller has checked its own
# parameters first.
start_servers() {
  FS_TYPE=$(df -PT "$TMP" | awk 'NR == 2 {print $2}')
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  step "Machine: $NPROC CPUs ($CPU_MODEL), ${MEM_MI}Mi memory, $KERNEL; data in $TMP ($FS_TYPE); $PG_VERSION"

  # ---------------------------------------------------------------------------------------------
  step "Rendering pgstack's postgresql.conf for this machine"
  MANIFEST=$TMP/manifest.yaml
  cat >"$MANIFEST" <<EOF
apiVersion: stackgres.io/v1
kind: SGInstanceProfile
metadata: {name: host}
spec: {cpu: "$NPROC", memory: ${MEM_MI}Mi}
---
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: bench}
spec:
  instances: 1
  postgres: {version: '15'}
  sgInstanceProfile: host
  pods: {persistentVolume: {size: 50Gi}}
EOF
  RENDERED=$TMP/rendered.conf
  if [[ -n $TUNED_CONF ]]; then
    RENDER_COMMAND="(TUNED_CONF) cat $TUNED_CONF"
    cp "$TUNED_CONF" "$RENDERED"
    say "Using TUNED_CONF=$TUNED_CONF instead of pgstack render"
  else
    RENDER_COMMAND="build/bin/pgstack render -f MANIFEST --cluster bench --what postgresql"
    "$PGSTACK" render -f "$MANIFEST" --cluster bench --what postgresql >"$RENDERED" \
      || die "pgstack render failed (manifest: see above)"
  fi
  grep -qE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*=' "$RENDERED" || die "the rendered file sets no parameter"

  # Parameters this server knows (custom ones with a dot, like pg_stat_statements.*, are always accepted).
  KNOWN=$TMP/known-parameters
  as_pg "$PGBIN/postgres" --describe-config | cut -f1 | sort -u >"$KNOWN"
  PKGLIBDIR=$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || echo "$PGBIN/../lib")

  TUNED_INCLUDE=$TMP/tuned.conf
  DROPPED=$TMP/dropped.txt
  : >"$DROPPED"
  {
    say "# pgstack's rendered postgresql.conf, filtered by $BENCH_NAME for a standalone server."
    while IFS= read -r line || [[ -n $line ]]; do
      if [[ $line =~ ^[[:space:]]*(#|$) ]]; then continue; fi
      if ! [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_.]*)[[:space:]]*=?[[:space:]]*(.*)$ ]]; then
        printf -- "- \`%s\`: not a parameter line\n" "$line" >>"$DROPPED"
        continue
      fi
      name=${BASH_REMATCH[1],,}
      value=$(conf_value "${BASH_REMATCH[2]}")
      reason=$(drop_reason "$name" "$value")
      if [[ -n $reason ]]; then
        printf -- "- \`%s = '%s'\`: %s\n" "$name" "$value" "$reason" >>"$DROPPED"
        continue
      fi
      if [[ $name == huge_pages && ${value,,} == on && $HUGEPAGES_TOTAL -eq 0 ]]; then
        printf -- "- \`huge_pages = 'on'\` replaced by 'try': the kernel has no huge pages configured (HugePages_Total 0), 'on' would not start\n" >>"$DROPPED"
        say "huge_pages = 'try'"
        continue
      fi
      if [[ $name == shared_preload_libraries ]]; then
        kept=()
        IFS=',' read -ra libs <<<"$value"
        for lib in "${libs[@]}"; do
          lib=${lib//[[:space:]\"]/}
          [[ -z $lib ]] && continue
          if [[ -e $PKGLIBDIR/$lib.so || -e $PKGLIBDIR/$lib || -e $lib ]]; then
            kept+=("$lib")
          else
            printf -- "- \`%s\` from shared_preload_libraries: not installed in %s\n" "$lib" "$PKGLIBDIR" >>"$DROPPED"
          fi
        done
        joined=$(
          IFS=,
          printf '%s' "${kept[*]:-}"
        )
        say "shared_preload_libraries = '${joined//,/, }'"
        continue
      fi
      say "$line"
    done <"$RENDERED"
  } >"$TUNED_INCLUDE"

  say "Rendered: $(grep -cE '^[[:space:]]*[A-Za-z_]' "$RENDERED") parameters; kept $(($(grep -cE '^[[:space:]]*[A-Za-z_]' "$TUNED_INCLUDE"))) for the tuned server."
  if [[ -s $DROPPED ]]; then
    say "Dropped or changed for a standalone server here:"
    sed 's/^- /  /; s/`//g' "$DROPPED"
  else
    say "Nothing dropped."
  fi

  # ---------------------------------------------------------------------------------------------
  STOCK_PORT=$(next_free_port 55432)
  TUNED_PORT=$(next_free_port $((STOCK_PORT + 1)))
  declare -gA PORT=([stock]=$STOCK_PORT [tuned]=$TUNED_PORT)

  step "Creating the servers (initdb -k): stock on port $STOCK_PORT, tuned on port $TUNED_PORT, sockets in $SOCK"
  for server in stock tuned; do
    as_pg "$PGBIN/initdb" -k -A trust -U "$PGUSER_NAME" -E UTF8 --locale=C -D "$TMP/$server" >"$TMP/initdb-$server.log" 2>&1 \
      || {
        cat "$TMP/initdb-$server.log" >&2
        die "initdb of $server failed"
      }
    {
      say ""
      say "# $BENCH_NAME"
      [[ $server == tuned ]] && say "include '$TUNED_INCLUDE'"
      say "listen_addresses = 'localhost'"
      say "port = ${PORT[$server]}"
      say "unix_socket_directories = '$SOCK'"
    } >>"$TMP/$server/postgresql.conf"
  done
  if [[ $HUGE_PAGES == agent ]]; then
    HUGE_POOL_BEFORE=$(<"$HUGE_POOL")
    local pages=0 server_pages
    for server in stock tuned; do
      server_pages=$(as_pg "$PGBIN/postgres" -D "$TMP/$server" -C shared_memory_size_in_huge_pages) \
        || die "postgres -C shared_memory_size_in_huge_pages failed for $server"
      pages=$((pages + server_pages))
    done
    echo "$pages" >"$HUGE_POOL"
    HUGE_POOL_SET="$(<"$HUGE_POOL") 2MiB pages for the two servers ($pages asked for; $HUGE_POOL_BEFORE before)"
    say "Huge pages, as pgstack-agent reserves them: $HUGE_POOL_SET"
  else
    HUGE_POOL_SET="left as the host has it: $(<"$HUGE_POOL") 2MiB pages"
    say "Huge pages $HUGE_POOL_SET"
  fi
  for server in stock tuned; do
    if ! as_pg "$PGBIN/pg_ctl" -D "$TMP/$server" -l "$TMP/$server.log" -w -t 120 start >/dev/null; then
      tail -n 30 "$TMP/$server.log" >&2
      die "the $server server did not start (its log is above)"
    fi
  done
  errors=$(psql_at tuned "select name || ' = ' || coalesce(setting, '') || ': ' || error from pg_file_settings where error is not null")
  [[ -z $errors ]] || die "the tuned server rejected settings: $errors"

  # What actually differs between the two running servers (not only what the file says).
  SETTINGS_QUERY="select name, current_setting(name) from pg_settings where name not in ('port', 'data_directory', 'config_file', 'hba_file', 'ident_file') order by name"
  psql_at stock "$SETTINGS_QUERY" >"$TMP/settings-stock"
  psql_at tuned "$SETTINGS_QUERY" >"$TMP/settings-tuned"
  DIFF=$TMP/settings-diff
  join -t '|' -a1 -a2 -e '(unset)' -o 0,1.2,2.2 "$TMP/settings-stock" "$TMP/settings-tuned" | awk -F'|' '$2 != $3' >"$DIFF"
  say "$(wc -l <"$DIFF") settings differ between the running servers."
}

# ---------------------------------------------------------------------------------------------
# Contention: CPU time used by everything else on the machine (other users' builds, the hypervisor's
# steal) = all busy CPU time (/proc/stat) - the servers' (postmasters, with their reaped backends, and
# their live children) - this script's (with its reaped children: pgbench, psql).
CLK_TCK=$(getconf CLK_TCK)
our_ticks() {
  local server postmaster pids=("$$")
  for server in stock tuned; do
    postmaster=$(head -n 1 "$TMP/$server/postmaster.pid" 2>/dev/null) || continue
    pids+=("$postmaster")
    mapfile -t -O "${#pids[@]}" pids < <(pgrep -P "$postmaster" || true)
  done
  for p in "${pids[@]}"; do cat "/proc/$p/stat" 2>/dev/null || true; done \
    | awk '{sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15} END {print t + 0}'
}
# A backend's CPU time moves into its postmaster's when the postmaster reaps it: one that exits while
# our_ticks reads /proc would be counted in neither. So wait (up to 10s) until no client backend is
# alive or unreaped, as after pgbench or psql has just disconnected.
settle() {
  local i server postmaster pending
  for ((i = 0; i < 100; i++)); do
    pending=0
    for server in stock tuned; do
      postmaster=$(head -n 1 "$TMP/$server/postmaster.pid" 2>/dev/null) || continue
      if pgrep -P "$postmaster" -f '\[local\]' >/dev/null || pgrep -P "$postmaster" -r Z >/dev/null; then pending=1; fi
    done
    ((pending)) || return 0
    sleep 0.1
  done
}
cpu_snapshot() { # seconds, busy ticks, our ticks
  settle
  printf '%s %s %s\n' "$(date +%s.%N)" "$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat)" "$(our_ticks)"
}
other_cpu_percent() { # between two snapshots, as a share of all CPUs
  awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" -v n="$NPROC" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    other = (y[2] - x[2]) - (y[3] - x[3]); if (other < 0) other = 0;
    printf "%.1f", 100 * other / hz / n / (y[1] - x[1]) }'
}
over_limit() { awk -v p="$1" -v m="$MAX_OTHER_CPU" 'BEGIN {exit !(p > m)}'; }

# CHECKPOINT both servers, then wait PAUSE seconds, longer (up to QUIET_WAIT) while others are busy.
SPENT=0 # seconds spent waiting for quiet and on discarded runs, against QUIET_BUDGET
prepare_run() {
  local waited=0 before busy
  psql_at stock "checkpoint" >/dev/null
  psql_at tuned "checkpoint" >/dev/null
  while :; do
    before=$(cpu_snapshot)
    sleep "$PAUSE"
    busy=$(other_cpu_percent "$before" "$(cpu_snapshot)")
    over_limit "$busy" || return 0
    if ((waited >= QUIET_WAIT || SPENT >= QUIET_BUDGET)); then
      say "        other processes still use ${busy}% of the CPUs after ${waited}s: running anyway$( ((SPENT < QUIET_BUDGET)) || echo " (QUIET_BUDGET spent)")"
      return 0
    fi
    ((waited == 0)) && say "        other processes use ${busy}% of the CPUs: waiting up to ${QUIET_WAIT}s for them"
    waited=$((waited + PAUSE))
    SPENT=$((SPENT + PAUSE))
  done
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# The report's closing sections: what differed, what was dropped, the rendered file and the manifest.
report_setup_sections() {
  say "## Settings that differed between the running servers (pg_settings)"
  say ""
  say "| parameter | stock | tuned |"
  say "|---|---|---|"
  awk -F'|' '{printf "| %s | `%s` | `%s` |\n", $1, $2, $3}' "$DIFF"
  say ""
  say "## Dropped from the rendered file for a standalone server here"
  say ""
  if [[ -s $DROPPED ]]; then cat "$DROPPED"; else say "Nothing."; fi
  say ""
  say "## The rendered file"
  say ""
  say '```'
  cat "$RENDERED"
  say '```'
  say ""
  say "## The manifest"
  say ""
  say '```yaml'
  cat "$MANIFEST"
  say '```'
}
