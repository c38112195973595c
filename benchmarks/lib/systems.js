// Systems. kind: raw (fio on tmpfs), splicefs (node dist/cli.js, of this checkout or, with
// --baseline DIR, of another one), peer (a daemon in the foreground).

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { HERE, ROOT, WORK, SRC, MNT } from './common.js'

const GOFUSE_BIN = path.join(WORK, 'gofuse-loopback')
const FUSE_NATIVE_DIR = path.join(WORK, 'fuse-native')
const FUSE_NATIVE_PEER = path.join(HERE, 'peers', 'fuse-native-passthrough.cjs')

export const PEERS = ['bindfs', 'gofuse', 'fuse-native']

/** splicefs's read modes, each a system: splicefs-MODE (and splicefs-baseline-MODE). */
const SPLICEFS_MODES = {
  copy: ['--read-mode', 'copy'],
  splice: ['--read-mode', 'splice'],
  splice16: ['--read-mode', 'splice', '--pipe-pages', '16']
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
    readOnly: 'splicefs is read-only for now',
    command: () => [process.execPath, [cli, SRC, MNT, ...SPLICEFS_MODES[mode], ...splicefsExtra, '--stats']]
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
    }
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
    'fuse-native': () => fs.existsSync(path.join(FUSE_NATIVE_DIR, 'node_modules', 'fuse-native', 'package.json'))
  }
  for (const p of PEERS) {
    if (!status[p]) status[p] = probe[p]() ? { ok: true, reason: '' } : { ok: false, reason: 'not set up (run benchmarks/setup.sh)' }
  }
  return status
}
