#!/usr/bin/env node
// splicefs benchmark: the protocol of shared/BENCHMARKS.md as one command.
//
//   npm run bench                      full matrix (workloads a b1M b128k c d e f, all systems)
//   npm run bench -- --quick           a and b1M on a 1 GiB file, 3 runs (about 1-2 minutes)
//   npm run bench -- --help            every flag
//
// Runs benchmarks/setup.sh (peers), writes test files on tmpfs (/dev/shm/splicefs-bench),
// mounts each system in turn, runs fio, unmounts, and writes benchmarks/RESULTS.md and
// benchmarks/results.svg. Progress goes to stderr. Needs root (drop_caches, mounts).
// Exit status: 0 report written; 1 could not run; 3 report written but some system
// returned wrong bytes.

import { parseArgs } from 'node:util'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '..')
const WORK = path.join(HERE, '.work')
const LOGS = path.join(WORK, 'logs')
const BASE = '/dev/shm/splicefs-bench'
const SRC = path.join(BASE, 'src')
const MNT = path.join(BASE, 'mnt')
const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
const T0 = Date.now()

// ---------------------------------------------------------------------------------------
// Workloads (shared/BENCHMARKS.md). `file`: big = the one large file, c = c.0..c.3, f = written.

const WORKLOADS = {
  a: {
    desc: 'sequential read, buffered, bs=1M, psync, 1 job (headline)',
    buffered: true,
    file: 'big',
    fio: (c) => ['--rw=read', '--bs=1M', '--ioengine=psync', '--direct=0', `--size=${c.bigSize}`]
  },
  b1M: {
    desc: 'sequential read, O_DIRECT, bs=1M, psync',
    file: 'big',
    fio: (c) => ['--rw=read', '--bs=1M', '--ioengine=psync', '--direct=1', `--size=${c.bigSize}`]
  },
  b128k: {
    desc: 'sequential read, O_DIRECT, bs=128k, psync',
    file: 'big',
    fio: (c) => ['--rw=read', '--bs=128k', '--ioengine=psync', '--direct=1', `--size=${c.bigSize}`]
  },
  c: {
    desc: 'sequential read, buffered, bs=1M, 4 jobs on 4 files',
    buffered: true,
    file: 'c',
    fio: (c) => ['--rw=read', '--bs=1M', '--ioengine=psync', '--direct=0', '--numjobs=4', `--size=${c.cSize}`]
  },
  d: {
    desc: 'random read, O_DIRECT, bs=4k, psync, time based',
    timeBased: true,
    file: 'big',
    fio: (c) => ['--rw=randread', '--bs=4k', '--ioengine=psync', '--direct=1', `--size=${c.bigSize}`]
  },
  e: {
    desc: 'random read, O_DIRECT, bs=4k, libaio iodepth=16, time based',
    timeBased: true,
    file: 'big',
    fio: (c) => ['--rw=randread', '--bs=4k', '--ioengine=libaio', '--iodepth=16', '--direct=1', `--size=${c.bigSize}`]
  },
  f: {
    desc: 'sequential write, buffered, bs=1M, end_fsync=1',
    buffered: true,
    write: true,
    file: 'f',
    fio: (c) => ['--rw=write', '--bs=1M', '--ioengine=psync', '--direct=0', '--end_fsync=1', `--size=${c.cSize}`]
  }
}
const MAIN_WORKLOADS = Object.keys(WORKLOADS)

// The seed matrix (shared/seeds/003, the virtio-fs DAX table): {seqread, randread, seqwrite,
// randwrite} x {psync, libaio, mmap} x {1 job, 4 jobs on 4 files}, bs=4k, iodepth=16 for
// libaio, buffered as in the seed's fio jobs, time based. Ids follow the seed's names:
// seed-seqread-psync, seed-seqread-psync-multi, ... `--workloads seed` selects all 24.
// Reads use the files of a (1 job) and c (4 jobs); writes go to their own sparse files (sw.N),
// made before each run and removed after the cell, so the read files stay intact.
const SEED_OPS = ['seqread', 'randread', 'seqwrite', 'randwrite']
const SEED_ENGINES = ['psync', 'libaio', 'mmap']
const SEED_WORKLOADS = []
for (const op of SEED_OPS) {
  for (const engine of SEED_ENGINES) {
    for (const multi of [false, true]) {
      const id = `seed-${op}-${engine}${multi ? '-multi' : ''}`
      const write = op.endsWith('write')
      const rw = { seqread: 'read', randread: 'randread', seqwrite: 'write', randwrite: 'randwrite' }[op]
      WORKLOADS[id] = {
        desc: `seed matrix: ${op}, ${engine}, ${multi ? '4 jobs on 4 files' : '1 job'}, bs=4k${engine === 'libaio' ? ', iodepth=16' : ''}, buffered, time based`,
        seed: true,
        buffered: true,
        timeBased: true,
        write,
        file: write ? 'sw' : multi ? 'c' : 'big',
        jobs: multi ? 4 : 1,
        fio: (c) => [`--rw=${rw}`, '--bs=4k', `--ioengine=${engine}`, ...(engine === 'libaio' ? ['--iodepth=16'] : []), '--direct=0',
          ...(multi ? ['--numjobs=4'] : []), `--size=${write ? c.seedWriteSize : multi ? c.cSize : c.bigSize}`]
      }
      SEED_WORKLOADS.push(id)
    }
  }
}
const WORKLOAD_ORDER = [...MAIN_WORKLOADS, ...SEED_WORKLOADS]

// ---------------------------------------------------------------------------------------
// Systems. kind: raw (fio on tmpfs), splicefs (node dist/cli.js), peer (a daemon in foreground).

const SPLICEFS_CLI = path.join(ROOT, 'dist', 'cli.js')
const GOFUSE_BIN = path.join(WORK, 'gofuse-loopback')
const FUSE_NATIVE_PEER = path.join(HERE, 'peers', 'fuse-native-passthrough.cjs')

const SYSTEMS = {
  raw: { kind: 'raw', writable: true, desc: 'fio on the tmpfs directory itself' },
  'splicefs-copy': {
    kind: 'splicefs',
    readOnly: 'splicefs is read-only for now',
    modeArgs: ['--read-mode', 'copy']
  },
  'splicefs-splice': {
    kind: 'splicefs',
    readOnly: 'splicefs is read-only for now',
    modeArgs: ['--read-mode', 'splice']
  },
  'splicefs-splice16': {
    kind: 'splicefs',
    readOnly: 'splicefs is read-only for now',
    modeArgs: ['--read-mode', 'splice', '--pipe-pages', '16']
  },
  bindfs: {
    kind: 'peer',
    peer: 'bindfs',
    writable: true,
    command: () => ['bindfs', ['-f', SRC, MNT]]
  },
  gofuse: {
    kind: 'peer',
    peer: 'gofuse',
    writable: true,
    command: () => [GOFUSE_BIN, [SRC, MNT]]
  },
  'fuse-native': {
    kind: 'peer',
    peer: 'fuse-native',
    readOnly: 'the benchmark passthrough is read-only',
    command: () => [process.execPath, [FUSE_NATIVE_PEER, SRC, MNT], { FUSE_NATIVE_DIR: path.join(WORK, 'fuse-native') }]
  }
}
// --splicefs-args adds options to every splicefs mode (tuning experiments: threads, readahead).
let SPLICEFS_EXTRA = []
for (const s of Object.values(SYSTEMS)) {
  if (s.kind === 'splicefs') s.command = () => [process.execPath, [SPLICEFS_CLI, SRC, MNT, ...s.modeArgs, ...SPLICEFS_EXTRA, '--stats']]
}
const SYSTEM_ORDER = Object.keys(SYSTEMS)
const PEERS = ['bindfs', 'gofuse', 'fuse-native']

// ---------------------------------------------------------------------------------------
// Command line.

