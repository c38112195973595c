#!/usr/bin/env bash
# By hand, not in `npm test` (minutes, ~3 GiB of RAM): walk a tree of N files (default
# 1,000,000: 1000 directories of 1000 empty files on /dev/shm) through splicefs with the fd
# limit, soft and hard, at 1024, and report what issue 9 asks for: find, ls -lR and du all
# succeed and match the source; the server's fd count (largest sampled, and at the end) and its
# RSS at the end (ps -o rss), with RSS per node; the node fd counters (--stats at exit).
#
#   bash test/scripts/walk-1m.sh [N]        (root; run `npm run build` first)
set -euo pipefail
N=${1:-1000000}
PER_DIR=1000
HERE=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=$(mktemp -d /dev/shm/splicefs-walk-XXXXXX)
S=$ROOT/src
M=$ROOT/mnt
mkdir "$S" "$M"
PID=
SAMPLER=

cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  if mountpoint -q "$M"; then umount "$M" 2>/dev/null || umount -l "$M" || true; fi
  [ -n "$PID" ] && wait "$PID" 2>/dev/null || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

echo "making $N files under $S"
python3 - "$S" "$N" "$PER_DIR" <<'EOF'
import os, sys
src, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    if i % per == 0:
        d = os.path.join(src, f"d{i // per:05d}")
        os.mkdir(d)
    os.close(os.open(os.path.join(d, f"f{i % per:04d}"), os.O_CREAT | os.O_WRONLY, 0o644))
EOF
DIRS=$(( (N + PER_DIR - 1) / PER_DIR ))

bash -c 'ulimit -n 1024; exec env -u NODE_OPTIONS node "$0" "$1" "$2" --stats' \
  "$HERE/dist/cli.js" "$S" "$M" >"$ROOT/stats.json" 2>"$ROOT/log" &
PID=$!
for _ in $(seq 100); do mountpoint -q "$M" && break; sleep 0.1; done
mountpoint -q "$M" || { cat "$ROOT/log"; exit 1; }
echo "server $PID: hard limit $(awk '/Max open files/ {print $5}' /proc/$PID/limits)"
RSS0=$(ps -o rss= -p "$PID")
( while kill -0 "$PID" 2>/dev/null; do ls "/proc/$PID/fd" 2>/dev/null | wc -l; sleep 0.5; done ) >"$ROOT/fds" &
SAMPLER=$!

fail=0
check() { # what expected got
  if [ "$2" = "$3" ]; then echo "ok   $1: $3"; else echo "FAIL $1: expected $2, got $3"; fail=1; fi
}
t0=$SECONDS
got=$(find "$M" | wc -l)
check "find ($((SECONDS - t0))s)" $((N + DIRS + 1)) "$got"
t0=$SECONDS
got=$(cd "$M" && ls -lR . | md5sum)
want=$(cd "$S" && ls -lR . | md5sum)
check "ls -lR, md5 of the output against the source's ($((SECONDS - t0))s)" "$want" "$got"
t0=$SECONDS
got=$(cd "$M" && du -a --apparent-size . | md5sum)
want=$(cd "$S" && du -a --apparent-size . | md5sum)
check "du -a, md5 of the output against the source's ($((SECONDS - t0))s)" "$want" "$got"

FDS=$(ls "/proc/$PID/fd" | wc -l)
RSS=$(ps -o rss= -p "$PID")
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=
MAXFDS=$(sort -n "$ROOT/fds" | tail -1)
NODES=$((N + DIRS))
echo "server fds at the end: $FDS (largest sampled: $MAXFDS)"
echo "server RSS at the end: $RSS KiB (after mount: $RSS0 KiB; $(( (RSS - RSS0) * 1024 / NODES )) bytes per node for $NODES nodes)"
umount "$M"
wait "$PID" || true
PID=
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("counters:", json.dumps(d["fds"]))' "$ROOT/stats.json"
grep -E '"(fd limit|node fd budget reached)' "$ROOT/log" | cut -c1-220 || true
if [ "$MAXFDS" -ge 1024 ]; then echo "FAIL fd count reached the limit"; fail=1; fi
exit $fail
