#!/usr/bin/env node
// splicefs benchmark: the protocol of benchmarks/README.md as one command.
//
//   npm run bench                      full matrix (workloads a b1M b128k c d e f, all systems)
//   npm run bench -- --quick           a and b1M on a 1 GiB file, 3 runs (about 1-2 minutes);
//                                      report in benchmarks/.work/quick/, never RESULTS.md
//   npm run bench -- --quick --baseline ../baseline
//                                      the same, with the server of another checkout beside
//   npm run bench -- --chart-only      results.svg again from RESULTS.md, nothing run
//   npm run bench -- --help            every flag
//   splicefs bench [options]           the same from the installed command (src/bench-command.ts
//                                      calls runBench); the report goes to the current directory
//
// Runs benchmarks/setup.sh (peers), writes test files on tmpfs (/dev/shm/splicefs-bench),
// mounts each system in turn, runs fio, unmounts, and writes benchmarks/RESULTS.md and
// benchmarks/results.svg. Progress goes to stderr. Needs root (drop_caches, mounts), fio and a
// built splicefs (npm install): the mount helpers are its own, from dist/mnt. What is missing
// is said before anything starts, one line each.
// Exit status: 0 report written; 1 could not run; 3 report written but some system
// returned wrong bytes.
//
// This file: the command line and the run loop. The parts are in lib/: workloads, systems,
// servers (one server process), run (one system), fio, files (test files, sha256), mounts,
// report, chart, machine, summary, proc, profile, common.

import { parseArgs } from 'node:util'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { HERE, ROOT, WORK, LOGS, SRC, MNT, BASE, MiB, GiB, die, usageError, log, fmtSize, setProg, onPath } from './lib/common.js'
import { killLiveChildren } from './lib/proc.js'
import { restoreAllParams } from './lib/params.js'
import { mountHelpersError, findMount, forceUnmount, emergencyUnmount, unmountFusectl } from './lib/mounts.js'
import { WORKLOADS, MAIN_WORKLOADS, SEED_WORKLOADS, META_WORKLOADS, WORKLOAD_ORDER } from './lib/workloads.js'
import { SYSTEMS, systemOrder, defineSystems, baselineName, setSplicefsExtra, readPeerStatus } from './lib/systems.js'
import { prepareFiles, removeFiles, sha256, CHECKED_FILES } from './lib/files.js'
import { benchSystem } from './lib/run.js'
import { machineInfo, checkoutInfo, commandLine } from './lib/machine.js'
import { renderReport, consoleTables } from './lib/report.js'
import { renderChart, chartFromReport, vegaAvailable } from './lib/chart.js'

const COMMITTED_REPORT = path.join(HERE, 'RESULTS.md')
const COMMITTED_CHART = path.join(HERE, 'results.svg')
const QUICK_REPORT = path.join(WORK, 'quick', 'RESULTS.md')

/** How this run was started: `npm run bench` in a checkout, or `splicefs bench` (outDir: cwd). */
let mode = { prog: 'bench', outDir: null }

const rel = (p) => path.relative(process.cwd(), p) || p
const defaultReport = (quick) => (mode.outDir ? path.join(mode.outDir, 'RESULTS.md') : quick ? QUICK_REPORT : COMMITTED_REPORT)

