#!/usr/bin/env bash
# Types the README's "Running on a cluster" commands, as written, on three machines simulated on this one: a
# head node, a worker node and the machine jobs are submitted from. The commands are taken out of README.md
# (scripts/readme_cluster_steps.py: its marked bash blocks, in order, for one authentication mode), with only
# the placeholders replaced: HEAD_IP -> 127.0.0.1, the S3 input -> a folder of copies of
# fixtures/warc/mixed.warc.gz, the S3 output -> OUTPUT_DIR. The first job is stopped once a few files are
# committed (the failure of the README's step 6) and the README's second `ray job submit` resumes it.
#
#   bash scripts/cluster_walkthrough.sh [--auth token|disabled] [OUTPUT_DIR]    (default: token)
#
# What the single machine requires, and nothing else, is added around the README's commands:
# - one private network namespace for all three "machines": the fixed ports 6379 and 8265 cannot collide with
#   any other Ray on this machine, a second node is allowed (ENVIRONMENT.md "Several nodes on one machine")
#   and Ray keeps to loopback there, and no packet leaves the machine. Needs root (ip netns); exit 77 without.
# - one HOME per machine, fresh: the token really is copied from the head to the others, and the user's
#   ~/.ray/auth_token is neither read nor overwritten;
# - `scp` is a stand-in that copies from the head's HOME (there is no SSH server here);
# - RAY_TMPDIR: Ray's default temporary folder /tmp/ray is shared with every other Ray on this machine (its
#   session_latest link and ray_current_cluster file), so this cluster gets its own;
# - RAY_USAGE_STATS_ENABLED=0 (no usage report attempts), and an otherwise empty environment (env -i), so that
#   nothing of the caller's (RAY_AUTH_MODE, RAY_ADDRESS, ...) stands in for what the README says to export;
# - each block runs with bash -e, and what it exported is kept for the same machine's next block, as in one
#   terminal per machine.
# Stops only what it started: the processes of its own network namespace (ip netns pids), by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
AUTH=token
if [ "${1:-}" = --auth ]; then AUTH=${2:?--auth token|disabled}; shift 2; fi
OUT=$(realpath -m "${1:-/tmp/ccp-cluster-out}")   # absolute: the README's rule for --output
FILES=${CLUSTER_WALKTHROUGH_FILES:-48}
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "cluster_walkthrough.sh needs root and iproute2 (ip netns) for its private network namespace" >&2
  exit 77
fi
NS=ccp$$
WORK=$(mktemp -d /tmp/ccpXXXX)   # short: Ray's socket paths must fit in 107 bytes
PY=$PWD/.venv/bin/python

