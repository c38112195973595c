// One system: mount, check bytes, every workload, unmount (always).

import fs from 'node:fs'
import path from 'node:path'
import { SRC, MNT, MiB, GiB, log, tail } from './common.js'
import { runChild, HangError, readCpuTicks, dropCaches } from './proc.js'
import { findMount, forceUnmount, abortMntConnection } from './mounts.js'
import { launchServer, waitMounted, stopServer } from './servers.js'
import { CHECKED_FILES, sha256, META_TAR, META_ENTRIES } from './files.js'
import { fioArgs, runFio } from './fio.js'
import { profileServer } from './profile.js'
import { SYSTEMS, unavailableReason, fdLimitNote } from './systems.js'
import { setParams, restoreParams } from './params.js'
import { WORKLOADS, META_PHASES } from './workloads.js'

/** Starts the server of `name` on MNT and waits until a stat through the mount answers. */
async function startServer (name, info) {
  if (findMount(MNT)) info.notes.push(...(await forceUnmount(MNT, 'stale mount before start')))
  const srv = launchServer(name)
  info.server = srv
  info.commandLine = srv.commandLine
  log(`${name}: starting ${srv.commandLine}`)
  return srv
}

async function whenMounted (srv) {
  await waitMounted(srv)
  log(`${srv.name}: mounted in ${srv.mountMs} ms (${srv.mount && srv.mount.fstype}, pid ${srv.pid})`)
  srv.cpuTicksStart = readCpuTicks(srv.pid)
  const probe = await runChild('stat', ['-c', '%s', path.join(MNT, 'big.bin')], { timeoutMs: 15000 })
  if (probe.timedOut) throw new HangError('stat of big.bin through the mount hung for 15 s')
  if (probe.code !== 0) throw new Error(`stat of big.bin through the mount failed: ${tail(probe.stderr, 2)}`)
}

/** The byte check, once per system: sha256 of CHECKED_FILES in `dir` against the source's. */
async function checkBytes (dir, cfg, ctx) {
  const got = await sha256(CHECKED_FILES.map((f) => path.join(dir, f)), Math.max(120000, (cfg.bigSize / (20 * MiB)) * 1000), dir === MNT)
  if (got.hang) throw new HangError(got.error)
  if (got.error) return { ok: false, text: got.error }
  const bad = Object.keys(ctx.sourceHashes).filter((f) => got.hashes[f] !== ctx.sourceHashes[f])
  if (!bad.length) return { ok: true, text: 'sha256 of big.bin and odd.bin match the source' }
  const what = bad.map((f) => `${f} (got ${got.hashes[f]?.slice(0, 16)}…, want ${ctx.sourceHashes[f].slice(0, 16)}…)`)
  return { ok: false, wrong: true, text: `WRONG BYTES in ${what.join(', ')}` }
}

const writeFiles = (w, dir) => (w.file === 'f' ? [path.join(dir, 'f.bin')] : w.file === 'sw' ? Array.from({ length: w.jobs }, (_, j) => path.join(dir, `sw.${j}`)) : [])

/**
 * Before each run of a write workload: f starts with no file; the seed writes get fresh sparse
 * files of the full size, so fio writes without laying them out first. Returns an error text.
 */
async function freshWriteFiles (w, dir, cfg) {
  const files = writeFiles(w, dir)
  if (!files.length) return null
  const rm = await runChild('rm', ['-f', ...files], { timeoutMs: 30000 })
  if (rm.timedOut) throw new HangError(w.file === 'f' ? 'rm of f.bin through the mount hung' : 'making the seed write files through the mount hung')
  if (w.file !== 'sw') return null
  const r = await runChild('truncate', ['-s', String(cfg.seedWriteSize), ...files], { timeoutMs: 30000 })
  if (r.timedOut) throw new HangError('making the seed write files through the mount hung')
  return r.code !== 0 ? `cannot make the write files: ${tail(r.stderr, 1)}` : null
}

/** One fio run with the server's CPU time around it: {mibps, cpuPerGiB}. */
async function measuredRun (wid, dir, cfg, warmup, srv, ctx) {
  if (WORKLOADS[wid].buffered) dropCaches()
  const before = srv ? readCpuTicks(srv.pid) : null
  const res = await runFio(wid, fioArgs(wid, dir, cfg, warmup), cfg)
  const after = srv ? readCpuTicks(srv.pid) : null
  const cpuSec = before != null && after != null ? (after - before) / ctx.clkTck : null
  return { mibps: res.bwBytes / MiB, cpuPerGiB: cpuSec != null ? cpuSec / (res.ioBytes / GiB) : null }
}

