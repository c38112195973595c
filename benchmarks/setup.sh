#!/usr/bin/env bash
# Installs and builds what benchmarks/bench.js needs. Idempotent and quiet: it prints one
# line when it installs Debian packages (naming them), and one line for each thing that
# fails, saying why. A peer that cannot be had is reported in
# benchmarks/.work/peers.status ("NAME ok" or "NAME fail REASON"), which bench.js reads
# to skip that peer with a note. Exit status is non-zero only when fio itself is missing.
#
#   bash benchmarks/setup.sh
#
# Needs root (apt-get). Reaches only Debian's apt and the npm registry. Outside a checkout (an
# installed package) it also installs vega and vega-lite, which draw the chart, into .work/chart.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$here/.work"
mkdir -p "$work" "$work/logs"
status="$work/peers.status"
: >"$status.tmp"

say() { printf 'setup: %s\n' "$*" >&2; }
mark() { printf '%s\n' "$*" >>"$status.tmp"; }

# ---- vega and vega-lite, for the chart ------------------------------------------------------
# A checkout has them (devDependencies); an installed package does not, so they go into their
# own prefix, at the versions package.json names. Without them the report is written, no chart.
# `setup.sh chart` does this alone (bench.js --chart-only).
chart_dir="$work/chart"
chart_check() {
  (cd "$here/lib" && node --input-type=module -e "await import('vega'); await import('vega-lite')") >/dev/null 2>&1 ||
    { [ -f "$chart_dir/node_modules/vega/package.json" ] && [ -f "$chart_dir/node_modules/vega-lite/package.json" ]; }
}
install_chart() {
  chart_check && return 0
  vega_v="$(node -p "require('$here/../package.json').devDependencies?.vega || '6'" 2>/dev/null || echo 6)"
  vl_v="$(node -p "require('$here/../package.json').devDependencies?.['vega-lite'] || '6'" 2>/dev/null || echo 6)"
  mkdir -p "$chart_dir"
  cat >"$chart_dir/package.json" <<EOF
{
  "name": "splicefs-bench-chart",
  "version": "0.0.0",
  "private": true,
  "description": "vega and vega-lite for the benchmark's chart only",
  "dependencies": { "vega": "$vega_v", "vega-lite": "$vl_v" }
}
EOF
  (cd "$chart_dir" && npm install --no-audit --no-fund --loglevel=error) >"$work/logs/chart-install.log" 2>&1 ||
    say "npm install vega vega-lite failed: no chart (see $work/logs/chart-install.log)"
}
if [ "${1:-}" = chart ]; then
  rm -f "$status.tmp"
  install_chart
  exit 0
fi

# ---- Debian packages -------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# meson, ninja-build, pkg-config, liburing-dev: libfuse's passthrough_hp (built below; without
# liburing-dev it builds without its io_uring mode).
apt_pkgs=(fio bindfs golang-go golang-github-hanwen-go-fuse-dev meson ninja-build pkg-config liburing-dev)
missing=()
for p in "${apt_pkgs[@]}"; do have_pkg "$p" || missing+=("$p"); done

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
    >"$work/logs/apt-install.log" 2>&1
}

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    say "not root: cannot apt-get install ${missing[*]}"
  elif ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get: cannot install the Debian packages ${missing[*]}; install them by hand"
  else
    say "installing with apt-get: ${missing[*]}"
  fi
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && ! apt_install "${missing[@]}"; then
    # The package lists may be missing or stale on a fresh machine: update once, retry.
    apt-get update -q >"$work/logs/apt-update.log" 2>&1 || say "apt-get update failed (see $work/logs/apt-update.log)"
    if ! apt_install "${missing[@]}"; then
      # Try one by one so that one missing package does not take the others down.
      for p in "${missing[@]}"; do
        apt_install "$p" || say "apt-get install $p failed: $(tail -n 1 "$work/logs/apt-install.log")"
      done
    fi
  fi
fi

if ! command -v fio >/dev/null 2>&1; then
  say "fio is not installed: no benchmark can run"
  mark "fio fail fio is not installed"
  mv "$status.tmp" "$status"
  exit 1
