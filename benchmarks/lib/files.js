// Test files on tmpfs and their checksums. Content: word i of a file is
// (i * 2654435761 + seed) mod 2^32, so a read at a wrong offset, a short read or a stale page
// shows up in the checksum. Reused between runs when size and pattern version match (a marker
// file written last says so).

import fs from 'node:fs'
import path from 'node:path'
import { BASE, SRC, MNT, MiB, GiB, die, log, fmtSize, tail } from './common.js'
import { runChild } from './proc.js'
import { abortMntConnection } from './mounts.js'
import { WORKLOADS, META_FILES } from './workloads.js'
import { spawnSync } from 'node:child_process'

const PATTERN_VERSION = 1
const ODD_SIZE = 3 * MiB + 4097 // not a multiple of a page: exercises the short READ at EOF

/** The files the byte check hashes (in SRC and through each mount). */
export const CHECKED_FILES = ['big.bin', 'odd.bin']

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

const markerOf = (name) => path.join(SRC, `.${name}.ok`)
const markerText = (s) => `${PATTERN_VERSION} ${s.size} ${s.seed}`

/** Dies when /dev/shm cannot hold the missing files plus what the workloads write. */
function checkRoom (cfg, missing) {
  const st = fs.statfsSync(BASE)
  const free = st.bavail * st.bsize
  const seedWrites = cfg.seedWorkloads.some((w) => WORKLOADS[w].write) ? 4 * cfg.seedWriteSize : 0
  const headroom = (cfg.workloads.includes('f') ? cfg.cSize : 0) + seedWrites + 256 * MiB
  if (free < missing + headroom) die(`not enough room on /dev/shm: need ${fmtSize(missing + headroom)}, ${(free / GiB).toFixed(1)} GiB free`)
}

export function prepareFiles (cfg) {
  fs.mkdirSync(SRC, { recursive: true })
  fs.mkdirSync(MNT, { recursive: true })
  const specs = fileSpecs(cfg)
  let missing = 0
  for (const s of specs) {
    const file = path.join(SRC, s.name)
    let ok = false
    try { ok = fs.readFileSync(markerOf(s.name), 'utf8') === markerText(s) && fs.statSync(file).size === s.size } catch {}
    if (!ok) missing += s.size
    s.ok = ok
  }
  if (cfg.workloads.some((w) => WORKLOADS[w].meta)) prepareMetaTar()
  if (missing) {
    checkRoom(cfg, missing)
    log(`writing ${(missing / GiB).toFixed(2)} GiB of test files to ${SRC}`)
  }
  for (const s of specs) {
    if (s.ok) continue
    try { fs.unlinkSync(markerOf(s.name)) } catch {}
    writePatternFile(path.join(SRC, s.name), s.size, s.seed)
    fs.writeFileSync(markerOf(s.name), markerText(s))
  }
  return specs
}

// ---- the metadata workload's tree, as one tar on tmpfs outside the source ----------------------

export const META_TAR = path.join(BASE, `meta-${META_FILES}.tar`)
const META_TOP = 20
const META_SUB = 10
/** Entries find lists under the unpacked root: the files, the directories and the root itself. */
export const META_ENTRIES = META_FILES + META_TOP + META_TOP * META_SUB + 1
const META_VERSION = 1

/** Makes META_TAR once (reused while its marker matches): META_FILES files of 0-4 KiB. */
export function prepareMetaTar () {
  const marker = `${META_TAR}.ok`
  const want = `${META_VERSION} ${META_FILES}`
  try { if (fs.readFileSync(marker, 'utf8') === want && fs.existsSync(META_TAR)) return } catch {}
  try { fs.unlinkSync(marker) } catch {}
  const gen = path.join(BASE, 'meta-gen')
  fs.rmSync(gen, { recursive: true, force: true })
  log(`writing the metadata workload's tar (${META_FILES} small files) to ${META_TAR}`)
  const perDir = META_FILES / (META_TOP * META_SUB)
  const buf = Buffer.alloc(4096)
  for (let i = 0; i < buf.length; i++) buf[i] = 32 + ((i * 31) % 95)
  let n = 0
  for (let a = 0; a < META_TOP; a++) {
    for (let b = 0; b < META_SUB; b++) {
      const d = path.join(gen, 'tree', `d${a}`, `s${b}`)
      fs.mkdirSync(d, { recursive: true })
      for (let k = 0; k < perDir; k++, n++) {
        const size = (Math.imul(n, 2654435761) >>> 0) % 4097
        fs.writeFileSync(path.join(d, `f${k}.txt`), buf.subarray(0, size))
      }
    }
  }
  const r = spawnSync('tar', ['cf', `${META_TAR}.tmp`, '-C', path.join(gen, 'tree'), '.'], { encoding: 'utf8' })
  fs.rmSync(gen, { recursive: true, force: true })
  if (r.status !== 0) die(`cannot make ${META_TAR}: ${tail(r.stderr || '', 2)}`)
  fs.renameSync(`${META_TAR}.tmp`, META_TAR)
  fs.writeFileSync(marker, want)
}

export function removeFiles () {
  // Every name this bench ever writes, also those of an earlier --keep-files run.
  for (const name of ['big.bin', 'odd.bin', 'c.0', 'c.1', 'c.2', 'c.3']) {
    for (const f of [name, `.${name}.ok`, `${name}.tmp`]) try { fs.unlinkSync(path.join(SRC, f)) } catch {}
  }
  for (const f of ['f.bin', 'sw.0', 'sw.1', 'sw.2', 'sw.3']) try { fs.unlinkSync(path.join(SRC, f)) } catch {}
  for (const f of [META_TAR, `${META_TAR}.ok`, `${META_TAR}.tmp`]) try { fs.unlinkSync(f) } catch {}
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

/** {hashes: {basename: hex}} or {error, hang?}. onFuse: the files are on MNT (abort if stuck). */
export async function sha256 (files, timeoutMs, onFuse = false) {
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
