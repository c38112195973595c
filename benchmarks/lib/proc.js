// Child processes the bench starts (always killable, never able to hang the bench) and what
// /proc says about a server process.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { ROOT, MiB } from './common.js'

/** A cell or check that hung (a FUSE server stopped answering): the system is abandoned. */
export class HangError extends Error {}

/** Children we started and must kill if the bench itself is stopped. */
export const liveChildren = new Set()

export function killLiveChildren () {
  for (const c of liveChildren) try { c.kill('SIGKILL') } catch {}
}

/** Runs a command, collects its output, kills it (SIGKILL) after timeoutMs. */
export function runChild (cmd, args, { timeoutMs = 0, cwd = ROOT, env, onStuck } = {}) {
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

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat), or null. */
export function readCpuTicks (pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return Number(rest[11]) + Number(rest[12])
  } catch {
    return null
  }
}

/** A "Key: N kB" line of /proc/PID/status (VmHWM, VmRSS), or null. */
export function readStatusKiB (pid, key) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

// No sync first: the pages that matter (a FUSE file's, read back clean) drop without one,
// tmpfs pages never drop, and a sync can block on anybody's hung filesystem.
export function dropCaches () {
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3')
}
