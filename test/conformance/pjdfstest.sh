#!/usr/bin/env bash
# pjdfstest, the POSIX conformance suite filesystem people run, on a splicefs mount (or, for
# comparison, on a plain tmpfs or any directory). One command:
#
#   npm run conformance                          # splicefs, read-write, -o allow_other
#   npm run conformance -- --target tmpfs        # the same suite on a fresh plain tmpfs
#   npm run conformance -- --target /some/dir    # ... in a fresh directory inside /some/dir
#   npm run conformance -- --tests chmod,open    # only these directories of pjdfstest's tests/
#   npm run conformance -- --help
#
# What it does:
#  - installs with apt-get what is missing (autoconf, automake, gcc, make, perl's prove), only
#    when the binary is absent;
#  - builds pjdfstest offline from ../shared/peers/pjdfstest-*.tar.gz (autoreconf -ifs,
#    ./configure, make pjdfstest) once, cached in benchmarks/.work/pjdfstest-COMMIT/ (gitignored);
#  - splicefs target: mounts a fresh tmpfs as the source and splicefs on it with
#    `node dist/cli.js SRC MNT -o rw,allow_other` (falls back to -o ro, and says so, while the
#    CLI refuses -o rw), makes a fresh directory inside the mount and runs `prove -r -v` of
#    pjdfstest's tests from there, as root;
#  - always stops the server and unmounts everything it mounted (trap on exit, Ctrl-C, SIGTERM,
#    SIGHUP; a server that does not stop has its FUSE connection aborted);
#  - prints a summary (failed test files, failed tests out of the total) and writes the full
#    prove output to a log (default benchmarks/.work/conformance/pjdfstest-TARGET-DATE.log) with
#    the summary next to it (.summary).
#
# Exit status: 0 every test passed, 1 some failed, 2 usage error or could not run, 130 stopped
# by a signal.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$root/benchmarks/.work"
prog="conformance"

usage() {
  cat <<EOF
usage: npm run conformance -- [options]     (bash test/conformance/pjdfstest.sh [options])

Runs pjdfstest (prove -r -v of its tests/) as root from a fresh directory inside the target.

  --target T           splicefs (default): a splicefs mount of a fresh tmpfs, -o rw,allow_other
                       tmpfs: a fresh plain tmpfs (the reference: 0 failures expected)
                       DIR: a fresh directory inside the existing directory DIR
  --tests LIST         comma list of pjdfstest test directories (chmod,open,...; default: all)
  --jobs N             prove -j N (default 1; the tests of a file run in order either way)
  --splicefs-args=S    extra splicefs options, e.g. --splicefs-args="--write-mode splice"
  --log FILE           the full prove output (default: $work/conformance/pjdfstest-TARGET-DATE.log)
  --timeout S          stop prove after S seconds (default 5400), as for a hung mount
  --summary-of LOG     print the summary of an earlier run's log again; nothing is run
  -h, --help           this text

Needs root, /dev/fuse (splicefs target), a built splicefs (npm install) and the tarball
../shared/peers/pjdfstest-*.tar.gz (or PJDFSTEST_TARBALL=FILE).
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "$*"; exit 2; }

target=splicefs
tests=""
jobs=1
splicefs_args=""
logfile=""
timeout_s=5400
summary_of=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="${2:?--target needs a value}"; shift 2 ;;
    --target=*) target="${1#*=}"; shift ;;
    --tests) tests="${2:?--tests needs a value}"; shift 2 ;;
    --tests=*) tests="${1#*=}"; shift ;;
    --jobs) jobs="${2:?--jobs needs a value}"; shift 2 ;;
    --jobs=*) jobs="${1#*=}"; shift ;;
    --splicefs-args) splicefs_args="${2?--splicefs-args needs a value}"; shift 2 ;;
    --splicefs-args=*) splicefs_args="${1#*=}"; shift ;;
    --log) logfile="${2:?--log needs a value}"; shift 2 ;;
    --log=*) logfile="${1#*=}"; shift ;;
    --summary-of) summary_of="${2:?--summary-of needs a log file}"; shift 2 ;;
    --summary-of=*) summary_of="${1#*=}"; shift ;;
    --timeout) timeout_s="${2:?--timeout needs a value}"; shift 2 ;;
    --timeout=*) timeout_s="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