const USAGE = `usage: node benchmarks/bench.js [options]      (npm run bench -- [options])

  --workloads LIST   comma list of ${MAIN_WORKLOADS.join(',')}, seed (the 24 cells of the
                     seed matrix) or single seed cells (seed-seqread-psync, ...-multi, ...)
                     (default: ${MAIN_WORKLOADS.join(',')}; the seed matrix only when asked)
  --systems LIST     comma list of ${SYSTEM_ORDER.join(',')} (default: all)
  --runs N           measured runs per cell, after one warm-up run (default 3)
  --quick            workloads a,b1M on a 1 GiB file, 3 runs (explicit flags still win)
  --runtime S        seconds for the time-based workloads d and e (default 10)
  --warmup-runtime S seconds of the warm-up run of d, e and seed cells (default 3)
  --seed-runtime S   seconds of each seed-matrix run (default 5)
  --file-gib N       size of the large file of a, b, d, e (default 2; c uses min(N,1) GiB per file)
  --out FILE         report (default benchmarks/RESULTS.md); the chart goes next to it
                     as results.svg unless --chart FILE says otherwise
  --chart FILE       chart SVG path
  --skip-setup       do not run benchmarks/setup.sh
  --splicefs-args=S extra options for every splicefs mode, e.g. --splicefs-args="--threads 2"
                     (recorded in the report's command line)
  --profile SYSTEM   perf profile of that server (e.g. splicefs-splice) during an extra run of a
  --keep-files       keep the test files in ${BASE} for the next run
  -h, --help         this text
`

function parseCli () {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        workloads: { type: 'string' },
        systems: { type: 'string' },
        runs: { type: 'string' },
        quick: { type: 'boolean', default: false },
        runtime: { type: 'string' },
        'warmup-runtime': { type: 'string' },
        'seed-runtime': { type: 'string' },
        'file-gib': { type: 'string' },
        out: { type: 'string' },
        chart: { type: 'string' },
        'skip-setup': { type: 'boolean', default: false },
        'splicefs-args': { type: 'string' },
        profile: { type: 'string' },
        'keep-files': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      },
      allowPositionals: false
    }).values
  } catch (err) {
    die(`${err.message}\n\n${USAGE}`)
  }
  if (parsed.help) {
    process.stdout.write(USAGE)
    process.exit(0)
  }
  const list = (s, known, what) => {
    const items = s.split(',').map((x) => x.trim()).filter(Boolean)
    for (const x of items) if (!known.includes(x)) die(`unknown ${what} "${x}"; known: ${known.join(', ')}`)
    return known.filter((k) => items.includes(k)) // canonical order
  }
  const num = (s, name, { min = 0, int = false } = {}) => {
    const v = Number(s)
    if (!Number.isFinite(v) || v < min || (int && !Number.isInteger(v))) die(`--${name}: bad value "${s}"`)
    return v
  }
  const wl = parsed.workloads && parsed.workloads.split(',').flatMap((x) => (x.trim() === 'seed' ? SEED_WORKLOADS : [x])).join(',')
  const workloads = wl ? list(wl, WORKLOAD_ORDER, 'workload') : parsed.quick ? ['a', 'b1M'] : MAIN_WORKLOADS
  const systems = parsed.systems ? list(parsed.systems, SYSTEM_ORDER, 'system') : SYSTEM_ORDER
  const runs = parsed.runs ? num(parsed.runs, 'runs', { min: 1, int: true }) : 3
  const runtime = parsed.runtime ? num(parsed.runtime, 'runtime', { min: 1, int: true }) : 10
  const warmupRuntime = parsed['warmup-runtime'] ? num(parsed['warmup-runtime'], 'warmup-runtime', { min: 1, int: true }) : Math.min(3, runtime)
  const seedRuntime = parsed['seed-runtime'] ? num(parsed['seed-runtime'], 'seed-runtime', { min: 1, int: true }) : 5
  const fileGiB = parsed['file-gib'] ? num(parsed['file-gib'], 'file-gib', { min: 0.125 }) : parsed.quick ? 1 : 2
  const bigSize = Math.round((fileGiB * GiB) / MiB) * MiB
  const cSize = Math.min(bigSize, GiB)
  const out = path.resolve(parsed.out || path.join(HERE, 'RESULTS.md'))
  const chart = path.resolve(parsed.chart || path.join(path.dirname(out), path.basename(out, path.extname(out)).toLowerCase() + '.svg'))
  if (!workloads.length) die('no workload selected')
  if (!systems.length) die('no system selected')
  if (parsed['splicefs-args']) SPLICEFS_EXTRA = parsed['splicefs-args'].split(/\s+/).filter(Boolean)
  const mainWorkloads = workloads.filter((w) => !WORKLOADS[w].seed)
  const seedWorkloads = workloads.filter((w) => WORKLOADS[w].seed)
  // Seed writes: files small enough that a slow server's run stays a few seconds past its time.
  const seedWriteSize = 256 * MiB
  return { ...parsed, workloads, mainWorkloads, seedWorkloads, systems, runs, runtime, warmupRuntime, seedRuntime, seedWriteSize, bigSize, cSize, out, chart }
}

// ---------------------------------------------------------------------------------------
// Small helpers.