const usage = () => `usage: ${mode.prog === 'bench' ? 'npm run bench -- [options]      (node benchmarks/bench.js [options])' : `${mode.prog} [options]`}

Runs fio against the same files on tmpfs through each system (raw tmpfs, splicefs's read modes
and, for writes, its write modes, bindfs, go-fuse's loopback, fuse-native, libfuse's
passthrough_hp in its splice, copy, kernel passthrough and io_uring modes) and writes a report
(RESULTS.md) and a chart (SVG).
The protocol: ${rel(path.join(HERE, 'README.md'))}.

  --workloads LIST   comma list of ${MAIN_WORKLOADS.join(',')}, seed (the 24 cells of the
                     seed matrix), single seed cells (seed-seqread-psync, ...-multi, ...) or
                     ${META_WORKLOADS.join(',')} (untar, find, rm -rf of 20,000 small files, each phase timed)
                     (default: ${MAIN_WORKLOADS.join(',')}; the seed matrix and meta only when asked)
  --systems LIST     comma list of ${systemOrder().join(',')}
                     (default: all; splicefs-write-* only when a workload writes: f, seed
                     writes, meta; they mount -o rw --write-mode copy|splice|auto)
  --baseline DIR     also run the splicefs server of another checkout (DIR/dist/cli.js, built
                     there by npm install) as splicefs-baseline-copy, -splice, -splice16, each
                     right after the same mode of this checkout, for an A/B in one run; with
                     --systems, each chosen splicefs mode brings its baseline twin
  --runs N           measured runs per cell, after one warm-up run (default 3)
  --quick            workloads a,b1M on a 1 GiB file, 3 runs (explicit flags still win); the
                     report goes to ${rel(defaultReport(true))} (or --out), never over
                     the committed RESULTS.md and results.svg
  --runtime S        seconds for the time-based workloads d and e (default 10)
  --warmup-runtime S seconds of the warm-up run of d, e and seed cells (default 3)
  --seed-runtime S   seconds of each seed-matrix run (default 5)
  --file-gib N       size of the large file of a, b, d, e (default 2; c uses min(N,1) GiB per file)
  --out FILE         the report (default ${rel(defaultReport(false))}); the chart goes next to it
                     as results.svg unless --chart FILE says otherwise
  --chart FILE       chart SVG path
  --chart-only       run nothing: draw the chart again from the report's throughput table
                     (--out, default as above; with --quick, the quick report)
  --skip-setup       do not run benchmarks/setup.sh
  --splicefs-args=S  extra options for every splicefs mode (the baseline's too), e.g.
                     --splicefs-args="--threads 2" (recorded in the report's command line)
  --profile SYSTEM   perf profile of that server (e.g. splicefs-splice) during an extra run of a
  --keep-files       keep the test files in ${BASE} for the next run
  -h, --help         this text

Needs: root (it drops the page cache and mounts), /dev/fuse, fio, and a built splicefs.
benchmarks/setup.sh, run first unless --skip-setup, installs with apt-get what is missing of
the Debian packages fio bindfs golang-go golang-github-hanwen-go-fuse-dev meson ninja-build
pkg-config liburing-dev, builds the go-fuse loopback and libfuse's passthrough_hp (from
../shared/peers), and installs npm's fuse-native (and, outside a checkout, vega and vega-lite for the
chart) under ${rel(WORK)}. A peer that cannot be had is skipped and named in the report.
Server logs: ${rel(LOGS)}. Exit status: 0 report written, 1 could not run, 3 report written
but a system returned wrong bytes.
`

const OPTIONS = {
  workloads: { type: 'string' },
  systems: { type: 'string' },
  baseline: { type: 'string' },
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
  'chart-only': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
}

/** Items of a comma list, each checked against `known`, in known's (canonical) order. */
function list (s, known, what) {
  const items = s.split(',').map((x) => x.trim()).filter(Boolean)
  for (const x of items) if (!known.includes(x)) usageError(`unknown ${what} "${x}"; known: ${known.join(', ')}`)
  return known.filter((k) => items.includes(k))
}

function num (s, name, { min = 0, int = false } = {}) {
  const v = Number(s)
  if (!Number.isFinite(v) || v < min || (int && !Number.isInteger(v))) usageError(`--${name}: bad value "${s}"`)
  return v
}

/** --baseline DIR: its splicefs systems join SYSTEMS. Returns the absolute DIR or null. */
function useBaseline (dir) {
  if (!dir) return null
  const abs = path.resolve(dir)
  if (!fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) die(`--baseline: ${dir} is not a directory`)
  defineSystems(abs)
  return abs
}