// ---- the metadata workload: untar, find, rm -rf, each phase timed ------------------------------


/** One timed step through the mount: seconds, or throws (HangError when it had to be killed). */
async function timedStep (what, cmd, args, timeoutMs) {
  const t0 = process.hrtime.bigint()
  const r = await runChild(cmd, args, { timeoutMs, onStuck: args.some((a) => a.startsWith(MNT)) ? abortMntConnection : null })
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.timedOut) throw new HangError(`${what} did not finish in ${timeoutMs / 1000} s (killed)`)
  // The first complaint says why (tar's last line only says that it failed).
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().split('\n')[0] || 'no message'}`)
  return { s, stdout: r.stdout }
}

/** One run of meta in `dir`: {untar, find, rm} in seconds. */
async function metaRun (dir) {
  const tree = path.join(dir, 'meta.tree')
  const limit = 600000
  await timedStep('removing a leftover meta.tree', 'rm', ['-rf', tree], limit)
  await timedStep('mkdir meta.tree', 'mkdir', [tree], 30000)
  dropCaches()
  // tar xf, then syncfs of the mount: the files have reached the server when the phase ends.
  const untar = await timedStep('tar xf', 'sh', ['-c', 'tar xf "$1" -C "$2" && sync -f "$2"', 'untar', META_TAR, tree], limit)
  dropCaches()
  const find = await timedStep('find', 'find', [tree, '-printf', '%s\n'], limit)
  const entries = find.stdout.split('\n').filter(Boolean).length
  if (entries !== META_ENTRIES) throw new Error(`find listed ${entries} entries, ${META_ENTRIES} expected`)
  dropCaches()
  const rm = await timedStep('rm -rf', 'rm', ['-rf', tree], limit)
  return { untar: untar.s, find: find.s, rm: rm.s }
}

async function runMetaCell (name, cell, { dir, cfg }) {
  cell.phases = Object.fromEntries(META_PHASES.map((p) => [p, []]))
  for (let k = 0; k <= cfg.runs; k++) {
    const warmup = k === 0
    const label = `${name} meta ${warmup ? 'warm-up' : `run ${k}/${cfg.runs}`}`
    let r
    try {
      r = await metaRun(dir)
    } catch (err) {
      cell.error = err.message
      log(`${label}: FAILED ${err.message}`)
      await runChild('rm', ['-rf', path.join(dir, 'meta.tree')], { timeoutMs: 120000 })
      if (err instanceof HangError) throw err
      break
    }
    if (warmup) cell.warmupPhases = r
    else for (const p of META_PHASES) cell.phases[p].push(r[p])
    log(`${label}: ${META_PHASES.map((p) => `${p} ${r[p].toFixed(2)} s`).join(', ')}`)
  }
}

/** A warm-up run and cfg.runs measured runs of one workload, into `cell`. */
async function runCell (name, wid, cell, { sys, dir, srv, cfg, ctx }) {
  const w = WORKLOADS[wid]
  if (w.write && !sys.writable) {
    cell.skipped = sys.readOnly || 'read-only'
    return
  }
  if (!w.write && sys.writesOnly) {
    cell.skipped = 'write mode: writes only'
    return
  }
  if (w.meta) return runMetaCell(name, cell, { dir, cfg })
  for (let k = 0; k <= cfg.runs; k++) {
    const warmup = k === 0
    const label = `${name} ${wid} ${warmup ? 'warm-up' : `run ${k}/${cfg.runs}`}`
    const writeError = await freshWriteFiles(w, dir, cfg)
    if (writeError) {
      cell.error = writeError
      break
    }
    let r
    try {
      r = await measuredRun(wid, dir, cfg, warmup, srv, ctx)
    } catch (err) {
      cell.error = err.message
      log(`${label}: FAILED ${err.message}`)
      if (err instanceof HangError) throw err
      break
    }
    if (warmup) cell.warmup = r.mibps
    else {
      cell.runs.push(r.mibps)
      if (r.cpuPerGiB != null) cell.cpuPerGiB.push(r.cpuPerGiB)
    }
    log(`${label}: ${r.mibps.toFixed(0)} MiB/s` + (r.cpuPerGiB != null ? `, server ${r.cpuPerGiB.toFixed(2)} CPU s/GiB` : ''))
  }
  const files = writeFiles(w, dir)
  if (files.length) await runChild('rm', ['-f', ...files], { timeoutMs: 30000 })
}

/** Stops the server and records how it went. */
async function finishServer (srv, info, sys) {
  await stopServer(srv)
  info.notes.push(...(srv.notes || []), ...srv.stop.notes)
  const exit = srv.stop.exit
  info.exit = exit
  if (sys.kind === 'splicefs' && exit && exit.code !== 0) info.notes.push(`exit status ${exit.code ?? exit.signal} (0 expected after SIGTERM)`)
  // A write mode is only what its counters say: --write-mode splice whose WRITEs all went by copy
  // measured the copy path.
  const c = srv.counters
  if (sys.mode === 'write-splice' && c && Number(c['write.copyBytes']) > 0 && !(Number(c['write.spliceBytes']) > 0)) {
    const n = `--write-mode splice, yet no WRITE went by splice (write.copyReplies=${c['write.copyReplies']}, write.spliceReplies=${c['write.spliceReplies'] ?? 0}): its write figures are of the copy path`
    info.notes.push(n)
    log(`${srv.name}: ${n}`)
  }
  // Kernel passthrough is only what its counters say: no passthrough open, or READs the
  // server answered, means the figures are (partly) of the server's own path.
  if (sys.mode === 'passthrough' && c) {
    const opens = Number(c['passthrough.opens'] ?? 0)
    const served = Number(c['read.spliceReplies'] ?? 0) + Number(c['read.copyReplies'] ?? 0)
    if (!(opens > 0) || served > 0) {
      const n = `NOT ALL IN KERNEL PASSTHROUGH: ${opens} passthrough opens, ${served} READs served by the server (fallbacks: ${Object.keys(c).filter((k) => k.startsWith('passthrough.fallbacks.') && Number(c[k]) > 0).map((k) => `${k.slice(22)} ${c[k]}`).join(', ') || 'none'})`
      info.notes.push(n)
      log(`${srv.name}: ${n}`)
    }
  }
  log(`${srv.name}: stopped (exit ${exit ? exit.code ?? exit.signal : '?'})${srv.stop.notes.length ? ': ' + srv.stop.notes.join('; ') : ''}`)
}

/** Runs every workload of cfg on system `name`; fills ctx.systems[name]. Never throws. */
export async function benchSystem (name, cfg, ctx) {
  const sys = SYSTEMS[name]
  const info = { name, kind: sys.kind, notes: [], cells: {} }
  ctx.systems[name] = info
  const why = unavailableReason(sys, ctx.peerStatus)
  if (why) {
    info.unavailable = why
    log(`${name}: skipped (${info.unavailable})`)
    return
  }
  let srv = null
  const dir = sys.kind === 'raw' ? SRC : MNT
  try {
    if (sys.kernelParams) for (const n of setParams(sys.kernelParams)) { info.notes.push(n); log(`${name}: ${n}`) }
    if (sys.kind !== 'raw') {
      const fdNote = fdLimitNote(sys)
      if (fdNote && cfg.metaWorkloads.length) info.notes.push(fdNote)
      srv = await startServer(name, info)
      await whenMounted(srv)
      for (const n of srv.modeNotes || []) { info.notes.push(n); log(`${name}: ${n}`) }
    }
    info.check = await checkBytes(dir, cfg, ctx)
    log(`${name}: bytes ${info.check.ok ? 'ok' : info.check.text}`)
    for (const wid of cfg.workloads) {
      const cell = { runs: [], cpuPerGiB: [], warmup: null }
      info.cells[wid] = cell
      await runCell(name, wid, cell, { sys, dir, srv, cfg, ctx })
    }
    if (cfg.profile && srv && name === cfg.profile && cfg.workloads.includes('a')) info.profile = await profileServer(srv, cfg)
  } catch (err) {
    info.error = err.message
    log(`${name}: FAILED: ${err.message.split('\n')[0]}`)
  } finally {
    if (srv) await finishServer(srv, info, sys)
    if (sys.kernelParams) info.notes.push(...restoreParams(sys.kernelParams))
    // A meta run that failed half-way (a server out of fds cannot remove it either) leaves its
    // tree in the source; it goes here, from the source itself, so the next system starts clean.
    if (cfg.metaWorkloads.length && !findMount(MNT)) fs.rmSync(path.join(SRC, 'meta.tree'), { recursive: true, force: true })
  }
}
