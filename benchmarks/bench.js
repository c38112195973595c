#!/usr/bin/env node
// splicefs benchmark: the protocol of shared/BENCHMARKS.md as one command.
//
//   npm run bench                      full matrix (workloads a b1M b128k c d e f, all systems)
//   npm run bench -- --quick           a and b1M on a 1 GiB file, 3 runs (about 1-2 minutes);
//                                      report in benchmarks/.work/quick/, never RESULTS.md
//   npm run bench -- --quick --baseline ../baseline
//                                      the same, with the server of another checkout beside
//   npm run bench -- --help            every flag
//
// Runs benchmarks/setup.sh (peers), writes test files on tmpfs (/dev/shm/splicefs-bench),
// mounts each system in turn, runs fio, unmounts, and writes benchmarks/RESULTS.md and
// benchmarks/results.svg. Progress goes to stderr. Needs root (drop_caches, mounts) and a
// built splicefs (npm install): the mount helpers are its own, from dist/mnt.
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
import { HERE, ROOT, WORK, SRC, MNT, BASE, MiB, GiB, die, log, fmtSize } from './lib/common.js'
import { killLiveChildren } from './lib/proc.js'
import { mountHelpersError, findMount, forceUnmount, emergencyUnmount, unmountFusectl } from './lib/mounts.js'
import { WORKLOADS, MAIN_WORKLOADS, SEED_WORKLOADS, WORKLOAD_ORDER } from './lib/workloads.js'
import { SYSTEMS, systemOrder, defineSystems, baselineName, setSplicefsExtra, readPeerStatus } from './lib/systems.js'
import { prepareFiles, removeFiles, sha256, CHECKED_FILES } from './lib/files.js'
import { benchSystem } from './lib/run.js'
import { machineInfo, checkoutInfo, commandLine } from './lib/machine.js'
import { renderReport, consoleTables } from './lib/report.js'
import { renderChart } from './lib/chart.js'

const COMMITTED_REPORT = path.join(HERE, 'RESULTS.md')
const COMMITTED_CHART = path.join(HERE, 'results.svg')
const QUICK_REPORT = path.join(WORK, 'quick', 'RESULTS.md')