/** --systems, plus the baseline twin of each chosen splicefs mode. */
function pickSystems (s, baseline, workloads) {
  // By default a system that only writes (splicefs's write modes) runs only when a workload writes.
  const writes = workloads.some((w) => WORKLOADS[w].write)
  if (!s) return systemOrder().filter((n) => writes || !SYSTEMS[n].writesOnly)
  const picked = list(s, systemOrder(), 'system')
  const twins = baseline ? picked.filter((n) => SYSTEMS[n].kind === 'splicefs' && !SYSTEMS[n].baseline).map((n) => baselineName(SYSTEMS[n].mode)) : []
  return systemOrder().filter((n) => picked.includes(n) || twins.includes(n))
}

/** Whether two paths name the same file (symlinked directories included). */
function samePath (a, b) {
  const real = (p) => {
    try { return path.join(fs.realpathSync(path.dirname(p)), path.basename(p)) } catch { return p }
  }
  return path.resolve(a) === path.resolve(b) || real(a) === real(b)
}

/** Report and chart paths (the chart next to the report unless --chart); --quick keeps off the committed ones. */
function outputPaths (parsed) {
  const out = path.resolve(parsed.out || defaultReport(parsed.quick))
  const chart = path.resolve(parsed.chart || path.join(path.dirname(out), path.basename(out, path.extname(out)).toLowerCase() + '.svg'))
  if (parsed.quick) {
    const hit = samePath(out, COMMITTED_REPORT) ? out : samePath(chart, COMMITTED_CHART) ? chart : null
    if (hit) usageError(`--quick never writes over the committed ${rel(hit)}: give another --out (and --chart)`)
  }
  return { out, chart }
}

function parseCli (argv) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }).values
  } catch (err) {
    usageError(`${err.message.split('\n')[0].replace(/^Unknown option/, 'unknown option')} (see ${mode.prog === 'bench' ? 'npm run bench -- --help' : `${mode.prog} --help`})`)
  }
  if (parsed.help) {
    process.stdout.write(usage())
    process.exit(0)
  }
  const baseline = useBaseline(parsed.baseline)
  const wl = parsed.workloads && parsed.workloads.split(',').flatMap((x) => (x.trim() === 'seed' ? SEED_WORKLOADS : [x])).join(',')
  const workloads = wl ? list(wl, WORKLOAD_ORDER, 'workload') : parsed.quick ? ['a', 'b1M'] : MAIN_WORKLOADS
  const systems = pickSystems(parsed.systems, baseline, workloads)
  const runs = parsed.runs ? num(parsed.runs, 'runs', { min: 1, int: true }) : 3
  const runtime = parsed.runtime ? num(parsed.runtime, 'runtime', { min: 1, int: true }) : 10
  const warmupRuntime = parsed['warmup-runtime'] ? num(parsed['warmup-runtime'], 'warmup-runtime', { min: 1, int: true }) : Math.min(3, runtime)
  const seedRuntime = parsed['seed-runtime'] ? num(parsed['seed-runtime'], 'seed-runtime', { min: 1, int: true }) : 5
  const fileGiB = parsed['file-gib'] ? num(parsed['file-gib'], 'file-gib', { min: 0.125 }) : parsed.quick ? 1 : 2
  const bigSize = Math.round((fileGiB * GiB) / MiB) * MiB
  const cSize = Math.min(bigSize, GiB)
  if (!workloads.length) usageError('no workload selected')
  if (!systems.length) usageError('no system selected')
  if (parsed['splicefs-args']) setSplicefsExtra(parsed['splicefs-args'].split(/\s+/).filter(Boolean))
  const mainWorkloads = workloads.filter((w) => !WORKLOADS[w].seed && !WORKLOADS[w].meta)
  const seedWorkloads = workloads.filter((w) => WORKLOADS[w].seed)
  const metaWorkloads = workloads.filter((w) => WORKLOADS[w].meta)
  // Seed writes: files small enough that a slow server's run stays a few seconds past its time.
  const seedWriteSize = 256 * MiB
  return { ...parsed, ...outputPaths(parsed), baseline, workloads, mainWorkloads, seedWorkloads, metaWorkloads, systems, runs, runtime, warmupRuntime, seedRuntime, seedWriteSize, bigSize, cSize }
}

