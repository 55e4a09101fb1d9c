#!/usr/bin/env bash
# The README's "Running on a cluster" steps, run for real on one machine: a head node and a worker node (two
# `ray start`), `ray job submit`, a job stopped mid-run and submitted again (it resumes). Everything runs in a
# private network namespace, where Ray keeps to loopback (ENVIRONMENT.md: several nodes on one machine).
# Needs root (ip netns). Stops only the processes it started, by PID.
#   bash scripts/cluster_walkthrough.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/ccp-cluster-out}
NS=ccp$$
WORK=$(mktemp -d /tmp/ccpXXXX)   # short: Ray's socket paths must fit in 107 bytes
export PATH="$PWD/.venv/bin:$PATH" RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled
unset RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER  # it would refuse a second node
in_ns() { ip netns exec "$NS" "$@"; }
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  sleep 3
  for pid in "${PIDS[@]}"; do pkill -KILL -P "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
in_ns ip link set lo up

echo "== 1. head node: ray start --head"
in_ns setsid ray start --head --block --port=6379 --node-ip-address=127.0.0.1 --dashboard-host=127.0.0.1 \
  --num-cpus=1 --temp-dir="$WORK" --disable-usage-stats >"$WORK/head.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 60); do in_ns ray status --address=127.0.0.1:6379 >/dev/null 2>&1 && break; sleep 1; done

echo "== 2. worker node: ray start --address HEAD:6379"
in_ns setsid ray start --block --address=127.0.0.1:6379 --node-ip-address=127.0.0.1 --num-cpus=1 \
  >"$WORK/worker.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 60); do
  [ "$(in_ns ray status --address=127.0.0.1:6379 2>/dev/null | grep -c '^ 1 node_')" = 2 ] && break; sleep 1
done
in_ns ray status --address=127.0.0.1:6379 | sed -n '/Node status/,/Pending/p'

echo "== 3. submit the job (48 input files); stop it once a few files are committed"
mkdir "$WORK/inputs"
for i in $(seq -w 1 48); do cp fixtures/warc/mixed.warc.gz "$WORK/inputs/crawl-$i.warc.gz"; done
rm -rf "$OUT"
JOB=(python -m pipeline run stages.yaml --input "$WORK/inputs" --output "$OUT")
in_ns ray job submit --address=http://127.0.0.1:8265 --working-dir=. --no-wait --submission-id=cc-run-1 -- \
  "${JOB[@]}" 2>&1 | grep -E "submitted successfully"
for _ in $(seq 600); do [ "$(ls "$OUT/stats" 2>/dev/null | wc -l)" -ge 3 ] && break; sleep 0.1; done
in_ns ray job stop --address=http://127.0.0.1:8265 cc-run-1 2>&1 | tail -1
echo "committed before the stop: $(ls "$OUT/stats" | wc -l) of 48 files"

echo "== 4. submit the same command again: it resumes"
in_ns ray job submit --address=http://127.0.0.1:8265 --working-dir=. --submission-id=cc-run-2 -- \
  "${JOB[@]}" 2>&1 | grep -E "input files:|^done:|succeeded|failed"
echo "report: $OUT/report.md"
