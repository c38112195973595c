// Paths, units and the small helpers every part of the benchmark uses.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..') // benchmarks/
export const ROOT = path.resolve(HERE, '..')
export const WORK = path.join(HERE, '.work')
export const LOGS = path.join(WORK, 'logs')
// SPLICEFS_BENCH_DIR: another tmpfs directory, so that two benches on one machine do not share
// files and mountpoint.
export const BASE = process.env.SPLICEFS_BENCH_DIR ? path.resolve(process.env.SPLICEFS_BENCH_DIR) : '/dev/shm/splicefs-bench'
export const SRC = path.join(BASE, 'src')
export const MNT = path.join(BASE, 'mnt')
export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB
const T0 = Date.now()

// What messages start with: "bench" from a checkout (npm run bench), "splicefs bench" from the
// installed command.
let prog = 'bench'
export function setProg (name) {
  prog = name
}

/** One line on stderr, exit 1: for whatever stops the run before it starts. */
export function die (msg, code = 1) {
  process.stderr.write(`${prog}: ${msg}\n`)
  process.exit(code)
}

/** A usage error (a bad option or value): one line, exit 2 like splicefs's own usage errors. */
export function usageError (msg) {
  die(msg, 2)
}

/** Whether an executable of this name is on PATH (looked up as execvp does, without a shell). */
export function onPath (name) {
  for (const dir of (process.env.PATH || '').split(':')) {
    if (!dir) continue
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK)
      return true
    } catch {}
  }
  return false
}

export function log (msg) {
  const t = ((Date.now() - T0) / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[bench ${t}s] ${msg}\n`)
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
export const fmtSize = (n) => (n % GiB === 0 ? `${n / GiB} GiB` : n % MiB === 0 ? `${n / MiB} MiB` : `${n} B`)
export const tail = (s, n = 8) => s.trim().split('\n').slice(-n).join('\n')

export function median (xs) {
  const v = [...xs].sort((x, y) => x - y)
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

/** Nested objects as one level of dotted keys ({read: {ops: 1}} -> {'read.ops': 1}). */
export function flatten (obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out)
    else out[key] = v
  }
  return out
}

/** The JSON object in a server's stdout: the whole text, its last JSON line, or its outer braces. */
export function parseJsonObject (text) {
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