/** Whatever happens to the bench, no child and no mount of ours outlives it. */
function installCleanup () {
  let done = false
  const emergency = () => {
    if (done) return
    done = true
    killLiveChildren()
    emergencyUnmount(MNT)
    unmountFusectl()
    restoreAllParams()
  }
  process.on('exit', emergency)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      log(`${sig}: stopping, unmounting ${MNT}`)
      emergency()
      process.exit(130)
    })
  }
}

/**
 * What the run needs and does not have, one line each (nothing has been touched yet): a built
 * splicefs, root, /dev/fuse, and fio unless setup.sh can install it (root, apt-get, no --skip-setup).
 */
function missingNeeds (cfg) {
  const root = !process.getuid || process.getuid() === 0
  const needs = []
  const helpers = mountHelpersError()
  if (helpers) needs.push(helpers)
  if (!root) needs.push(`needs root: it drops the page cache and mounts (run it as root, e.g. sudo ${mode.prog === 'bench' ? 'npm run bench' : mode.prog})`)
  if (!fs.existsSync('/dev/fuse')) needs.push('needs /dev/fuse: load the fuse module (modprobe fuse)')
  if (!onPath('fio')) {
    const why = cfg['skip-setup'] ? 'and --skip-setup does not install it' : !root ? 'and only root can install it' : !onPath('apt-get') ? 'and there is no apt-get to install it with' : null
    if (why) needs.push(`needs fio (Debian package fio): not found on PATH, ${why}`)
  }
  return needs
}