fi
mark "fio ok"

# ---- bindfs --------------------------------------------------------------------------
if command -v bindfs >/dev/null 2>&1; then
  mark "bindfs ok"
else
  say "bindfs is not installed (apt-get install bindfs failed)"
  mark "bindfs fail apt package bindfs is not installed"
fi

# ---- go-fuse loopback, built offline from Debian's sources ------------------------------
gofuse_src="$here/peers/gofuse"
gofuse_bin="$work/gofuse-loopback"
gofuse_build="$work/gofuse-build"
gofuse_lib=/usr/share/gocode/src/github.com/hanwen/go-fuse
xsys_lib=/usr/share/gocode/src/golang.org/x/sys

build_gofuse() {
  # Build in a copy: module mode may rewrite go.mod, and the source tree stays clean.
  rm -rf "$gofuse_build" && mkdir -p "$gofuse_build" && cp -r "$gofuse_src/." "$gofuse_build/" || return 1
  (
    cd "$gofuse_build" &&
      env GOPATH="$work/gopath" GOCACHE="$work/gocache" GOFLAGS=-mod=mod GOPROXY=off \
        GOSUMDB=off GOTOOLCHAIN=local GO111MODULE=on CGO_ENABLED=0 \
        go build -o "$gofuse_bin.tmp" . && mv "$gofuse_bin.tmp" "$gofuse_bin"
  ) >"$work/logs/gofuse-build.log" 2>&1
}

if ! command -v go >/dev/null 2>&1; then
  say "go is not installed (apt package golang-go): no go-fuse peer"
  mark "gofuse fail apt package golang-go is not installed"
elif [ ! -d "$gofuse_lib/fs" ] || [ ! -d "$xsys_lib/unix" ]; then
  say "go-fuse sources are missing under /usr/share/gocode/src (apt package golang-github-hanwen-go-fuse-dev)"
  mark "gofuse fail go-fuse sources not installed"
else
  stale=0
  [ -x "$gofuse_bin" ] || stale=1
  if [ "$stale" = 0 ]; then
    for f in "$gofuse_src"/main.go "$gofuse_src"/go.mod; do
      [ "$f" -nt "$gofuse_bin" ] && stale=1
    done
  fi
  if [ "$stale" = 1 ] && ! build_gofuse; then
    say "go-fuse loopback build failed:"
    sed 's/^/  /' "$work/logs/gofuse-build.log" | tail -n 20 >&2
    mark "gofuse fail go build failed: $(grep -v '^#' "$work/logs/gofuse-build.log" | head -n 1)"
  elif [ -x "$gofuse_bin" ]; then
    mark "gofuse ok"
  fi
fi

# ---- fuse-native, in its own npm prefix ----------------------------------------------------
fn_dir="$work/fuse-native"
fn_version=2.2.6
fn_check() { (cd "$fn_dir" && node -e "require('fuse-native')") >/dev/null 2>&1; }
if ! fn_check; then
  mkdir -p "$fn_dir"
  cat >"$fn_dir/package.json" <<EOF
{
  "name": "splicefs-bench-fuse-native",
  "version": "0.0.0",
  "private": true,
  "description": "fuse-native for the benchmark peer only; not a splicefs dependency",
  "dependencies": { "fuse-native": "$fn_version" }
}
EOF
  (cd "$fn_dir" && npm install --no-audit --no-fund --loglevel=error) >"$work/logs/fuse-native-install.log" 2>&1 ||
    say "npm install fuse-native failed: $(grep -i 'err' "$work/logs/fuse-native-install.log" | head -n 3)"
fi
if fn_check; then
  if command -v fusermount >/dev/null 2>&1 || command -v fusermount3 >/dev/null 2>&1; then
    mark "fuse-native ok"
  else
    # fuse-native unmounts with `fusermount -uz`; bindfs's Debian package brings it.
    say "fusermount is missing: fuse-native cannot unmount cleanly"
    mark "fuse-native fail fusermount not installed"
  fi
