#!/usr/bin/env bash
# By hand, not in `npm test` (minutes; needs the npm registry): build splicefs on a read-write
# splicefs mount, as a developer would in a checkout there (issue 10's end-to-end workload):
# clone this checkout onto the mount, `npm ci` (downloads, unpacks thousands of files, runs
# node-gyp for the addon), `npm run build`, type-check the tests and run the unit tests from the
# mount; then check the clone's files against git (`git status` clean, `git fsck`) and that the
# built CLI runs. Any failing step fails the script (exit non-zero, with the server's log tail).
#
#   bash test/scripts/rw-build-on-mount.sh [SERVER OPTIONS...]   (root; run `npm run build` first)
#   e.g. bash test/scripts/rw-build-on-mount.sh --write-mode splice
#        bash test/scripts/rw-build-on-mount.sh -o writeback_cache
set -euo pipefail
HERE=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=$(mktemp -d /dev/shm/splicefs-build-XXXXXX)
S=$ROOT/src
M=$ROOT/mnt
mkdir "$S" "$M"
PID=

cleanup() {
  local rc=$?
  cd /
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  fi
  if mountpoint -q "$M"; then umount -l "$M" || true; fi
  if [ $rc -ne 0 ]; then echo "--- server log (tail)"; tail -n 30 "$ROOT/server.log" || true; fi
  mountpoint -q "$M" || rm -rf "$ROOT"
  exit $rc
}
trap cleanup EXIT

node "$HERE/dist/cli.js" "$S" "$M" --log-format json "$@" 2>"$ROOT/server.log" &
PID=$!
for _ in $(seq 200); do mountpoint -q "$M" && break; sleep 0.1; done
mountpoint -q "$M" || { echo "not mounted after 20 s"; exit 1; }
echo "mounted $M: $(grep " $M " /proc/self/mountinfo | cut -d' ' -f6)"

step() { echo "--- $*"; local t0=$SECONDS; "$@"; echo "    ($((SECONDS - t0)) s)"; }

step git clone -q "$HERE" "$M/splicefs"
cd "$M/splicefs"
step npm ci --no-audit --no-fund --loglevel=error
step npm run build --silent
step npx tsc -p test/tsconfig.json --noEmit
step npx tap test/unit/
step git fsck --full --no-dangling
test -z "$(git status --porcelain)" || { echo "git status is not clean on the mount:"; git status --porcelain | head; exit 1; }
step node dist/cli.js --version
cmp build/Release/*.node "$S/splicefs/build/Release/"*.node
echo "OK: splicefs built and its unit tests passed on the mount ($(du -sh "$S/splicefs" | cut -f1) in the source)"