/** setup.sh (peers), then what the run needs from this machine. */
function prepareMachine (cfg, ctx) {
  if (!cfg['skip-setup']) {
    log('setup: benchmarks/setup.sh (apt-get for what is missing of fio and the peers; see --help)')
    const r = spawnSync('bash', [path.join(HERE, 'setup.sh')], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' })
    const lines = (r.stderr || '').split('\n').filter(Boolean)
    for (const line of lines) {
      if (line.startsWith('setup: fio ')) continue // said once, below
      process.stderr.write(line + '\n')
      if (line.startsWith('setup: ')) ctx.setupNotes.push(line.slice(7))
    }
    if (r.status !== 0 && onPath('fio')) die(`benchmarks/setup.sh failed (exit ${r.status ?? r.signal}); see above`)
  }
  if (!onPath('fio')) die(`needs fio (Debian package fio): apt-get install fio did not install it (see ${rel(path.join(LOGS, 'apt-install.log'))})`)
  ctx.peerStatus = readPeerStatus()
  const clk = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  if (clk.status === 0 && Number(clk.stdout) > 0) ctx.clkTck = Number(clk.stdout)
  ctx.machine = machineInfo()
  ctx.checkouts = { current: checkoutInfo(ROOT), baseline: cfg.baseline ? checkoutInfo(cfg.baseline) : null }
  try { ctx.version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version } catch {}
}

/** The chart, then the report (which links the chart only if it was written). */
async function writeOutputs (cfg, ctx) {
  let chart = { ok: false, why: 'not rendered' }
  try {
    chart = await renderChart(cfg, ctx)
  } catch (err) {
    chart = { ok: false, why: err.message }
  }
  if (!chart.ok) ctx.setupNotes.push(`chart not written: ${chart.why}`)
  fs.mkdirSync(path.dirname(cfg.out), { recursive: true })
  fs.writeFileSync(cfg.out, renderReport(cfg, ctx, chart.ok))
  log(`wrote ${path.relative(process.cwd(), cfg.out)}${chart.ok ? ` and ${path.relative(process.cwd(), cfg.chart)}` : ''}`)
}

/** --chart-only: the chart again from the report's throughput table; nothing is run. */
async function chartOnly (cfg) {
  if (!fs.existsSync(cfg.out)) die(`cannot draw the chart: no report at ${rel(cfg.out)} (give --out)`)
  if (!(await vegaAvailable()) && !cfg['skip-setup']) {
    log(`setup: installing vega and vega-lite for the chart into ${rel(path.join(WORK, 'chart'))}`)
    const r = spawnSync('bash', [path.join(HERE, 'setup.sh'), 'chart'], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) die(`benchmarks/setup.sh chart failed (exit ${r.status ?? r.signal})`)
  }
  const r = await chartFromReport(cfg.out, cfg.chart)
  if (!r.ok) die(`cannot draw the chart from ${rel(cfg.out)}: ${r.why}`)
  log(`wrote ${rel(cfg.chart)} from ${rel(cfg.out)}`)
  return 0
}

async function main (argv) {
  const cfg = parseCli(argv)
  if (cfg['chart-only']) return chartOnly(cfg)
  const needs = missingNeeds(cfg)
  if (needs.length) {
    for (const n of needs) process.stderr.write(`${mode.prog}: ${n}\n`)
    return 1
  }
  const ctx = { systems: {}, setupNotes: [], clkTck: 100, command: commandLine(argv, mode.prog), date: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }
  installCleanup()
  prepareMachine(cfg, ctx)

  log(`workloads ${[...cfg.mainWorkloads, ...(cfg.seedWorkloads.length ? [`${cfg.seedWorkloads.length} seed-matrix cells`] : []), ...cfg.metaWorkloads].join(',')}; systems ${cfg.systems.join(',')}; ${cfg.runs} runs + 1 warm-up; file ${fmtSize(cfg.bigSize)}` +
    (cfg.baseline ? `; baseline ${cfg.baseline} (${ctx.checkouts.baseline ?? 'not a git checkout'})` : ''))
  if (findMount(MNT)) {
    for (const n of await forceUnmount(MNT, 'stale mount from an earlier run')) log(n)
  }
  prepareFiles(cfg)
  const src = await sha256(CHECKED_FILES.map((f) => path.join(SRC, f)), 600000)
  if (src.error) die(`cannot hash the source files: ${src.error}`)
  ctx.sourceHashes = src.hashes

  for (const name of cfg.systems) await benchSystem(name, cfg, ctx)

  if (findMount(MNT)) log(`WARNING: ${MNT} still mounted after the last system`)
  unmountFusectl()
  await writeOutputs(cfg, ctx)
  // The headline table on stderr too, for whoever is watching.
  for (const t of consoleTables(cfg, ctx)) process.stderr.write('\n' + t + '\n')
  process.stderr.write('\n')
  log(`server logs: ${rel(LOGS)}`)

  if (!cfg['keep-files']) removeFiles()
  const wrong = Object.values(ctx.systems).filter((i) => i.check && i.check.wrong)
  if (wrong.length) {
    log(`WRONG BYTES from ${wrong.map((i) => i.name).join(', ')}`)
    return 3
  }
  return 0
}

/**
 * The benchmark: argv are its options; resolves to the exit status (0, 1 or 3; a usage error exits 2). opts.prog names
 * the command in messages ("splicefs bench"); opts.outDir, when given, is where the report goes
 * by default (the installed command: the current directory, never the package's own files).
 */
export async function runBench (argv, opts = {}) {
  mode = { prog: opts.prog || 'bench', outDir: opts.outDir || null }
  setProg(mode.prog)
  try {
    return await main(argv)
  } catch (err) {
    // A bug, not a missing requirement: one line, the stack only when asked for.
    process.stderr.write(`${mode.prog}: internal error: ${err && err.message ? err.message : err}${process.env.SPLICEFS_BENCH_DEBUG ? `\n${err && err.stack}` : ' (SPLICEFS_BENCH_DEBUG=1 shows where)'}\n`)
    return 1
  }
}

// Run as a script (npm run bench, node benchmarks/bench.js): the same, with this process's arguments.
const invoked = process.argv[1] && (() => { try { return pathToFileURL(fs.realpathSync(process.argv[1])).href } catch { return null } })()
if (invoked === import.meta.url) {
  runBench(process.argv.slice(2)).then((code) => { process.exitCode = code })
}