# ---- summary -----------------------------------------------------------------------------------
# summarize LOG TARGET ELAPSED NOTE: the summary of a prove -r -v log (its "Test Summary Report").
# Exit status 0 all passed, 1 some failed, 3 no result in the log.
summarize() {
  awk -v target="$2" -v elapsed="$3" -v note="$4" '
    /^Test Summary Report/ { insum = 1; next }
    # A file line of the report: "PATH   (Wstat: 0 Tests: 14 Failed: 6)". Files listed only for
    # "TODO passed" (a known-failing test that passed) are not failures; they are counted apart.
    insum && /^[^ ].*\.t +\(Wstat: / {
      f = $1; sub(/.*\/tests\//, "", f); order[++no] = f
      match($0, /Tests: [0-9]+/); t = substr($0, RSTART + 7, RLENGTH - 7)
      match($0, /Failed: [0-9]+/); n = substr($0, RSTART + 8, RLENGTH - 8) + 0
      w = $0; sub(/.*\(Wstat: /, "", w); sub(/ .*/, "", w)
      ran[f] = t; failed[f] = n; failsum += n; wstat[f] = w; cur = f; next
    }
    insum && cur != "" && /^  Failed tests?: / { l = $0; sub(/^  Failed tests?: +/, "", l); which[cur] = l; next }
    insum && cur != "" && /^  TODO passed: / { todo[cur] = 1; next }
    insum && cur != "" && /^  Parse errors: / { l = $0; sub(/^  Parse errors: /, "", l); perr[cur] = l; next }
    insum && cur != "" && /^  Non-zero exit status: / { l = $0; sub(/^  Non-zero exit status: /, "", l); nzexit[cur] = l; next }
    /^Files=[0-9]+, Tests=[0-9]+/ { split($0, a, /[=,]/); nfiles = a[2]; ntests = a[4] + 0 }
    /^Result: / { result = $2 }
    END {
      if (nfiles == "") { print "pjdfstest on " target ": no result (prove did not finish; see the log)"; exit 3 }
      for (i = 1; i <= no; i++) {
        f = order[i]
        if (failed[f] > 0 || perr[f] != "" || nzexit[f] != "" || wstat[f] != "0") files[++nf] = f
        else if (todo[f]) ntodo++
      }
      printf "pjdfstest on %s: %s%s%s\n", target, (nf ? "FAIL" : "PASS"), (elapsed != "" ? " in " elapsed " s" : ""), (note != "" ? " [" note "]" : "")
      printf "  failed test files: %d of %d\n", nf, nfiles
      printf "  failed tests: %d of %d run\n", failsum, ntests
      if (ntodo) printf "  (%d file%s with TODO tests that passed: known failures that did not fail here; not counted)\n", ntodo, (ntodo > 1 ? "s" : "")
      for (i = 1; i <= nf; i++) {
        f = files[i]
        line = sprintf("  %-22s %s of %s failed", f, failed[f], ran[f])
        if (which[f] != "") { w = which[f]; if (length(w) > 60) w = substr(w, 1, 57) "..."; line = line " (" w ")" }
        if (perr[f] != "") line = line "; " perr[f]
        else if (nzexit[f] != "") line = line "; exit " nzexit[f]
        print line
      }
      exit (nf > 0) ? 1 : 0
    }
  ' "$1"
}
if [ -n "$summary_of" ]; then
  [ -f "$summary_of" ] || die "--summary-of: no file $summary_of"
  summarize "$summary_of" "$(sed -n '1s/^# pjdfstest [^ ]* on \(.*\), [0-9-]*T.*/\1/p' "$summary_of")" "" ""
  exit $?
fi
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs: bad value \"$jobs\""
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die "--timeout: bad value \"$timeout_s\""
[ "$(id -u)" -eq 0 ] || die "needs root: pjdfstest changes owners, makes device nodes and switches users (run it as root)"

case "$target" in
  splicefs|tmpfs) kind="$target" ;;
  *)
    [ -d "$target" ] || die "--target: \"$target\" is neither splicefs, tmpfs nor a directory"
    kind=dir
    target="$(cd "$target" && pwd)"
    ;;
esac
if [ "$kind" = splicefs ]; then
  [ -c /dev/fuse ] || die "needs /dev/fuse (modprobe fuse)"
  [ -f "$root/dist/cli.js" ] || die "needs a built splicefs: dist/cli.js is missing; run npm install in $root"
fi

# ---- tools: apt-get install only what is absent ---------------------------------------------
need_pkgs=()
command -v autoreconf >/dev/null 2>&1 || need_pkgs+=(autoconf)
command -v aclocal >/dev/null 2>&1 || need_pkgs+=(automake)
command -v gcc >/dev/null 2>&1 || need_pkgs+=(gcc)
command -v make >/dev/null 2>&1 || need_pkgs+=(make)
command -v prove >/dev/null 2>&1 || need_pkgs+=(perl)
mkdir -p "$work/logs" "$work/conformance"
if [ ${#need_pkgs[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${need_pkgs[*]} and there is no apt-get to install them with"
  say "installing with apt-get: ${need_pkgs[*]}"
  apt_log="$work/logs/conformance-apt.log"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >"$apt_log" 2>&1; then
    # The package lists may be missing or stale on a fresh machine: update once, retry.
    apt-get update -q >>"$apt_log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >>"$apt_log" 2>&1 ||
      die "apt-get install ${need_pkgs[*]} failed (see $apt_log)"
  fi
fi

# ---- pjdfstest, built once offline from the tarball --------------------------------------------
tarball="${PJDFSTEST_TARBALL:-}"
if [ -z "$tarball" ]; then
  for t in "$root/../shared/peers"/pjdfstest-*.tar.gz /work/shared/peers/pjdfstest-*.tar.gz; do
    [ -f "$t" ] && { tarball="$t"; break; }
  done
fi
[ -n "$tarball" ] && [ -f "$tarball" ] || die "pjdfstest tarball not found (../shared/peers/pjdfstest-*.tar.gz; or set PJDFSTEST_TARBALL)"
tarball="$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")"
pjd_dir="$work/$(basename "$tarball" .tar.gz)"
pjd="$pjd_dir/pjdfstest"
if [ ! -x "$pjd/pjdfstest" ] || [ "$tarball" -nt "$pjd/pjdfstest" ]; then
  say "building pjdfstest from $(basename "$tarball") into ${pjd_dir#"$root"/}"
  build_log="$work/logs/pjdfstest-build.log"
  tmp_build="$pjd_dir.tmp.$$"
  rm -rf "$tmp_build" && mkdir -p "$tmp_build"
  if ! ( cd "$tmp_build" && tar xzf "$tarball" && cd pjdfstest && autoreconf -ifs && ./configure && make pjdfstest ) >"$build_log" 2>&1; then
    rm -rf "$tmp_build"
    tail -n 15 "$build_log" >&2
    die "pjdfstest build failed (see $build_log)"
  fi
  rm -rf "$pjd_dir" && mv "$tmp_build" "$pjd_dir"
fi

# The test directories to run.
prove_args=()
if [ -n "$tests" ]; then
  IFS=, read -r -a tlist <<<"$tests"
  for t in "${tlist[@]}"; do
    [ -d "$pjd/tests/$t" ] || die "--tests: no directory tests/$t in pjdfstest (have: $(cd "$pjd/tests" && ls -d */ | tr -d / | tr '\n' ' '))"
    prove_args+=("$pjd/tests/$t")
  done
else
  prove_args+=("$pjd/tests")
fi

# ---- mount, run, always clean up ---------------------------------------------------------------
label="$kind"
[ "$kind" = dir ] && label="dir-$(basename "$target")"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
[ -n "$logfile" ] || logfile="$work/conformance/pjdfstest-$label-$stamp.log"
mkdir -p "$(dirname "$logfile")"
logfile="$(cd "$(dirname "$logfile")" && pwd)/$(basename "$logfile")"
summary_file="${logfile%.log}.summary"
server_log="${logfile%.log}.server.log"

base=""          # our scratch directory (mountpoints live here)
mounts=()        # what we mounted, innermost last
srv_pid=""       # the splicefs server
prove_pid=""     # prove, leader of its own process group
run_dir=""       # the fresh directory the tests run in
ro_note=""

is_mounted() { awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo; }
fuse_conn() { awk -v m="$1" '$5 == m { split($3, d, ":"); c = d[2] } END { if (c != "") print c }' /proc/self/mountinfo; }

abort_conn() {
  local c
  c="$(fuse_conn "$1")"
  [ -n "$c" ] || return 0
  if [ ! -e "/sys/fs/fuse/connections/$c/abort" ]; then
    mount -t fusectl fusectl /sys/fs/fuse/connections >/dev/null 2>&1 || true
  fi
  [ -e "/sys/fs/fuse/connections/$c/abort" ] && echo 1 >"/sys/fs/fuse/connections/$c/abort" 2>/dev/null
  return 0
}

unmount_one() {
  local m="$1"
  is_mounted "$m" || return 0
  umount "$m" 2>/dev/null && return 0
  if [ "$kind" = splicefs ] && [ -f "$root/dist/cli.js" ]; then
    timeout 15 node "$root/dist/cli.js" umount "$m" >/dev/null 2>&1 && ! is_mounted "$m" && return 0
  fi
  abort_conn "$m"
  umount -l "$m" 2>/dev/null || true
  is_mounted "$m" && say "WARNING: could not unmount $m"
  return 0
}

cleaned=0
cleanup() {
  [ "$cleaned" = 1 ] && return
  cleaned=1
  cd /
  if [ -n "$prove_pid" ] && kill -0 "$prove_pid" 2>/dev/null; then
    kill -TERM -- "-$prove_pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$prove_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$prove_pid" 2>/dev/null
  fi
  # The fresh directory: on a plain directory target it must go by hand; on a tmpfs it goes
  # with the unmount, and on splicefs with the source tmpfs.
  if [ "$kind" = dir ] && [ -n "$run_dir" ] && [ -d "$run_dir" ]; then
    rm -rf --one-file-system "$run_dir"
  fi
  if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
    kill -TERM "$srv_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$srv_pid" 2>/dev/null; then
      say "splicefs did not exit within 10 s of SIGTERM: aborting its connection"
      abort_conn "$base/mnt"
      kill -KILL "$srv_pid" 2>/dev/null
    fi
    wait "$srv_pid" 2>/dev/null
  fi
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do unmount_one "${mounts[$i]}"; done
  if [ -n "$base" ]; then
    for d in "$base/mnt" "$base/src" "$base"; do
      [ -d "$d" ] && ! is_mounted "$d" && rmdir "$d" 2>/dev/null
    done
  fi
}
on_signal() {
  say "$1: stopping, unmounting"
  cleanup
  exit 130
}
trap cleanup EXIT
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP

base="$(mktemp -d /tmp/splicefs-conformance.XXXXXX)" || die "mktemp failed"
case "$kind" in
  tmpfs)
    mkdir "$base/mnt"
    mount -t tmpfs -o size=2g,mode=0755 "splicefs-conformance" "$base/mnt" || die "cannot mount a tmpfs on $base/mnt"
    mounts+=("$base/mnt")
    where="$base/mnt"
    ;;
  dir)
    where="$target"
    ;;
  splicefs)
    mkdir "$base/src" "$base/mnt"
    mount -t tmpfs -o size=2g,mode=0755 "splicefs-conformance-src" "$base/src" || die "cannot mount a tmpfs on $base/src"
    mounts+=("$base/src")
    start_server() { # $1: the -o options
      # Its own session: Ctrl-C reaches this script, which stops prove first, then the server.
      # The server still goes with this script (splicefs: parent-death signal).
      # shellcheck disable=SC2086
      setsid node "$root/dist/cli.js" "$base/src" "$base/mnt" -o "$1" --log-format json $splicefs_args \
        >>"$server_log" 2>&1 </dev/null &
      srv_pid=$!
      mounts+=("$base/mnt")
      for _ in $(seq 1 200); do
        is_mounted "$base/mnt" && return 0
        kill -0 "$srv_pid" 2>/dev/null || { wait "$srv_pid"; return $?; }
        sleep 0.1
      done
      return 124
    }
    : >"$server_log"
    echo "# node dist/cli.js $base/src $base/mnt -o rw,allow_other --log-format json $splicefs_args" >>"$server_log"
    start_server rw,allow_other
    st=$?
    if [ "$st" -ne 0 ] && grep -q -- '-o rw' "$server_log"; then
      ro_note="splicefs refused -o rw (read-write is not in this build): mounted -o ro instead, so every modifying test fails with EROFS"
      say "$ro_note"
      echo "# node dist/cli.js $base/src $base/mnt -o ro,allow_other --log-format json $splicefs_args" >>"$server_log"
      start_server ro,allow_other
      st=$?
    fi
    if [ "$st" -ne 0 ]; then
      tail -n 5 "$server_log" >&2
      die "splicefs did not mount (status $st; log $server_log)"
    fi
    where="$base/mnt"
    ;;