const USAGE = `usage: node benchmarks/bench.js [options]      (npm run bench -- [options])

  --workloads LIST   comma list of ${MAIN_WORKLOADS.join(',')}, seed (the 24 cells of the
                     seed matrix) or single seed cells (seed-seqread-psync, ...-multi, ...)
                     (default: ${MAIN_WORKLOADS.join(',')}; the seed matrix only when asked)
  --systems LIST     comma list of ${systemOrder().join(',')} (default: all)
  --baseline DIR     also run the splicefs server of another checkout (DIR/dist/cli.js, built
                     there by npm install) as splicefs-baseline-copy, -splice, -splice16, each
                     right after the same mode of this checkout, for an A/B in one run; with
                     --systems, each chosen splicefs mode brings its baseline twin
  --runs N           measured runs per cell, after one warm-up run (default 3)
  --quick            workloads a,b1M on a 1 GiB file, 3 runs (explicit flags still win); the
                     report goes to ${path.relative(process.cwd(), QUICK_REPORT) || QUICK_REPORT} (or --out), never over
                     the committed RESULTS.md and results.svg
  --runtime S        seconds for the time-based workloads d and e (default 10)
  --warmup-runtime S seconds of the warm-up run of d, e and seed cells (default 3)
  --seed-runtime S   seconds of each seed-matrix run (default 5)
  --file-gib N       size of the large file of a, b, d, e (default 2; c uses min(N,1) GiB per file)
  --out FILE         report (default benchmarks/RESULTS.md); the chart goes next to it
                     as results.svg unless --chart FILE says otherwise
  --chart FILE       chart SVG path
  --skip-setup       do not run benchmarks/setup.sh
  --splicefs-args=S extra options for every splicefs mode (the baseline's too), e.g.
                     --splicefs-args="--threads 2" (recorded in the report's command line)
  --profile SYSTEM   perf profile of that server (e.g. splicefs-splice) during an extra run of a
  --keep-files       keep the test files in ${BASE} for the next run
  -h, --help         this text
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
  help: { type: 'boolean', short: 'h', default: false }
}

/** Items of a comma list, each checked against `known`, in known's (canonical) order. */
function list (s, known, what) {
  const items = s.split(',').map((x) => x.trim()).filter(Boolean)
  for (const x of items) if (!known.includes(x)) die(`unknown ${what} "${x}"; known: ${known.join(', ')}`)
  return known.filter((k) => items.includes(k))
}

function num (s, name, { min = 0, int = false } = {}) {
  const v = Number(s)
  if (!Number.isFinite(v) || v < min || (int && !Number.isInteger(v))) die(`--${name}: bad value "${s}"`)
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
function pickSystems (s, baseline) {
  if (!s) return systemOrder()
  const picked = list(s, systemOrder(), 'system')
  const twins = baseline ? picked.filter((n) => SYSTEMS[n].kind === 'splicefs' && !SYSTEMS[n].baseline).map((n) => baselineName(SYSTEMS[n].mode)) : []
  return systemOrder().filter((n) => picked.includes(n) || twins.includes(n))
}

/** Report and chart paths (the chart next to the report unless --chart); --quick keeps off the committed ones. */
function outputPaths (parsed) {
  const out = path.resolve(parsed.out || (parsed.quick ? QUICK_REPORT : COMMITTED_REPORT))
  const chart = path.resolve(parsed.chart || path.join(path.dirname(out), path.basename(out, path.extname(out)).toLowerCase() + '.svg'))
  if (parsed.quick && (out === COMMITTED_REPORT || chart === COMMITTED_CHART)) {
    die(`--quick never writes over the committed ${path.relative(process.cwd(), out === COMMITTED_REPORT ? out : chart)}: give another --out/--chart`)
  }
  return { out, chart }
}

function parseCli () {
  let parsed
  try {
    parsed = parseArgs({ options: OPTIONS, allowPositionals: false }).values
  } catch (err) {
    die(`${err.message}\n\n${USAGE}`)
  }
  if (parsed.help) {
    process.stdout.write(USAGE)
    process.exit(0)
  }
  const baseline = useBaseline(parsed.baseline)
  const wl = parsed.workloads && parsed.workloads.split(',').flatMap((x) => (x.trim() === 'seed' ? SEED_WORKLOADS : [x])).join(',')
  const workloads = wl ? list(wl, WORKLOAD_ORDER, 'workload') : parsed.quick ? ['a', 'b1M'] : MAIN_WORKLOADS
  const systems = pickSystems(parsed.systems, baseline)
  const runs = parsed.runs ? num(parsed.runs, 'runs', { min: 1, int: true }) : 3
  const runtime = parsed.runtime ? num(parsed.runtime, 'runtime', { min: 1, int: true }) : 10
  const warmupRuntime = parsed['warmup-runtime'] ? num(parsed['warmup-runtime'], 'warmup-runtime', { min: 1, int: true }) : Math.min(3, runtime)
  const seedRuntime = parsed['seed-runtime'] ? num(parsed['seed-runtime'], 'seed-runtime', { min: 1, int: true }) : 5
  const fileGiB = parsed['file-gib'] ? num(parsed['file-gib'], 'file-gib', { min: 0.125 }) : parsed.quick ? 1 : 2
  const bigSize = Math.round((fileGiB * GiB) / MiB) * MiB
  const cSize = Math.min(bigSize, GiB)
  if (!workloads.length) die('no workload selected')
  if (!systems.length) die('no system selected')
  if (parsed['splicefs-args']) setSplicefsExtra(parsed['splicefs-args'].split(/\s+/).filter(Boolean))
  const mainWorkloads = workloads.filter((w) => !WORKLOADS[w].seed)
  const seedWorkloads = workloads.filter((w) => WORKLOADS[w].seed)
  // Seed writes: files small enough that a slow server's run stays a few seconds past its time.
  const seedWriteSize = 256 * MiB
  return { ...parsed, ...outputPaths(parsed), baseline, workloads, mainWorkloads, seedWorkloads, systems, runs, runtime, warmupRuntime, seedRuntime, seedWriteSize, bigSize, cSize }
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

/** setup.sh (peers), then what the run needs from this machine. */
function prepareMachine (cfg, ctx) {
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
  ctx.checkouts = { current: checkoutInfo(ROOT), baseline: cfg.baseline ? checkoutInfo(cfg.baseline) : null }
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

async function main () {
  const cfg = parseCli()
  if (process.getuid && process.getuid() !== 0) die('must run as root (drop_caches, mount)')
  const helpers = mountHelpersError()
  if (helpers) die(helpers)
  const ctx = { systems: {}, setupNotes: [], clkTck: 100, command: commandLine(), date: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }
  installCleanup()
  prepareMachine(cfg, ctx)

  log(`workloads ${[...cfg.mainWorkloads, ...(cfg.seedWorkloads.length ? [`${cfg.seedWorkloads.length} seed-matrix cells`] : [])].join(',')}; systems ${cfg.systems.join(',')}; ${cfg.runs} runs + 1 warm-up; file ${fmtSize(cfg.bigSize)}` +
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