function die (msg) {
  process.stderr.write(`bench: ${msg}\n`)
  process.exit(1)
}
function log (msg) {
  const t = ((Date.now() - T0) / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[bench ${t}s] ${msg}\n`)
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const fmtSize = (n) => (n % GiB === 0 ? `${n / GiB} GiB` : n % MiB === 0 ? `${n / MiB} MiB` : `${n} B`)
const tail = (s, n = 8) => s.trim().split('\n').slice(-n).join('\n')

function median (xs) {
  const v = [...xs].sort((x, y) => x - y)
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

/** Children we started and must kill if the bench itself is stopped. */
const liveChildren = new Set()

/** Runs a command, collects its output, kills it (SIGKILL) after timeoutMs. */
function runChild (cmd, args, { timeoutMs = 0, cwd = ROOT, env, onStuck } = {}) {
  return new Promise((resolve) => {
    let stdout = ''
    let stderr = ''
    let timedOut = false
    let settled = false
    let spawnError = null
    const child = spawn(cmd, args, { cwd, env: env ? { ...process.env, ...env } : process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    liveChildren.add(child)
    child.stdout.on('data', (d) => { if (stdout.length < 64 * MiB) stdout += d })
    child.stderr.on('data', (d) => { if (stderr.length < 4 * MiB) stderr += d })
    const finish = (code, signal) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(hardTimer)
      liveChildren.delete(child)
      resolve({ code, signal, stdout, stderr, timedOut, error: spawnError })
    }
    let hardTimer = null
    const timer = timeoutMs
      ? setTimeout(() => {
        timedOut = true
        child.kill('SIGKILL')
        // Still there 3 s after SIGKILL: stuck in an unkillable wait (a page lock on a hung
        // FUSE mount); onStuck may abort the connection. Never let it hang the bench too.
        hardTimer = setTimeout(() => {
          if (onStuck) onStuck()
          hardTimer = setTimeout(() => finish(null, 'SIGKILL'), 12000)
        }, 3000)
      }, timeoutMs)
      : null
    child.on('error', (err) => { spawnError = err; finish(null, null) })
    child.on('close', finish)
  })
}

function unescapeMount (s) {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
}

/** The (last, i.e. topmost) mount at `mnt` from /proc/self/mountinfo, or null. */
function findMount (mnt) {
  let found = null
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue
    const f = line.split(' ')
    if (unescapeMount(f[4]) !== mnt) continue
    const dash = f.indexOf('-', 6)
    found = { majmin: f[2], fstype: f[dash + 1], source: unescapeMount(f[dash + 2] || ''), options: f[5] }
  }
  return found
}

/** Same check against /proc/mounts, as the protocol asks. */
function inProcMounts (mnt) {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l && unescapeMount(l.split(' ')[1]) === mnt)
}

let fusectlMounted = false // the control filesystem, mounted by us only to abort a hung connection
function unmountFusectl () {
  if (fusectlMounted) spawnSync('umount', ['/sys/fs/fuse/connections'], { stdio: 'ignore', timeout: 10000 })
  fusectlMounted = false
}

/** Aborts a FUSE connection so that every waiter on it fails at once (a hung server). */
function abortFuseConnection (majmin) {
  const minor = majmin && majmin.split(':')[1]
  if (!minor) return false
  const dir = '/sys/fs/fuse/connections'
  try {
    if (!fs.existsSync(path.join(dir, minor)) && !fs.readFileSync('/proc/mounts', 'utf8').includes(' fusectl ')) {
      if (spawnSync('mount', ['-t', 'fusectl', 'fusectl', dir], { stdio: 'ignore' }).status === 0) fusectlMounted = true
    }
    fs.writeFileSync(path.join(dir, minor, 'abort'), '1')
    return true
  } catch {
    return false
  }
}

/** Aborts the FUSE connection mounted at MNT, if any (a reader stuck on a hung server). */
function abortMntConnection () {
  const m = findMount(MNT)
  if (m && m.fstype.startsWith('fuse')) abortFuseConnection(m.majmin)
}

/** Unmounts whatever is at MNT, forcefully if needed. Returns notes on what it took. */
async function forceUnmount (mnt, why) {
  const notes = []
  for (let i = 0; i < 4 && findMount(mnt); i++) {
    const m = findMount(mnt)
    if (i === 0) {
      const r = await runChild('umount', [mnt], { timeoutMs: 10000 })
      if (r.code === 0) { notes.push(`${why}: umount`); continue }
    }
    abortFuseConnection(m.majmin)
    const r = await runChild('umount', ['-l', mnt], { timeoutMs: 10000 })
    notes.push(`${why}: connection aborted, umount -l ${r.code === 0 ? 'ok' : 'failed: ' + tail(r.stderr, 1)}`)
  }
  return notes
}

function readCpuTicks (pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return Number(rest[11]) + Number(rest[12]) // utime + stime (fields 14, 15)
  } catch {
    return null
  }
}

function readStatusKiB (pid, key) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

// No sync first: the pages that matter (a FUSE file's, read back clean) drop without one,
// tmpfs pages never drop, and a sync can block on anybody's hung filesystem.
function dropCaches () {
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3')
}

function flatten (obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out)
    else out[key] = v
  }
  return out
}

function parseJsonObject (text) {
  const t = text.trim()
  if (!t) return null
  try { return JSON.parse(t) } catch {}
  for (const line of t.split('\n').reverse()) {
    try {
      const v = JSON.parse(line)
      if (v && typeof v === 'object') return v
    } catch {}
  }
  const i = t.indexOf('{')
  const j = t.lastIndexOf('}')
  if (i >= 0 && j > i) try { return JSON.parse(t.slice(i, j + 1)) } catch {}
  return null
}

// ---------------------------------------------------------------------------------------
// Test files. Content: word i of a file is (i * 2654435761 + seed) mod 2^32, so a read at a
// wrong offset, a short read or a stale page shows up in the checksum. Reused between runs
// when size and pattern version match (a marker file written last says so).

const PATTERN_VERSION = 1
const ODD_SIZE = 3 * MiB + 4097 // not a multiple of a page: exercises the short READ at EOF

function fileSpecs (cfg) {
  const specs = [{ name: 'odd.bin', size: ODD_SIZE, seed: 7 }]
  const need = new Set(cfg.workloads.map((w) => WORKLOADS[w].file))
  specs.push({ name: 'big.bin', size: cfg.bigSize, seed: 1 }) // always: the byte check reads it
  if (need.has('c')) for (let j = 0; j < 4; j++) specs.push({ name: `c.${j}`, size: cfg.cSize, seed: 100 + j })
  return specs
}

function writePatternFile (file, size, seed) {
  const chunk = 4 * MiB
  const words = new Uint32Array(chunk / 4)
  const bytes = new Uint8Array(words.buffer)
  const tmp = `${file}.tmp`
  const fd = fs.openSync(tmp, 'w', 0o644)
  try {
    for (let off = 0; off < size; off += chunk) {
      const base = off / 4
      for (let i = 0; i < words.length; i++) words[i] = (Math.imul(base + i, 2654435761) + seed) >>> 0
      const n = Math.min(chunk, size - off)
      let done = 0
      while (done < n) done += fs.writeSync(fd, bytes, done, n - done, off + done)
    }
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
}

function prepareFiles (cfg) {
  fs.mkdirSync(SRC, { recursive: true })
  fs.mkdirSync(MNT, { recursive: true })
  const specs = fileSpecs(cfg)
  let missing = 0
  for (const s of specs) {
    const file = path.join(SRC, s.name)
    const marker = path.join(SRC, `.${s.name}.ok`)
    const want = `${PATTERN_VERSION} ${s.size} ${s.seed}`
    let ok = false
    try { ok = fs.readFileSync(marker, 'utf8') === want && fs.statSync(file).size === s.size } catch {}
    if (!ok) missing += s.size
    s.ok = ok
  }
  if (missing) {
    const st = fs.statfsSync(BASE)
    const free = st.bavail * st.bsize
    const seedWrites = cfg.seedWorkloads.some((w) => WORKLOADS[w].write) ? 4 * cfg.seedWriteSize : 0
    const headroom = (cfg.workloads.includes('f') ? cfg.cSize : 0) + seedWrites + 256 * MiB
    if (free < missing + headroom) die(`not enough room on /dev/shm: need ${fmtSize(missing + headroom)}, ${(free / GiB).toFixed(1)} GiB free`)
    log(`writing ${(missing / GiB).toFixed(2)} GiB of test files to ${SRC}`)
  }
  for (const s of specs) {
    if (s.ok) continue
    const file = path.join(SRC, s.name)
    try { fs.unlinkSync(path.join(SRC, `.${s.name}.ok`)) } catch {}
    writePatternFile(file, s.size, s.seed)
    fs.writeFileSync(path.join(SRC, `.${s.name}.ok`), `${PATTERN_VERSION} ${s.size} ${s.seed}`)
  }
  return specs
}

function removeFiles () {
  // Every name this bench ever writes, also those of an earlier --keep-files run.
  for (const name of ['big.bin', 'odd.bin', 'c.0', 'c.1', 'c.2', 'c.3']) {
    for (const f of [name, `.${name}.ok`, `${name}.tmp`]) try { fs.unlinkSync(path.join(SRC, f)) } catch {}
  }
  for (const f of ['f.bin', 'sw.0', 'sw.1', 'sw.2', 'sw.3']) try { fs.unlinkSync(path.join(SRC, f)) } catch {}
  // rmdir, never a recursive delete: a directory still mounted stays untouched.
  for (const d of [SRC, MNT, BASE]) try { fs.rmdirSync(d) } catch {}
}

// sha256 in a child process (a read through a hung mount must stay killable), with Node's
// OpenSSL: several times faster than coreutils' sha256sum here.
const HASH_SCRIPT = `
const crypto = require('crypto'), fs = require('fs'), buf = Buffer.allocUnsafe(1 << 20)
for (const f of process.argv.slice(1)) {
  const h = crypto.createHash('sha256'), fd = fs.openSync(f, 'r')
  let n
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n))
  fs.closeSync(fd)
  console.log(h.digest('hex') + ' ' + f)
}`

async function sha256 (files, timeoutMs, onFuse = false) {
  const r = await runChild(process.execPath, ['-e', HASH_SCRIPT, ...files], { timeoutMs, onStuck: onFuse ? abortMntConnection : null })
  if (r.timedOut) return { error: `sha256 read timed out after ${timeoutMs / 1000} s`, hang: true }
  if (r.code !== 0) return { error: `sha256 read failed (exit ${r.code ?? r.signal}): ${tail(r.stderr, 2)}` }
  const out = {}
  for (const line of r.stdout.trim().split('\n')) {
    const i = line.indexOf(' ')
    out[path.basename(line.slice(i + 1))] = line.slice(0, i)
  }
  return { hashes: out }
}

// ---------------------------------------------------------------------------------------
// Servers.

class HangError extends Error {}

function launchServer (name) {
  const sys = SYSTEMS[name]
  const [cmd, args, env] = sys.command()
  fs.mkdirSync(LOGS, { recursive: true })
  const logFile = path.join(LOGS, `${name}.stderr.log`)
  const logStream = fs.createWriteStream(logFile)
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...(env || {}) }, stdio: ['ignore', 'pipe', 'pipe'] })
  liveChildren.add(child)
  const srv = {
    name,
    child,
    pid: child.pid,
    commandLine: [cmd === process.execPath ? 'node' : cmd, ...args].map((a) => path.isAbsolute(a) && a.startsWith(ROOT + '/') ? path.relative(ROOT, a) : a).join(' '),
    logFile,
    stdout: '',
    stderrTail: [],
    errorLines: [],
    mountedLine: null,
    exit: null,
    spawnError: null,
    closed: new Promise((resolve) => child.on('close', resolve))
  }
  child.stdout.on('data', (d) => { if (srv.stdout.length < 16 * MiB) srv.stdout += d })
  let partial = ''
  child.stderr.on('data', (d) => {
    logStream.write(d)
    const lines = (partial + d).split('\n')
    partial = lines.pop()
    for (const line of lines) {
      srv.stderrTail.push(line)
      if (srv.stderrTail.length > 40) srv.stderrTail.shift()
      if (sys.kind !== 'splicefs') continue
      let obj = null
      try { obj = JSON.parse(line) } catch {}
      if (!obj) continue
      if (obj.msg === 'mounted' && !srv.mountedLine) srv.mountedLine = obj
      if (typeof obj.level === 'number' && obj.level >= 50 && srv.errorLines.length < 20) srv.errorLines.push(line)
    }
  })
  child.on('exit', (code, signal) => {
    srv.exit = { code, signal }
    liveChildren.delete(child)
  })
  child.on('close', () => logStream.end())
  child.on('error', (err) => {
    srv.spawnError = err
    srv.exit = srv.exit || { code: null, signal: null }
    liveChildren.delete(child)
  })
  return srv
}

function stderrNote (srv) {
  const lines = srv.stderrTail.filter((l) => l.trim())
  return lines.length ? `; its stderr ends with:\n${lines.slice(-12).join('\n')}` : '; no output on stderr'
}

async function waitMounted (srv, timeoutMs = 20000) {
  const kind = SYSTEMS[srv.name].kind
  const t0 = Date.now()
  let seenAt = 0
  for (;;) {
    if (srv.spawnError) throw new Error(`cannot start ${srv.commandLine}: ${srv.spawnError.message}`)
    if (srv.exit) {
      await Promise.race([srv.closed, sleep(1000)])
      srv.diedEarly = true
      throw new Error(`server exited (${srv.exit.code ?? srv.exit.signal}) before mounting${stderrNote(srv)}`)
    }
    const mounted = inProcMounts(MNT)
    if (mounted && !seenAt) seenAt = Date.now()
    if (mounted && (kind !== 'splicefs' || srv.mountedLine)) break
    if (mounted && kind === 'splicefs' && Date.now() - seenAt > 3000) {
      srv.notes = [...(srv.notes || []), 'mounted without a "mounted" log line within 3 s']
      break
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`not mounted after ${timeoutMs / 1000} s (${mounted ? 'in /proc/mounts, no "mounted" log line' : 'not in /proc/mounts'})${stderrNote(srv)}`)
    }
    await sleep(50)
  }
  srv.mount = findMount(MNT)
  srv.mountMs = Date.now() - t0
}

/** Stops a server, always leaving MNT unmounted. Fills srv.stop with what it saw. */
async function stopServer (srv) {
  const notes = []
  const mount = findMount(MNT) || srv.mount
  if (!srv.exit) {
    srv.vmHWMKiB = readStatusKiB(srv.pid, 'VmHWM')
    srv.cpuTicksEnd = readCpuTicks(srv.pid)
    srv.child.kill('SIGTERM')
    const t0 = Date.now()
    while (!srv.exit && Date.now() - t0 < 10000) await sleep(50)
    if (!srv.exit) {
      notes.push('did not exit within 10 s of SIGTERM: connection aborted, SIGKILL')
      if (mount) abortFuseConnection(mount.majmin)
      srv.child.kill('SIGKILL')
      const t1 = Date.now()
      while (!srv.exit && Date.now() - t1 < 5000) await sleep(50)
    }
  } else if (!srv.diedEarly) {
    notes.push(`server had exited on its own (${srv.exit.code ?? srv.exit.signal}) before the stop`)
  }
  if (findMount(MNT)) notes.push('mount still there after the server stopped', ...(await forceUnmount(MNT, 'cleanup')))
  if (findMount(MNT)) notes.push(`STALE MOUNT REMAINS at ${MNT}`)
  await Promise.race([srv.closed, sleep(2000)])
  srv.stop = { exit: srv.exit, notes }
  if (SYSTEMS[srv.name].kind === 'splicefs') {
    const obj = parseJsonObject(srv.stdout)
    srv.counters = obj ? flatten(obj) : null
  }
}

// ---------------------------------------------------------------------------------------
// fio.

function fioArgs (wid, dir, cfg, warmup) {
  const w = WORKLOADS[wid]
  const args = ['--output-format=json', `--name=${wid}`, '--group_reporting', ...w.fio(cfg)]
  if (w.file === 'big') args.push(`--filename=${path.join(dir, 'big.bin')}`)
  if (w.file === 'c') args.push(`--directory=${dir}`, '--filename_format=c.$jobnum')
  if (w.file === 'f') args.push(`--filename=${path.join(dir, 'f.bin')}`)
  if (w.file === 'sw') args.push(`--directory=${dir}`, '--filename_format=sw.$jobnum')
  if (!w.write) args.push('--readonly')
  if (w.timeBased) args.push('--time_based', `--runtime=${warmup ? cfg.warmupRuntime : w.seed ? cfg.seedRuntime : cfg.runtime}`)
  return args
}

async function runFio (wid, args, cfg) {
  const w = WORKLOADS[wid]
  // Generous: a cell moving less than ~20 MiB/s for minutes is a hang, not a result.
  const timeoutMs = w.timeBased ? (Math.max(cfg.runtime, cfg.seedRuntime) + 60) * 1000 : Math.max(180000, ((w.file === 'c' ? 4 * cfg.cSize : cfg.bigSize) / (20 * MiB)) * 1000)
  const r = await runChild('fio', args, { timeoutMs, onStuck: args.some((a) => a.includes(MNT)) ? abortMntConnection : null })
  if (r.timedOut) throw new HangError(`fio did not finish in ${Math.round(timeoutMs / 1000)} s (killed)`)
  let j = null
  const i = r.stdout.indexOf('{')
  if (i >= 0) try { j = JSON.parse(r.stdout.slice(i)) } catch {}
  const job = j && j.jobs && j.jobs[0]
  if (!job) throw new Error(`fio exit ${r.code ?? r.signal}, no JSON: ${tail(r.stderr || r.stdout, 3)}`)
  if (job.error) throw new Error(`fio error ${job.error}: ${tail(r.stderr, 3)}`)
  if (r.code !== 0) throw new Error(`fio exit ${r.code}: ${tail(r.stderr, 3)}`)
  const side = w.write ? job.write : job.read
  if (!side || !side.io_bytes) throw new Error(`fio moved no bytes: ${tail(r.stderr, 3)}`)
  return { bwBytes: side.bw_bytes, ioBytes: side.io_bytes, runtimeMs: side.runtime }
}

// ---------------------------------------------------------------------------------------
// One system: mount, check bytes, every workload, unmount (always).

async function benchSystem (name, cfg, ctx) {
  const sys = SYSTEMS[name]
  const info = { name, kind: sys.kind, notes: [], cells: {} }
  ctx.systems[name] = info
  if (sys.kind === 'peer' && ctx.peerStatus[sys.peer] && !ctx.peerStatus[sys.peer].ok) {
    info.unavailable = `not installed: ${ctx.peerStatus[sys.peer].reason}`
    log(`${name}: skipped (${info.unavailable})`)
    return
  }
  if (sys.kind === 'splicefs' && !fs.existsSync(SPLICEFS_CLI)) {
    info.unavailable = 'dist/cli.js not found (build with `npm run build`)'
    log(`${name}: skipped (${info.unavailable})`)
    return
  }
  let srv = null
  const dir = sys.kind === 'raw' ? SRC : MNT
  ctx.current = () => srv
  try {
    if (sys.kind !== 'raw') {
      if (findMount(MNT)) info.notes.push(...(await forceUnmount(MNT, 'stale mount before start')))
      fs.mkdirSync(MNT, { recursive: true })
      srv = launchServer(name)
      info.server = srv
      info.commandLine = srv.commandLine
      log(`${name}: starting ${srv.commandLine}`)
      await waitMounted(srv)
      log(`${name}: mounted in ${srv.mountMs} ms (${srv.mount && srv.mount.fstype}, pid ${srv.pid})`)
      srv.cpuTicksStart = readCpuTicks(srv.pid)
      const probe = await runChild('stat', ['-c', '%s', path.join(MNT, 'big.bin')], { timeoutMs: 15000 })
      if (probe.timedOut) throw new HangError('stat of big.bin through the mount hung for 15 s')
      if (probe.code !== 0) throw new Error(`stat of big.bin through the mount failed: ${tail(probe.stderr, 2)}`)
    }

    // Bytes check, once per system.
    const files = ['big.bin', 'odd.bin'].map((f) => path.join(dir, f))
    const got = await sha256(files, Math.max(120000, (cfg.bigSize / (20 * MiB)) * 1000), dir === MNT)
    if (got.hang) throw new HangError(got.error)
    if (got.error) {
      info.check = { ok: false, text: got.error }
    } else {
      const bad = Object.keys(ctx.sourceHashes).filter((f) => got.hashes[f] !== ctx.sourceHashes[f])
      info.check = bad.length
        ? { ok: false, wrong: true, text: `WRONG BYTES in ${bad.map((f) => `${f} (got ${got.hashes[f]?.slice(0, 16)}…, want ${ctx.sourceHashes[f].slice(0, 16)}…)`).join(', ')}` }
        : { ok: true, text: 'sha256 of big.bin and odd.bin match the source' }
    }
    log(`${name}: bytes ${info.check.ok ? 'ok' : info.check.text}`)

    for (const wid of cfg.workloads) {
      const w = WORKLOADS[wid]
      const cell = { runs: [], cpuPerGiB: [], warmup: null }
      info.cells[wid] = cell
      if (w.write && !sys.writable) {
        cell.skipped = sys.readOnly || 'read-only'
        continue
      }
      for (let k = 0; k <= cfg.runs; k++) {
        const warmup = k === 0
        if (w.write && w.file === 'f') {
          const r = await runChild('rm', ['-f', path.join(dir, 'f.bin')], { timeoutMs: 30000 })
          if (r.timedOut) throw new HangError('rm of f.bin through the mount hung')
        }
        if (w.file === 'sw') {
          // Fresh sparse files of the full size, so fio writes without laying them out first.
          const files = Array.from({ length: w.jobs }, (_, j) => path.join(dir, `sw.${j}`))
          const rm = await runChild('rm', ['-f', ...files], { timeoutMs: 30000 })
          const r = rm.timedOut ? rm : await runChild('truncate', ['-s', String(cfg.seedWriteSize), ...files], { timeoutMs: 30000 })
          if (r.timedOut) throw new HangError('making the seed write files through the mount hung')
          if (r.code !== 0) { cell.error = `cannot make the write files: ${tail(r.stderr, 1)}`; break }
        }
        if (w.buffered) dropCaches()
        const before = srv ? readCpuTicks(srv.pid) : null
        let res
        try {
          res = await runFio(wid, fioArgs(wid, dir, cfg, warmup), cfg)
        } catch (err) {
          cell.error = err.message
          log(`${name} ${wid} ${warmup ? 'warm-up' : `run ${k}/${cfg.runs}`}: FAILED ${err.message}`)
          if (err instanceof HangError) throw err
          break
        }
        const after = srv ? readCpuTicks(srv.pid) : null
        const mibps = res.bwBytes / MiB
        const cpuSec = before != null && after != null ? (after - before) / ctx.clkTck : null
        const cpuPerGiB = cpuSec != null ? cpuSec / (res.ioBytes / GiB) : null
        if (warmup) cell.warmup = mibps
        else {
          cell.runs.push(mibps)
          if (cpuPerGiB != null) cell.cpuPerGiB.push(cpuPerGiB)
        }
        log(`${name} ${wid} ${warmup ? 'warm-up' : `run ${k}/${cfg.runs}`}: ${mibps.toFixed(0)} MiB/s` +
          (cpuPerGiB != null ? `, server ${cpuPerGiB.toFixed(2)} CPU s/GiB` : ''))
      }
      if (w.file === 'f') await runChild('rm', ['-f', path.join(dir, 'f.bin')], { timeoutMs: 30000 })
      if (w.file === 'sw') await runChild('rm', ['-f', ...Array.from({ length: w.jobs }, (_, j) => path.join(dir, `sw.${j}`))], { timeoutMs: 30000 })
    }
    if (cfg.profile && srv && name === cfg.profile && cfg.workloads.includes('a')) info.profile = await profileServer(srv, cfg)
  } catch (err) {
    info.error = err.message
    log(`${name}: FAILED: ${err.message.split('\n')[0]}`)
  } finally {
    if (srv) {
      await stopServer(srv)
      info.notes.push(...(srv.notes || []), ...srv.stop.notes)
      const exit = srv.stop.exit
      info.exit = exit
      if (sys.kind === 'splicefs' && exit && exit.code !== 0) info.notes.push(`exit status ${exit.code ?? exit.signal} (0 expected after SIGTERM)`)
      log(`${name}: stopped (exit ${exit ? exit.code ?? exit.signal : '?'})${srv.stop.notes.length ? ': ' + srv.stop.notes.join('; ') : ''}`)
    }
    ctx.current = null
  }
}

// Where the server's time goes on workload a: perf record of the server process during one
// extra run (not counted), then the top symbols, kernel and user, by self time.
async function profileServer (srv, cfg) {
  const data = path.join(WORK, 'perf.data')
  const perf = spawn('perf', ['record', '-q', '-g', '-p', String(srv.pid), '-o', data], { stdio: 'ignore' })
  await sleep(300)
  dropCaches()
  try {
    await runFio('a', fioArgs('a', MNT, cfg, false), cfg)
  } finally {
    perf.kill('SIGINT')
    await new Promise((resolve) => perf.once('exit', resolve))
  }
  const rep = await runChild('perf', ['report', '-i', data, '--no-children', '--sort', 'symbol', '--stdio', '-g', 'none', '--percent-limit', '1'], { timeoutMs: 60000 })
  const rows = rep.stdout.split('\n').filter((l) => /^\s+[0-9.]+%/.test(l)).slice(0, 15).map((l) => l.trim().replace(/\s+/g, ' '))
  log(`profile: ${rows.length} entries`)
  return rows.length ? rows : [`perf report gave nothing (${tail(rep.stderr, 1)})`]
}

// ---------------------------------------------------------------------------------------
// Report.

const fmtMiB = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

function cellSummary (cell) {
  if (!cell || !cell.runs.length) return null
  return { median: median(cell.runs), min: Math.min(...cell.runs), max: Math.max(...cell.runs), n: cell.runs.length }
}

function cellText (info, wid, runsWanted) {
  if (!info) return '—'
  if (info.unavailable) return 'n/a'
  const cell = info.cells[wid]
  if (!cell) return info.error ? 'not run' : '—'
  if (cell.skipped) return `— (${cell.skipped.includes('read-only') ? 'read-only' : cell.skipped})`
  const s = cellSummary(cell)
  if (!s) return cell.error ? 'failed' : '—'
  const text = `${fmtMiB(s.median)} [${fmtMiB(s.min)}–${fmtMiB(s.max)}]`
  return cell.error ? `${text} (only ${s.n} of ${runsWanted} runs)` : text
}

function machineInfo () {
  const sh = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : null
  }
  const read = (f) => { try { return fs.readFileSync(f, 'utf8').trim() } catch { return null } }
  const cpuModel = (read('/proc/cpuinfo') || '').match(/^model name\s*:\s*(.*)$/m)
  const dpkgVersion = (p) => sh('dpkg-query', ['-W', '-f=${Version}', p])
  let fuseNative = null
  try { fuseNative = JSON.parse(fs.readFileSync(path.join(WORK, 'fuse-native', 'node_modules', 'fuse-native', 'package.json'), 'utf8')).version } catch {}
  return {
    nproc: sh('nproc', []) || String(os.cpus().length),
    memGiB: (os.totalmem() / GiB).toFixed(1),
    kernel: os.release(),
    cpu: cpuModel ? cpuModel[1] : os.cpus()[0]?.model,
    node: process.version,
    fio: sh('fio', ['--version']),
    bindfs: dpkgVersion('bindfs'),
    gofuse: dpkgVersion('golang-github-hanwen-go-fuse-dev'),
    go: dpkgVersion('golang-go'),
    fuseNative,
    maxPagesLimit: read('/proc/sys/fs/fuse/max_pages_limit'),
    pipeMaxSize: read('/proc/sys/fs/pipe-max-size'),
    enableUring: read('/sys/module/fuse/parameters/enable_uring'),
    thp: read('/sys/kernel/mm/transparent_hugepage/enabled'),
    pageReporting: (() => {
      // A VM whose freed memory goes back to the host pays faults to touch it again: every
      // drop_caches frees the FUSE page cache, so this is a source of run-to-run noise.
      const dir = '/sys/module/page_reporting/parameters'
      try {
        return fs.readdirSync(dir).filter((k) => k !== 'reported_kib' && k !== 'walked' && k !== 'passes')
          .map((k) => `${k}=${read(path.join(dir, k))}`).join(' ')
      } catch { return null }
    })(),
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' ')
  }
}

function commandLine () {
  const q = (a) => (/^[\w./=,:+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)
  const args = process.argv.slice(2).map(q).join(' ')
  const direct = `node ${path.relative(process.cwd(), fileURLToPath(import.meta.url)) || 'benchmarks/bench.js'}${args ? ' ' + args : ''}`
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ' -- ' + args : ''}`
  return direct
}

