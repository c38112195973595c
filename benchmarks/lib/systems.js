// Systems. kind: raw (fio on tmpfs), splicefs (node dist/cli.js, of this checkout or, with
// --baseline DIR, of another one), peer (a daemon in the foreground).
// splicefs's read modes run the reads only; its write modes (splicefs-write-copy,
// -splice) mount -o rw with --write-mode and run only the workloads that write (f, the seed
// matrix's writes, meta). Peers that can write are mounted read-write and run everything.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { HERE, ROOT, WORK, SRC, MNT } from './common.js'

const GOFUSE_BIN = path.join(WORK, 'gofuse-loopback')
const FUSE_NATIVE_DIR = path.join(WORK, 'fuse-native')
const FUSE_NATIVE_PEER = path.join(HERE, 'peers', 'fuse-native-passthrough.cjs')
const PTHP_BIN = path.join(WORK, 'passthrough_hp')
export const ENABLE_URING = '/sys/module/fuse/parameters/enable_uring'

/**
 * Peers whose medians count for "best peer": servers that see every READ. passthrough_hp's
 * kernel passthrough mode is left out (the server is out of the data path: raw speed).
 */
export const PEERS = ['bindfs', 'gofuse', 'fuse-native', 'passthrough_hp-splice', 'passthrough_hp-copy', 'passthrough_hp-uring']

/** splicefs's read modes, each a system: splicefs-MODE (and splicefs-baseline-MODE). */
const SPLICEFS_MODES = {
  copy: ['--read-mode', 'copy'],
  splice: ['--read-mode', 'splice'],
  splice16: ['--read-mode', 'splice', '--pipe-pages', '16']
}

/**
 * splicefs's kernel passthrough mode (--read-mode passthrough): reads and writes go to the
 * source inside the kernel, so it runs every workload, mounted -o rw, like
 * passthrough_hp-passthrough beside it.
 */
function splicefsPassthroughSystem (checkout, baseline) {
  const cli = path.join(checkout, 'dist', 'cli.js')
  return {
    kind: 'splicefs',
    mode: 'passthrough',
    cli,
    baseline,
    writable: true,
    desc: 'kernel passthrough (--read-mode passthrough -o rw): reads and writes bypass the server',
    command: () => [process.execPath, [cli, SRC, MNT, '--read-mode', 'passthrough', '-o', 'rw', ...splicefsExtra, '--stats']]
  }
}

/** splicefs's write modes, each a system: splicefs-write-MODE, mounted -o rw. */
const SPLICEFS_WRITE_MODES = {
  copy: ['-o', 'rw', '--write-mode', 'copy'],
  splice: ['-o', 'rw', '--write-mode', 'splice'],
  // the default: copy, and splice while a worker sees a stream of large WRITEs
  auto: ['-o', 'rw', '--write-mode', 'auto']
}

// Whether a splicefs CLI can mount read-write: its --help names --write-mode (read-write
// landed with that option). Asked once per CLI.
const rwSupport = new Map()
function supportsWrite (cli) {
  if (!rwSupport.has(cli)) {
    const r = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 15000 })
    rwSupport.set(cli, r.status === 0 && /--write-mode\b/.test(r.stdout + r.stderr))
  }
  return rwSupport.get(cli)
}

// --splicefs-args adds options to every splicefs mode, the baseline's too (tuning experiments:
// threads, readahead).
let splicefsExtra = []
export function setSplicefsExtra (args) {
  splicefsExtra = args
}

function splicefsSystem (checkout, mode, baseline) {
  const cli = path.join(checkout, 'dist', 'cli.js')
  return {
    kind: 'splicefs',
    mode,
    cli,
    baseline, // the --baseline directory, or undefined for this checkout
    readOnly: 'read modes run reads only; writes: splicefs-write-*',
    command: () => [process.execPath, [cli, SRC, MNT, ...SPLICEFS_MODES[mode], ...splicefsExtra, '--stats']]
  }
}