esac

# A fresh directory inside the target. On a read-only splicefs mount mkdir fails; the directory
# is then made in the source so that the suite still runs (and fails where it must).
run_dir="$where/pjdfstest.$stamp.$$"
if ! mkdir "$run_dir" 2>/dev/null; then
  if [ "$kind" = splicefs ]; then
    mkdir "$base/src/$(basename "$run_dir")" || die "cannot make the test directory"
    for _ in $(seq 1 30); do [ -d "$run_dir" ] && break; sleep 0.1; done
  else
    die "cannot make $run_dir"
  fi
fi

fstype="$(cd "$run_dir" && df -PT . | awk 'NR == 2 { print $2 }')"
say "running pjdfstest ($(basename "$pjd_dir")) on $kind: $run_dir ($fstype)${tests:+, tests $tests}; log ${logfile#"$root"/}"
{
  echo "# pjdfstest $(basename "$pjd_dir") on $kind ($fstype), $(date -u +%FT%TZ), $(uname -sr)"
  echo "# cwd $run_dir"
  [ -n "$ro_note" ] && echo "# $ro_note"
  echo "# prove -r -v -j $jobs ${prove_args[*]}"
} >"$logfile"

t0=$(date +%s)
# prove in its own process group (setsid), so that cleanup can stop it and every test script it
# runs at once; the console gets one line per test file, the log everything.
# prove is App::Prove, run here with STDOUT flushed per line ($| = 1), so the log and the console
# follow the tests as they finish instead of in 8 KiB blocks.
prove_pl='$| = 1; require App::Prove; my $app = App::Prove->new; $app->process_args(@ARGV); exit($app->run ? 0 : 1)'
( cd "$run_dir" && exec setsid timeout --kill-after=10 "$timeout_s" perl -e "$prove_pl" -- -r -v -j "$jobs" "${prove_args[@]}" ) >>"$logfile" 2>&1 &
prove_pid=$!
# One line per finished test file on the console (prove -v prints "FILE .. " before the file's
# TAP lines and "ok" / "Failed N/M subtests" / "Dubious..." after them).
# mawk (Debian's awk) reads a pipe in blocks unless -W interactive; gawk does not need it.
awk_i=(awk)
awk -W interactive 'BEGIN { }' </dev/null >/dev/null 2>&1 && awk_i=(awk -W interactive)
tail -n +1 -F --pid="$prove_pid" "$logfile" 2>/dev/null | "${awk_i[@]}" -v root="$pjd/tests/" '
  /\.t \.+ ?$/ { f = $1; sub(root, "", f); next }
  f != "" && /^(ok$|ok [0-9]+ ms|Failed [0-9]+\/[0-9]+ subtests|Dubious|No subtests run|skipped)/ { sub(/ +$/, ""); printf "  %-24s %s\n", f, $0; fflush(); f = "" }
' &
tail_pid=$!
wait "$prove_pid"
prove_status=$?
prove_pid=""
wait "$tail_pid" 2>/dev/null
elapsed=$(( $(date +%s) - t0 ))
[ "$prove_status" -eq 124 ] && say "prove stopped after --timeout $timeout_s s"

echo >&2
summarize "$logfile" "$kind ($fstype)" "$elapsed" "$ro_note" | tee "$summary_file" >&2
sum_status=${PIPESTATUS[0]}
echo "  log: ${logfile#"$root"/}${kind:+ (summary: ${summary_file#"$root"/})}" >&2
[ "$kind" = splicefs ] && echo "  server log: ${server_log#"$root"/}" >&2

cleanup
trap - EXIT
[ "$sum_status" -eq 0 ] && exit 0
[ "$sum_status" -eq 3 ] && exit 2
exit 1