else
  say "fuse-native cannot be loaded from $fn_dir (see $work/logs/fuse-native-install.log)"
  mark "fuse-native fail npm fuse-native not installed or its prebuilt binding does not load"
fi

# ---- libfuse's passthrough_hp, built offline from ../shared/peers -----------------------------
# The tarball is a `git archive` of libfuse (see ../shared/peers/README.md): meson + ninja, the
# example only, in .work/libfuse-COMMIT/build (the binary finds its libfuse3.so there by rpath);
# .work/passthrough_hp links to it. Built once; again only when the tarball is newer. Its io_uring
# mode needs liburing-dev at build time (meson says "io_uring support: true").
pthp_link="$work/passthrough_hp"
pthp_tarball="${LIBFUSE_TARBALL:-}"
if [ -z "$pthp_tarball" ]; then
  for t in "$here/../../shared/peers"/libfuse-*.tar.gz "$here/../shared/peers"/libfuse-*.tar.gz /work/shared/peers/libfuse-*.tar.gz; do
    [ -f "$t" ] && { pthp_tarball="$t"; break; }
  done
fi
build_pthp() {
  local dir="$1" tmp="$1.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp" || return 1
  (
    cd "$tmp" && tar xzf "$pthp_tarball" && cd libfuse &&
      meson setup build -Dexamples=true -Dtests=false -Dutils=false -Duseroot=false -Dinitscriptdir= &&
      ninja -C build example/passthrough_hp
  ) >"$work/logs/passthrough_hp-build.log" 2>&1 || { rm -rf "$tmp"; return 1; }
  rm -rf "$dir" && mv "$tmp/libfuse" "$dir" && rmdir "$tmp"
}
if [ -z "$pthp_tarball" ]; then
  say "libfuse tarball not found (../shared/peers/libfuse-*.tar.gz, or LIBFUSE_TARBALL): no passthrough_hp peer"
  mark "passthrough_hp fail libfuse tarball not found (../shared/peers/libfuse-*.tar.gz)"
  mark "passthrough_hp-uring fail libfuse tarball not found"
elif ! command -v meson >/dev/null 2>&1 || ! command -v ninja >/dev/null 2>&1; then
  say "meson or ninja is not installed (apt packages meson ninja-build): no passthrough_hp peer"
  mark "passthrough_hp fail apt packages meson/ninja-build not installed"
  mark "passthrough_hp-uring fail apt packages meson/ninja-build not installed"
else
  pthp_dir="$work/$(basename "$pthp_tarball" .tar.gz)"
  pthp_bin="$pthp_dir/build/example/passthrough_hp"
  if { [ ! -x "$pthp_bin" ] || [ "$pthp_tarball" -nt "$pthp_bin" ]; } && ! build_pthp "$pthp_dir"; then
    say "passthrough_hp build failed:"
    tail -n 20 "$work/logs/passthrough_hp-build.log" | sed 's/^/  /' >&2
    mark "passthrough_hp fail meson/ninja build failed: $(grep -m1 -iE 'error' "$work/logs/passthrough_hp-build.log")"
    mark "passthrough_hp-uring fail passthrough_hp did not build"
  fi
  if [ -x "$pthp_bin" ]; then
    ln -sfn "$pthp_bin" "$pthp_link"
    mark "passthrough_hp ok"
    if grep -q '^#define HAVE_URING' "$pthp_dir/build/libfuse_config.h" "$pthp_dir/build/fuse_config.h" 2>/dev/null; then
      if [ -e /sys/module/fuse/parameters/enable_uring ]; then
        mark "passthrough_hp-uring ok"
      else
        mark "passthrough_hp-uring fail the kernel has no /sys/module/fuse/parameters/enable_uring (FUSE over io_uring needs 6.14+)"
      fi
    else
      mark "passthrough_hp-uring fail libfuse was built without io_uring (liburing-dev missing or without SQE128)"
    fi
  fi
fi

# ---- vega and vega-lite, for the chart (see install_chart above) ----------------------------
install_chart

mv "$status.tmp" "$status"
exit 0