function medianOf (ctx, sys, wid) {
  const s = ctx.systems[sys] && cellSummary(ctx.systems[sys].cells[wid])
  return s ? s.median : null
}

/** The fastest peer server (not raw, not splicefs) of this run on a workload. */
function bestPeerOf (ctx, wid) {
  let best = null
  for (const p of PEERS) {
    const v = medianOf(ctx, p, wid)
    if (v != null && (!best || v > best.value)) best = { value: v, label: p }
  }
  return best
}

function ratios (cfg, ctx) {
  const med = (sys, wid) => {
    const s = ctx.systems[sys] && cellSummary(ctx.systems[sys].cells[wid])
    return s ? s.median : null
  }
  const rows = []
  const mk = (label, num, den) => {
    const cells = cfg.mainWorkloads.map((wid) => {
      const n = num(wid)
      const d = den(wid)
      if (n == null || d == null || !d.value) return '—'
      return `${(n / d.value).toFixed(2)}×${d.label ? ` (${d.label})` : ''}`
    })
    if (cells.some((c) => c !== '—')) rows.push([label, ...cells])
  }
  const splice = (wid) => med('splicefs-splice', wid)
  const bestPeer = (wid) => bestPeerOf(ctx, wid)
  const of = (sys) => (wid) => { const v = med(sys, wid); return v == null ? null : { value: v } }
  mk('splice / copy', splice, of('splicefs-copy'))
  mk('splice / raw', splice, of('raw'))
  mk('splice / best peer', splice, bestPeer)
  mk('splice16 / copy', (wid) => med('splicefs-splice16', wid), of('splicefs-copy'))
  mk('splice / splice16', splice, of('splicefs-splice16'))
  mk('copy / raw', (wid) => med('splicefs-copy', wid), of('raw'))
  return rows
}

