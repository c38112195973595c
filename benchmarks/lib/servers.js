// One server process: start it in the foreground, wait for its mount, stop it (always
// leaving MNT unmounted), and what it said on the way (splicefs's log lines and counters).

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT, LOGS, MNT, MiB, sleep, flatten, parseJsonObject } from './common.js'
import { liveChildren, readCpuTicks, readStatusKiB } from './proc.js'
import { findMount, abortFuseConnection, forceUnmount } from './mounts.js'
import { SYSTEMS } from './systems.js'

/** The command as a person would type it: node for this node, paths inside ROOT relative. */
function displayCommand (cmd, args) {
  const rel = (a) => (path.isAbsolute(a) && a.startsWith(ROOT + '/') ? path.relative(ROOT, a) : a)
  return [cmd === process.execPath ? 'node' : cmd, ...args].map(rel).join(' ')
}

/** Collects stderr lines: a tail for error messages, and splicefs's pino lines that matter. */
function watchStderr (srv, stream, logStream, isSplicefs) {
  let partial = ''
  stream.on('data', (d) => {
    logStream.write(d)
    const lines = (partial + d).split('\n')
    partial = lines.pop()
    for (const line of lines) {
      srv.stderrTail.push(line)
      if (srv.stderrTail.length > 40) srv.stderrTail.shift()
      // libfuse with FUSE_INIT_STATUS=1: what INIT negotiated, one capability a line.
      if (line.startsWith('FUSE_INIT: ')) srv.fuseInit.push(line.slice(11).trim())
      if (/fuse_passthrough_open failed|failed to start io-uring/.test(line) && srv.pthpFailures.length < 5) srv.pthpFailures.push(line.trim())
      if (!isSplicefs) continue
      let obj = null
      try { obj = JSON.parse(line) } catch {}
      if (!obj) continue
      if (obj.msg === 'mounted' && !srv.mountedLine) srv.mountedLine = obj
      if (typeof obj.level === 'number' && obj.level >= 50 && srv.errorLines.length < 20) srv.errorLines.push(line)
    }
  })
}

export function launchServer (name) {
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
    commandLine: displayCommand(cmd, args),
    logFile,
    stdout: '',
    stderrTail: [],
    errorLines: [],
    mountedLine: null,
    fuseInit: [],
    pthpFailures: [],
    exit: null,
    spawnError: null,
    closed: new Promise((resolve) => child.on('close', resolve))
  }
  child.stdout.on('data', (d) => { if (srv.stdout.length < 16 * MiB) srv.stdout += d })
  watchStderr(srv, child.stderr, logStream, sys.kind === 'splicefs')
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

/** Resolves once MNT is mounted (and splicefs has logged "mounted"); throws if it never is. */
export async function waitMounted (srv, timeoutMs = 20000) {
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
    const mounted = findMount(MNT) !== null
    if (mounted && !seenAt) seenAt = Date.now()
    if (mounted && (kind !== 'splicefs' || srv.mountedLine)) break
    if (mounted && kind === 'splicefs' && Date.now() - seenAt > 3000) {
      srv.notes = [...(srv.notes || []), 'mounted without a "mounted" log line within 3 s']
      break
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`not mounted after ${timeoutMs / 1000} s (${mounted ? 'in /proc/self/mountinfo, no "mounted" log line' : 'not in /proc/self/mountinfo'})${stderrNote(srv)}`)
    }
    await sleep(50)
  }
  srv.mount = findMount(MNT)
  srv.mountMs = Date.now() - t0
  srv.modeNotes = await modeNotes(srv)
}

/**
 * passthrough_hp: whether INIT gave it the mode it runs in (libfuse logs INIT's outcome with
 * FUSE_INIT_STATUS=1 once the mount is up: io_uring=on|off:WHY, FUSE_CAP_PASSTHROUGH).
 */
async function modeNotes (srv) {
  const mode = SYSTEMS[srv.name].pthpMode
  if (!mode) return []
  for (let i = 0; i < 40 && !srv.fuseInit.some((l) => l.startsWith('io_uring=')); i++) await sleep(50)
  const uring = srv.fuseInit.find((l) => l.startsWith('io_uring=')) || 'io_uring=? (no FUSE_INIT status lines)'
  const pt = srv.fuseInit.includes('FUSE_CAP_PASSTHROUGH')
  const notes = [`INIT: ${uring}, kernel passthrough ${pt ? 'negotiated' : 'not negotiated'}${mode === 'passthrough' ? '' : ' (not used: --nopassthrough)'}`]
  if (mode === 'uring' && uring !== 'io_uring=on') notes.push(`NOT IN io_uring MODE (${uring}): its figures are of the /dev/fuse transport`)
  if (mode === 'passthrough' && !pt) notes.push('NOT IN KERNEL PASSTHROUGH MODE (the kernel did not grant FUSE_CAP_PASSTHROUGH): every READ reaches the server')
  return notes
}

/** SIGTERM, then (after 10 s) an aborted connection and SIGKILL. Returns notes. */
async function terminate (srv, mount) {
  const notes = []
  srv.vmHWMKiB = readStatusKiB(srv.pid, 'VmHWM')
  srv.cpuTicksEnd = readCpuTicks(srv.pid)
  srv.child.kill('SIGTERM')
  const t0 = Date.now()
  while (!srv.exit && Date.now() - t0 < 10000) await sleep(50)
  if (!srv.exit) {
    notes.push('did not exit within 10 s of SIGTERM: connection aborted, SIGKILL')
    abortFuseConnection(mount)
    srv.child.kill('SIGKILL')
    const t1 = Date.now()
    while (!srv.exit && Date.now() - t1 < 5000) await sleep(50)
  }
  return notes
}

/** Stops a server, always leaving MNT unmounted. Fills srv.stop with what it saw. */
export async function stopServer (srv) {
  const mount = findMount(MNT) || srv.mount
  let notes = []
  if (!srv.exit) notes = await terminate(srv, mount)
  else if (!srv.diedEarly) notes.push(`server had exited on its own (${srv.exit.code ?? srv.exit.signal}) before the stop`)
  if (findMount(MNT)) notes.push('mount still there after the server stopped', ...(await forceUnmount(MNT, 'cleanup')))
  if (findMount(MNT)) notes.push(`STALE MOUNT REMAINS at ${MNT}`)
  await Promise.race([srv.closed, sleep(2000)])
  if (srv.pthpFailures.length) notes.push(`passthrough_hp said: ${srv.pthpFailures.join(' / ')}`)
  srv.stop = { exit: srv.exit, notes }
  if (SYSTEMS[srv.name].kind === 'splicefs') {
    const obj = parseJsonObject(srv.stdout)
    srv.counters = obj ? flatten(obj) : null
  }
}