stop_namespace() {   # TERM, then KILL after about 30 s, every process in our namespace; then the namespace
  local pids
  for i in $(seq 40); do
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    if [ "$i" -le 30 ]; then kill $pids 2>/dev/null || true; else kill -KILL $pids 2>/dev/null || true; fi
    sleep 1
  done
  ip netns del "$NS" 2>/dev/null || true
}
cleanup() {
  stop_namespace
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # a stopped walkthrough still stops its namespace
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up

mkdir -p "$WORK/bin" "$WORK/head" "$WORK/worker" "$WORK/submit" "$WORK/inputs" "$WORK/logs"
touch "$WORK/head.env" "$WORK/worker.env" "$WORK/submit.env"
cat >"$WORK/bin/scp" <<EOF
#!/usr/bin/env bash
# stands in for "scp 127.0.0.1:PATH DEST": the head's home folder here is $WORK/head
set -eu
[ \$# = 2 ] && [ "\${1%%:*}" = 127.0.0.1 ] || { echo "scp stand-in: expected 127.0.0.1:PATH DEST, got: \$*" >&2; exit 2; }
src=\${1#*:}; case \$src in /*) ;; *) src=$WORK/head/\$src ;; esac
exec cp "\$src" "\$2"
EOF
chmod +x "$WORK/bin/scp"
for i in $(seq -w 1 "$FILES"); do cp fixtures/warc/mixed.warc.gz "$WORK/inputs/crawl-$i.warc.gz"; done
rm -rf "$OUT"

"$PY" scripts/readme_cluster_steps.py --auth "$AUTH" --out "$WORK/steps" --sub HEAD_IP=127.0.0.1 \
  --sub s3://bucket/crawl/warc.paths.gz="$WORK/inputs" --sub s3://bucket/run-1="$OUT"

# run MACHINE FILE LOG [keep]: type FILE's commands in MACHINE's terminal (its exports carry over unless "keep")
run() {
  local save='export -p >"$1"'
  [ "${4:-}" = keep ] && save=:
  ip netns exec "$NS" env -i HOME="$WORK/$1" USER=root LOGNAME=root LANG=C.UTF-8 \
    PATH="$WORK/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    RAY_TMPDIR="$WORK/tmp" RAY_USAGE_STATS_ENABLED=0 \
    bash -e -c "cd \"\$3\"; source \"\$1\"; source \"\$2\"; $save" _ "$WORK/$1.env" "$2" "$PWD" >"$3" 2>&1
}
# the lines of a log worth showing: Ray's log prefixes and colours cut
show() {
  sed -E 's/\x1b\[[0-9;]*m//g; s/^[0-9-]+ [0-9:,]+\s+[A-Z]+ [a-z_]+\.py:[0-9]+ -- //' "$1" |
    grep -E "Ray runtime started|^Active:|^ 1 node_|submitted successfully|input files:|^done:|succeeded|was stopped|Error|Traceback" |
    sed 's/^/    /' || true
}
fail() {
  echo "FAILED: $1" >&2
  tail -n 40 "$2" >&2
  exit 1
}

echo "== README 'Running on a cluster', auth=$AUTH: machines head, worker, submit in network namespace $NS"
submits=0
for step in "$WORK"/steps/*.sh; do
  name=$(basename "$step" .sh)
  machine=${name#*-}
  log=$WORK/logs/$name.log
  echo "-- on $machine:"
  grep -v '^\s*$' "$step" | sed "s/^/  $machine\$ /"
  if grep -q '^ray status' "$step"; then
    # A node that just joined is listed a few seconds later: type it again until both nodes are (hang guard)
    for _ in $(seq 120); do
      run "$machine" "$step" "$log" || fail "ray status" "$log"
      [ "$(grep -c '^ 1 node_' "$log")" = 2 ] && break
      sleep 1
    done
    [ "$(grep -c '^ 1 node_' "$log")" = 2 ] || fail "ray status does not list 2 nodes" "$log"
    show "$log"
    if [ "$AUTH" = token ]; then   # what the README says about leaving RAY_AUTH_MODE out, checked
      grep -v RAY_AUTH_MODE "$WORK/head.env" >"$WORK/nomode.env" || true
      if ip netns exec "$NS" env -i HOME="$WORK/head" PATH="$PWD/.venv/bin:/usr/bin:/bin" RAY_TMPDIR="$WORK/tmp" \
        bash -c "source '$WORK/nomode.env'; ray status --address=127.0.0.1:6379" >"$WORK/logs/nomode.log" 2>&1; then
        fail "ray status without RAY_AUTH_MODE=token worked" "$WORK/logs/nomode.log"
      fi
      grep -q "AuthenticationError.*RAY_AUTH_MODE is currently 'disabled'" "$WORK/logs/nomode.log" ||
        fail "ray status without RAY_AUTH_MODE=token: not the AuthenticationError the README quotes" "$WORK/logs/nomode.log"
      echo "  (checked: the same ray status without RAY_AUTH_MODE=token fails with AuthenticationError)"
    fi
  elif grep -q '^ray job submit' "$step" && [ $submits = 0 ]; then
    submits=1
    # The failure of step 6: the job is stopped once 3 files are committed (or it ended first, or failed)
    run "$machine" "$step" "$log" keep &
    job=$!
    while [ "$(ls "$OUT/stats" 2>/dev/null | wc -l)" -lt 3 ] && kill -0 $job 2>/dev/null; do sleep 0.2; done
    id=$(grep -o -- '--submission-id=[^ ]*' "$step" | cut -d= -f2)
    address=$(grep -o -- '--address=[^ ]*' "$step" | cut -d= -f2)
    echo "ray job stop --address=$address $id" >"$WORK/stop.sh"
    echo "  (the job is stopped: $machine\$ ray job stop --address=$address $id)"
    run "$machine" "$WORK/stop.sh" "$WORK/logs/stop.log" keep || true
    wait $job || true
    show "$log"
    [ -d "$OUT/stats" ] || fail "the first job committed no file" "$log"
    echo "  committed before the stop: $(ls "$OUT/stats" | wc -l) of $FILES files"
  else
    run "$machine" "$step" "$log" || fail "$name" "$log"
    show "$log"
  fi
done
echo "report: $OUT/report.md"