/** A write mode: reads by splice (the default's path), writes as `mode` says. */
function splicefsWriteSystem (checkout, mode, baseline) {
  const cli = path.join(checkout, 'dist', 'cli.js')
  return {
    kind: 'splicefs',
    mode: `write-${mode}`,
    cli,
    baseline,
    writable: true,
    writesOnly: true,
    command: () => [process.execPath, [cli, SRC, MNT, '--read-mode', 'splice', ...SPLICEFS_WRITE_MODES[mode], ...splicefsExtra, '--stats']]
  }
}

function peerSystems () {
  return {
    bindfs: { kind: 'peer', peer: 'bindfs', writable: true, command: () => ['bindfs', ['-f', SRC, MNT]] },
    gofuse: { kind: 'peer', peer: 'gofuse', writable: true, command: () => [GOFUSE_BIN, [SRC, MNT]] },
    'fuse-native': {
      kind: 'peer',
      peer: 'fuse-native',
      readOnly: 'the benchmark passthrough is read-only',
      command: () => [process.execPath, [FUSE_NATIVE_PEER, SRC, MNT], { FUSE_NATIVE_DIR }]
    },
    // libfuse's passthrough_hp (built by setup.sh). FUSE_INIT_STATUS=1 makes libfuse log what
    // INIT negotiated ("FUSE_INIT: FUSE_CAP_PASSTHROUGH", "FUSE_INIT: io_uring=on"), which the
    // run checks against the mode (servers.js).
    'passthrough_hp-splice': pthp('splice', ['--nopassthrough'], 'splice (default flags plus --nopassthrough: every READ reaches the server)'),
    'passthrough_hp-copy': pthp('copy', ['--nosplice', '--nopassthrough'], 'copy (--nosplice --nopassthrough)'),
    'passthrough_hp-passthrough': pthp('passthrough', [], 'kernel passthrough (its default; reads and writes bypass the server)'),
    'passthrough_hp-uring': {
      ...pthp('uring', ['--nopassthrough', '-o', 'io_uring'], 'FUSE over io_uring (-o io_uring --nopassthrough), enable_uring set to 1 for its run'),
      peer: 'passthrough_hp-uring',
      kernelParams: { [ENABLE_URING]: '1' }
    }
  }
}

// passthrough_hp keeps an O_PATH fd for every inode the kernel knows (until FORGET) and raises
// its soft fd limit to the hard one; at a hard limit of 20000 untarring 20,000 files fails with
// EMFILE. Where the bench may raise the hard limit (CAP_SYS_RESOURCE), passthrough_hp starts
// under prlimit with it at fs.nr_open; where it may not, with the inherited one, and the run
// says so (fdLimitNote).
function nrOpen () {
  try { return Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()) || 1048576 } catch { return 1048576 }
}
let canRaise = null
function raiseNofile () {
  if (canRaise === null) canRaise = spawnSync('prlimit', [`--nofile=${nrOpen()}:${nrOpen()}`, '--', 'true'], { stdio: 'ignore' }).status === 0
  return canRaise
}
function hardNofile () {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : '?'
}
export function fdLimitNote (sys) {
  if (sys.peer !== 'passthrough_hp' && sys.peer !== 'passthrough_hp-uring') return null
  return raiseNofile()
    ? `started with its fd limit at ${nrOpen()} (prlimit): it holds an fd per inode the kernel knows`
    : `fd limit ${hardNofile()} (the bench cannot raise the hard limit here: no CAP_SYS_RESOURCE); it holds an fd per inode the kernel knows, so a tree of more files than that fails with EMFILE`
}

function pthp (mode, flags, desc) {
  return {
    kind: 'peer',
    peer: 'passthrough_hp',
    pthpMode: mode,
    desc,
    writable: true,
    command: () => raiseNofile()
      ? ['prlimit', [`--nofile=${nrOpen()}:${nrOpen()}`, '--', PTHP_BIN, '--foreground', ...flags, SRC, MNT], { FUSE_INIT_STATUS: '1' }]
      : [PTHP_BIN, ['--foreground', ...flags, SRC, MNT], { FUSE_INIT_STATUS: '1' }]
  }
}