function table (header, rows, leftCols = 1) {
  const esc = (c) => String(c).replace(/\|/g, '\\|')
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i < leftCols ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)
  ].join('\n')
}

function renderReport (cfg, ctx, chartOk) {
  const m = ctx.machine
  const L = []
  const systems = cfg.systems
  L.push('# splicefs benchmark results', '')
  L.push(`Generated by \`${ctx.command}\` on ${ctx.date}. Protocol: shared/BENCHMARKS.md.`, '')
  L.push('## Machine', '')
  L.push(`- ${m.nproc} cores, ${m.memGiB} GiB memory, CPU: ${m.cpu}`)
  L.push(`- kernel ${m.kernel}; fuse max_pages_limit ${m.maxPagesLimit ?? '?'}, pipe-max-size ${m.pipeMaxSize ?? '?'}, fuse enable_uring ${m.enableUring ?? '?'}`)
  if (m.thp) L.push(`- transparent hugepages: ${m.thp}${m.pageReporting ? `; free page reporting to the host is on (${m.pageReporting}): memory freed by drop_caches is handed back and faulted in again, a source of run-to-run noise` : ''}`)
  L.push(`- load average (1, 5, 15 min) at start: ${m.loadStart}; at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine shows here; the ratios come from one run)`)
  L.push(`- Node ${m.node}, ${m.fio}; bindfs ${m.bindfs ?? 'not installed'}, go-fuse ${m.gofuse ?? 'not installed'} (Go ${m.go ?? '—'}), fuse-native ${m.fuseNative ?? 'not installed'}`)
  L.push('')
  L.push('## Method', '')
  L.push(`- Source files on tmpfs (${SRC}): one ${fmtSize(cfg.bigSize)} file for a, b, d, e` +
    (cfg.workloads.some((w) => WORKLOADS[w].file === 'c') ? `; 4 × ${fmtSize(cfg.cSize)} files for c` : '') +
    (cfg.workloads.includes('f') ? `; f writes ${fmtSize(cfg.cSize)}` : '') + '.')
  L.push(`- fio, MiB/s from \`bw_bytes\` of its JSON output; each cell: 1 warm-up run (not counted` +
    (cfg.mainWorkloads.some((w) => WORKLOADS[w].timeBased) ? `, ${cfg.warmupRuntime} s for d and e` : '') +
    `), then ${cfg.runs} run${cfg.runs === 1 ? '' : 's'}, reported as median [min–max]` +
    (cfg.mainWorkloads.some((w) => WORKLOADS[w].timeBased) ? `; d and e run ${cfg.runtime} s each (time_based)` : '') + '.')
  L.push('- `echo 3 > /proc/sys/vm/drop_caches` before every buffered run (a, c, f), so the FUSE page cache is cold and every byte reaches the server.')
  L.push('- Bytes checked once per system: sha256 of big.bin and of odd.bin (3 MiB + 4097 bytes, a short read at EOF) through the mount against the source.')
  L.push('- Server CPU = utime+stime of the server process from /proc/PID/stat before and after each run, divided by the GiB fio read.')
  L.push('')
  L.push('| workload | fio |', '|---|---|')
  for (const wid of cfg.mainWorkloads) L.push(`| ${wid} | ${WORKLOADS[wid].desc} |`)
  if (cfg.seedWorkloads.length) L.push(`| seed-* | the seed matrix (shared/seeds/003): ${cfg.seedWorkloads.length} cells, bs=4k, iodepth=16 for libaio, buffered, ${cfg.seedRuntime} s each; see its own section |`)
  L.push('')
  if (cfg.mainWorkloads.length) {
    L.push('## Throughput, MiB/s: median [min–max]', '')
    L.push(table(['system', ...cfg.mainWorkloads], systems.map((s) => [s, ...cfg.mainWorkloads.map((w) => cellText(ctx.systems[s], w, cfg.runs))])))
    L.push('')
  }
  if (cfg.seedWorkloads.length) {
    L.push('## Seed matrix, MiB/s: median [min–max]', '')
    L.push(`The fio table of the virtio-fs DAX thread (shared/seeds/003) on this machine: bs=4k, buffered (cold FUSE cache: drop_caches before each run), time based (${cfg.seedRuntime} s per run, ${cfg.warmupRuntime} s warm-up), \`-multi\` = 4 jobs on 4 files. Reads use the files of a and c; writes go to fresh sparse ${fmtSize(cfg.seedWriteSize)} files per job. Read-only systems show — for the writes.`, '')
    const rows = cfg.seedWorkloads.map((w) => {
      const sp = medianOf(ctx, 'splicefs-splice', w)
      const bp = bestPeerOf(ctx, w)
      return [w, ...systems.map((s) => cellText(ctx.systems[s], w, cfg.runs)), sp != null && bp && bp.value ? `${(sp / bp.value).toFixed(2)}× (${bp.label})` : '—']
    })
    L.push(table(['cell', ...systems, 'splice / best peer'], rows))
    L.push('')
  }
  if (chartOk) L.push(`![MiB/s by workload and system](${path.relative(path.dirname(cfg.out), cfg.chart)})`, '')

  const rr = ratios(cfg, ctx)
  if (rr.length) {
    L.push('## Ratios (medians of this run)', '')
    L.push(table(['ratio', ...cfg.mainWorkloads], rr))
    L.push('')
  }

  L.push('## Server cost', '')
  const costRows = []
  for (const s of systems) {
    const info = ctx.systems[s]
    if (!info || SYSTEMS[s].kind === 'raw') continue
    const a = info.cells && info.cells.a
    let cpu = '—'
    let per = '—'
    if (a && a.cpuPerGiB.length) {
      const md = median(a.cpuPerGiB)
      cpu = `${md.toFixed(2)} [${Math.min(...a.cpuPerGiB).toFixed(2)}–${Math.max(...a.cpuPerGiB).toFixed(2)}]`
      per = md > 0 ? (1024 / md).toFixed(0) : '—'
    }
    const rss = info.server && info.server.vmHWMKiB ? (info.server.vmHWMKiB / 1024).toFixed(1) : '—'
    costRows.push([s, cpu, per, rss])
  }
  if (costRows.length) {
    L.push(table(['server', cfg.workloads.includes('a') ? 'CPU s per GiB on a' : 'CPU s per GiB on a (a not run)', 'MiB per CPU-second', 'peak RSS (VmHWM), MiB'], costRows))
    L.push('', 'Peak RSS is measured for the whole session of the server (all workloads), just before it is stopped.', '')
  }

  const sf = systems.filter((s) => SYSTEMS[s].kind === 'splicefs' && ctx.systems[s] && !ctx.systems[s].unavailable)
  if (sf.length) {
    L.push('## splicefs: mount line and READ counters', '')
    const drop = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v', 'name', 'source', 'mountpoint'])
    for (const s of sf) {
      const info = ctx.systems[s]
      const srv = info.server
      L.push(`### ${s}`, '')
      L.push(`- command: \`${info.commandLine}\``)
      if (srv && srv.mountedLine) {
        const fields = Object.entries(flatten(srv.mountedLine)).filter(([k]) => !drop.has(k))
        L.push(`- mounted: ${fields.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}`)
      } else {
        L.push('- mounted: no "mounted" log line seen')
      }
      if (srv && srv.counters) {
        const read = Object.entries(srv.counters).filter(([k]) => k.startsWith('read.'))
        const sb = Number(srv.counters['read.spliceBytes'])
        const cb = Number(srv.counters['read.copyBytes'])
        if (Number.isFinite(sb) && Number.isFinite(cb) && sb + cb > 0) {
          L.push(`- path: ${(100 * sb / (sb + cb)).toFixed(1)}% of READ bytes went by splice, ${(100 * cb / (sb + cb)).toFixed(1)}% by copy`)
        }
        L.push(`- READ counters (whole session, byte check and warm-ups included): ${read.length ? read.map(([k, v]) => `${k}=${v}`).join(', ') : 'none with a read. prefix'}`)
        const rest = Object.entries(srv.counters).filter(([k]) => !k.startsWith('read.') && !k.startsWith('info.'))
        if (rest.length) L.push(`- other counters: ${rest.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}`)
      } else if (srv && srv.stop) {
        L.push(`- counters: none parsed from stdout${srv.stdout.trim() ? ` (stdout: \`${tail(srv.stdout, 1).slice(0, 200)}\`)` : ' (stdout empty)'}`)
      }
      if (info.exit) L.push(`- exit after SIGTERM: ${info.exit.code ?? info.exit.signal}`)
      if (srv && srv.errorLines.length) L.push(`- error log lines: ${srv.errorLines.length}, first: \`${srv.errorLines[0].slice(0, 300)}\``)
      L.push('')
    }
  }

  for (const s of systems) {
    const info = ctx.systems[s]
    if (!info || !info.profile) continue
    L.push(`## Profile: ${s} on workload a`, '', `\`perf record -g -p <server pid>\` during one extra run of a; self time by symbol ([k] kernel, [.] user), entries over 1%:`, '', '```')
    for (const r of info.profile) L.push(r)
    L.push('```', '')
  }

  L.push('## Byte checks', '')
  for (const s of systems) {
    const info = ctx.systems[s]
    if (!info || info.unavailable) continue
    L.push(`- ${s}: ${info.check ? (info.check.ok ? 'ok, ' : '') + info.check.text : 'not done'}`)
  }
  L.push('')

  const notes = []
  for (const s of systems) {
    const info = ctx.systems[s]
    if (!info) continue
    if (info.unavailable) notes.push(`${s}: not run: ${info.unavailable}`)
    if (info.error) notes.push(`${s}: FAILED: ${info.error.split('\n')[0]}${info.error.includes('\n') ? `\n\n  \`\`\`\n${info.error.split('\n').slice(1).map((l) => '  ' + l).join('\n')}\n  \`\`\`\n` : ''}`)
    for (const wid of cfg.workloads) {
      const c = info.cells && info.cells[wid]
      if (c && c.error && !(info.error && info.error.startsWith(c.error))) notes.push(`${s} ${wid}: ${c.error}`)
      if (c && c.skipped && !WORKLOADS[wid].seed) notes.push(`${s} ${wid}: skipped, ${c.skipped}`)
    }
    const seedSkipped = cfg.seedWorkloads.filter((w) => info.cells && info.cells[w] && info.cells[w].skipped)
    if (seedSkipped.length) notes.push(`${s}: ${seedSkipped.length} seed-matrix write cells skipped, ${info.cells[seedSkipped[0]].skipped}`)
    for (const n of info.notes) notes.push(`${s}: ${n}`)
  }
  for (const n of ctx.setupNotes) notes.push(`setup: ${n}`)
  if (notes.length) {
    L.push('## Notes', '')
    for (const n of notes) L.push(`- ${n}`)
    L.push('')
  }

  L.push('<details><summary>Every run (MiB/s; w = warm-up, not counted)</summary>', '')
  const runRows = []
  for (const s of systems) {
    const info = ctx.systems[s]
    if (!info || info.unavailable) continue
    for (const wid of cfg.workloads) {
      const c = info.cells[wid]
      if (!c || c.skipped) continue
      runRows.push([s, wid, c.warmup == null ? '—' : fmtMiB(c.warmup), c.runs.map(fmtMiB).join(', ') || '—',
        c.cpuPerGiB.length ? c.cpuPerGiB.map((x) => x.toFixed(2)).join(', ') : '—'])
    }
  }
  L.push(table(['system', 'workload', 'w', 'runs', 'server CPU s/GiB'], runRows, 2))
  L.push('', '</details>', '')
  return L.join('\n')
}

async function renderChart (cfg, ctx) {
  const values = []
  for (const s of cfg.systems) {
    const info = ctx.systems[s]
    if (!info || info.unavailable) continue
    for (const wid of cfg.mainWorkloads) {
      const sum = cellSummary(info.cells[wid])
      if (sum) values.push({ workload: wid, system: s, median: Math.round(sum.median), min: Math.round(sum.min), max: Math.round(sum.max) })
    }
  }
  if (!values.length) return { ok: false, why: 'no data' }
  let vega, vl
  try {
    vega = await import('vega')
    vl = await import('vega-lite')
  } catch (err) {
    return { ok: false, why: `vega/vega-lite not installed (npm install): ${err.message}` }
  }
  const sysOrder = cfg.systems.filter((s) => values.some((v) => v.system === s))
  const wlOrder = cfg.mainWorkloads.filter((w) => values.some((v) => v.workload === w))
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'splicefs benchmark: throughput by workload and system',
      subtitle: `MiB/s, median of ${cfg.runs} run${cfg.runs === 1 ? '' : 's'}, whiskers min–max · kernel ${ctx.machine.kernel} · ${ctx.date}`
    },
    data: { values },
    facet: { field: 'workload', type: 'nominal', sort: wlOrder, title: null, header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    columns: Math.min(4, wlOrder.length),
    spec: {
      width: Math.max(90, 26 * sysOrder.length),
      height: 260,
      encoding: {
        x: { field: 'system', type: 'nominal', sort: sysOrder, axis: { title: null, labels: false, ticks: false } },
        color: { field: 'system', type: 'nominal', sort: sysOrder, scale: { scheme: 'tableau10' }, legend: { title: 'system', orient: 'bottom', columns: 4 } }
      },
      layer: [
        { mark: { type: 'bar' }, encoding: { y: { field: 'median', type: 'quantitative', title: 'MiB/s' }, tooltip: [{ field: 'system' }, { field: 'median' }, { field: 'min' }, { field: 'max' }] } },
        { mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
        { mark: { type: 'text', dy: -8, fontSize: 9, angle: 0 }, encoding: { y: { field: 'max', type: 'quantitative' }, text: { field: 'median', type: 'quantitative', format: 'd' }, color: { value: '#333' } } }
      ]
    },
    resolve: { scale: { y: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: '#ddd' } }
  }
  const compiled = vl.compile(spec).spec
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  fs.mkdirSync(path.dirname(cfg.chart), { recursive: true })
  fs.writeFileSync(cfg.chart, svg)
  return { ok: true }
}

// ---------------------------------------------------------------------------------------
// Main.

function readPeerStatus () {
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
    'fuse-native': () => fs.existsSync(path.join(WORK, 'fuse-native', 'node_modules', 'fuse-native', 'package.json'))
  }
  for (const p of PEERS) {
    if (!status[p]) status[p] = probe[p]() ? { ok: true, reason: '' } : { ok: false, reason: 'not set up (run benchmarks/setup.sh)' }
  }
  return status
}

async function main () {
  const cfg = parseCli()
  if (process.getuid && process.getuid() !== 0) die('must run as root (drop_caches, mount)')
  const ctx = { systems: {}, setupNotes: [], current: null, clkTck: 100, command: commandLine(), date: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }

  let emergencyDone = false
  const emergency = () => {
    if (emergencyDone) return
    emergencyDone = true
    for (const c of liveChildren) try { c.kill('SIGKILL') } catch {}
    if (findMount(MNT)) {
      const m = findMount(MNT)
      abortFuseConnection(m && m.majmin)
      spawnSync('umount', ['-l', MNT], { stdio: 'ignore', timeout: 10000 })
    }
    unmountFusectl()
  }
  process.on('exit', emergency)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      log(`${sig}: stopping, unmounting ${MNT}`)
      emergency()
      process.exit(130)
    })
  }

  if (!cfg['skip-setup']) {
    log('setup: benchmarks/setup.sh')
    const r = spawnSync('bash', [path.join(HERE, 'setup.sh')], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' })
    if (r.stderr) {
      process.stderr.write(r.stderr)
      for (const line of r.stderr.trim().split('\n')) if (line.startsWith('setup: ')) ctx.setupNotes.push(line.slice(7))
    }
    if (r.status !== 0) die(`setup.sh failed (exit ${r.status}); see above`)
  }
  if (spawnSync('fio', ['--version'], { stdio: 'ignore' }).status !== 0) die('fio is not installed (apt-get install fio, or run benchmarks/setup.sh)')
  ctx.peerStatus = readPeerStatus()
  const clk = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  if (clk.status === 0 && Number(clk.stdout) > 0) ctx.clkTck = Number(clk.stdout)
  ctx.machine = machineInfo()

  log(`workloads ${[...cfg.mainWorkloads, ...(cfg.seedWorkloads.length ? [`${cfg.seedWorkloads.length} seed-matrix cells`] : [])].join(',')}; systems ${cfg.systems.join(',')}; ${cfg.runs} runs + 1 warm-up; file ${fmtSize(cfg.bigSize)}`)
  if (findMount(MNT)) {
    for (const n of await forceUnmount(MNT, 'stale mount from an earlier run')) log(n)
  }
  prepareFiles(cfg)
  const src = await sha256(['big.bin', 'odd.bin'].map((f) => path.join(SRC, f)), 600000)
  if (src.error) die(`cannot hash the source files: ${src.error}`)
  ctx.sourceHashes = src.hashes

  for (const name of cfg.systems) await benchSystem(name, cfg, ctx)

  if (findMount(MNT)) log(`WARNING: ${MNT} still mounted after the last system`)
  unmountFusectl()
  let chart = { ok: false, why: 'not rendered' }
  try {
    chart = await renderChart(cfg, ctx)
  } catch (err) {
    chart = { ok: false, why: err.message }
  }
  if (!chart.ok) ctx.setupNotes.push(`chart not written: ${chart.why}`)
  const report = renderReport(cfg, ctx, chart.ok)
  fs.mkdirSync(path.dirname(cfg.out), { recursive: true })
  fs.writeFileSync(cfg.out, report)
  log(`wrote ${path.relative(process.cwd(), cfg.out)}${chart.ok ? ` and ${path.relative(process.cwd(), cfg.chart)}` : ''}`)

  // The headline table on stderr too, for whoever is watching.
  for (const group of [cfg.mainWorkloads, cfg.seedWorkloads]) {
    if (group.length) process.stderr.write('\n' + table(['system', ...group], cfg.systems.map((s) => [s, ...group.map((w) => cellText(ctx.systems[s], w, cfg.runs))])) + '\n')
  }
  process.stderr.write('\n')

  if (!cfg['keep-files']) removeFiles()
  const wrong = Object.values(ctx.systems).filter((i) => i.check && i.check.wrong)
  if (wrong.length) {
    log(`WRONG BYTES from ${wrong.map((i) => i.name).join(', ')}`)
    process.exitCode = 3
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.stack || err}\n`)
  process.exitCode = 1
})
