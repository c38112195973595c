// Mounts, on splicefs's own helpers (src/mnt, built into dist/mnt): findMount and
// abortConnection from mountinfo.js, unmountPath from kernel.js. What is the bench's alone:
// mounting the fusectl filesystem when the system has not (abortConnection needs it), and
// running unmountPath in a child process with a time limit, so that an unmount stuck on a hung
// server is freed by aborting its connection instead of hanging the bench.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT, MNT, tail } from './common.js'
import { runChild } from './proc.js'

const DIST_MNT = path.join(ROOT, 'dist', 'mnt')
const KERNEL_URL = pathToFileURL(path.join(DIST_MNT, 'kernel.js')).href
const ADDON = path.join(ROOT, 'build', 'Release', 'splicefs.node')
const FUSECTL = '/sys/fs/fuse/connections'

let mountinfo = null
let loadError = null
try {
  mountinfo = await import(pathToFileURL(path.join(DIST_MNT, 'mountinfo.js')).href)
} catch (err) {
  loadError = err.message.split('\n')[0]
}

/** Why the bench cannot use splicefs's mount helpers (not built), or null. */
export function mountHelpersError () {
  const how = `run npm install (or npm run build) in ${ROOT}`
  const mountinfoJs = path.join(DIST_MNT, 'mountinfo.js')
  if (!fs.existsSync(mountinfoJs)) return `needs a built splicefs: ${path.relative(ROOT, mountinfoJs)} is missing; ${how}`
  if (loadError) return `needs a built splicefs: cannot load ${path.relative(ROOT, mountinfoJs)} (${loadError}); ${how}`
  if (!fs.existsSync(new URL(KERNEL_URL))) return `needs a built splicefs: dist/mnt/kernel.js is missing; ${how}`
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) return `needs a built splicefs: dist/cli.js is missing; ${how}`
  if (!fs.existsSync(ADDON)) return `needs a built splicefs: the addon ${path.relative(ROOT, ADDON)} is missing; ${how}`
  return null
}

/** The topmost mount at exactly this path ({major, minor, mountpoint, fstype, source}), or null. */
export function findMount (mountpoint) {
  return mountinfo.findMount(mountpoint) || null
}

let fusectlMounted = false // mounted by us only to abort a hung connection

/** Aborts a FUSE mount's connection so that every waiter on it fails at once (a hung server). */
export function abortFuseConnection (entry) {
  if (!entry || !entry.fstype.startsWith('fuse')) return false
  if (!fs.existsSync(path.join(FUSECTL, String(entry.minor))) && findMount(FUSECTL)?.fstype !== 'fusectl') {
    if (spawnSync('mount', ['-t', 'fusectl', 'fusectl', FUSECTL], { stdio: 'ignore' }).status === 0) fusectlMounted = true
  }
  return mountinfo.abortConnection(entry.minor)
}

/** Aborts the FUSE connection mounted at MNT, if any (a reader stuck on a hung server). */
export function abortMntConnection () {
  abortFuseConnection(findMount(MNT))
}

// unmountPath(argv[2]) of kernel.js (argv[1]); prints 'unmounted' or 'detached'.
const UNMOUNT_SCRIPT = `import(process.argv[1]).then((k) => process.stdout.write(k.unmountPath(process.argv[2])),
  (err) => { process.stderr.write(String(err && err.message || err)); process.exit(1) })`

/** unmountPath in a child: {how: 'unmounted'|'detached'} or {error}. */
async function unmount (mountpoint) {
  const r = await runChild(process.execPath, ['-e', UNMOUNT_SCRIPT, KERNEL_URL, mountpoint],
    { timeoutMs: 10000, onStuck: () => abortFuseConnection(findMount(mountpoint)) })
  if (r.code === 0) return { how: r.stdout.trim() }
  return { error: r.timedOut ? 'timed out after 10 s' : tail(r.stderr || `exit ${r.code ?? r.signal}`, 1) }
}

function unmountSync (mountpoint) {
  spawnSync(process.execPath, ['-e', UNMOUNT_SCRIPT, KERNEL_URL, mountpoint], { stdio: 'ignore', timeout: 10000 })
}

/**
 * Unmounts whatever is at `mountpoint`, forcefully if needed: a plain unmount first; a busy
 * mount is detached and its connection aborted; a failed unmount is retried after aborting
 * the connection. Returns notes on what it took.
 */
export async function forceUnmount (mountpoint, why) {
  const notes = []
  for (let i = 0; i < 4 && findMount(mountpoint); i++) {
    const m = findMount(mountpoint)
    if (i > 0) abortFuseConnection(m)
    const r = await unmount(mountpoint)
    if (r.how === 'detached') abortFuseConnection(m) // open files would keep a dead server's connection
    const what = r.how === 'detached' ? 'busy: detached, connection aborted' : r.how || `unmount failed: ${r.error}`
    notes.push(`${why}: ${i > 0 ? 'connection aborted, ' : ''}${what}`)
  }
  return notes
}

/** For the exit path (synchronous): abort and unmount whatever is at `mountpoint`. */
export function emergencyUnmount (mountpoint) {
  if (!mountinfo) return
  const m = findMount(mountpoint)
  if (!m) return
  abortFuseConnection(m)
  unmountSync(mountpoint)
}

export function unmountFusectl () {
  if (fusectlMounted) unmountSync(FUSECTL)
  fusectlMounted = false
}

/** A /proc/sys number (readSysctl of src/mnt), or null where the file is missing. */
export function sysctl (file) {
  return mountinfo.readSysctl(file, null)
}