/** Name -> system, in the order they run. Refilled by defineSystems. */
export const SYSTEMS = {}

/** The system names in run order. */
export const systemOrder = () => Object.keys(SYSTEMS)

/** The baseline twin of a splicefs system of this checkout. */
export const baselineName = (mode) => `splicefs-baseline-${mode}`

/**
 * Fills SYSTEMS: raw, every splicefs mode (each followed by its baseline twin when there is a
 * baseline, so that the two run close in time), then the peers.
 */
export function defineSystems (baselineDir = null) {
  for (const k of Object.keys(SYSTEMS)) delete SYSTEMS[k]
  SYSTEMS.raw = { kind: 'raw', writable: true, desc: 'fio on the tmpfs directory itself' }
  for (const mode of Object.keys(SPLICEFS_MODES)) {
    SYSTEMS[`splicefs-${mode}`] = splicefsSystem(ROOT, mode)
    if (baselineDir) SYSTEMS[baselineName(mode)] = splicefsSystem(baselineDir, mode, baselineDir)
  }
  SYSTEMS['splicefs-passthrough'] = splicefsPassthroughSystem(ROOT)
  for (const mode of Object.keys(SPLICEFS_WRITE_MODES)) {
    SYSTEMS[`splicefs-write-${mode}`] = splicefsWriteSystem(ROOT, mode)
    if (baselineDir) SYSTEMS[baselineName(`write-${mode}`)] = splicefsWriteSystem(baselineDir, mode, baselineDir)
  }
  Object.assign(SYSTEMS, peerSystems())
}
defineSystems()

/** Why a system cannot run here (peer not installed, splicefs not built), or null. */
export function unavailableReason (sys, peerStatus) {
  if (sys.kind === 'peer' && peerStatus[sys.peer] && !peerStatus[sys.peer].ok) return `not installed: ${peerStatus[sys.peer].reason}`
  if (sys.kind === 'splicefs' && !fs.existsSync(sys.cli)) {
    return sys.baseline
      ? `${sys.cli} not found (run \`npm install --no-audit --no-fund\` in ${sys.baseline})`
      : 'dist/cli.js not found (build with `npm run build`)'
  }
  if (sys.kind === 'splicefs' && sys.writable && !supportsWrite(sys.cli)) {
    return `this splicefs has no read-write mounts (no --write-mode in \`${path.relative(ROOT, sys.cli) || sys.cli} --help\`)`
  }
  if (sys.kernelParams) {
    for (const file of Object.keys(sys.kernelParams)) {
      if (!fs.existsSync(file)) return `the kernel has no ${file}`
      try { fs.accessSync(file, fs.constants.W_OK) } catch { return `${file} is not writable here` }
    }
  }
  return null
}

/** What setup.sh found (.work/peers.status), checked against what is on disk. */
export function readPeerStatus () {
  const status = {}
  try {
    for (const line of fs.readFileSync(path.join(WORK, 'peers.status'), 'utf8').split('\n')) {
      const m = line.match(/^(\S+) (ok|fail)\s*(.*)$/)
      if (m) status[m[1]] = { ok: m[2] === 'ok', reason: m[3] || '' }
    }
  } catch {}
  // Trust what is on disk over a missing status file (e.g. --skip-setup on a fresh tree).
  const probe = {
    bindfs: () => spawnSync('bindfs', ['--version'], { stdio: 'ignore' }).status === 0,
    gofuse: () => fs.existsSync(GOFUSE_BIN),
    'fuse-native': () => fs.existsSync(path.join(FUSE_NATIVE_DIR, 'node_modules', 'fuse-native', 'package.json')),
    passthrough_hp: () => fs.existsSync(PTHP_BIN),
    'passthrough_hp-uring': () => fs.existsSync(PTHP_BIN)
  }
  for (const p of Object.keys(probe)) {
    if (!status[p]) status[p] = probe[p]() ? { ok: true, reason: '' } : { ok: false, reason: 'not set up (run benchmarks/setup.sh)' }
  }
  return status
}
