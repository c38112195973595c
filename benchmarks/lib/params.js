// Kernel parameters a system needs for its run only (passthrough_hp's io_uring mode:
// /sys/module/fuse/parameters/enable_uring = 1), always put back: after the system, and on any
// exit of the bench (restoreAllParams from its exit handler).

import fs from 'node:fs'

const saved = new Map() // file -> value before we changed it

const read = (file) => fs.readFileSync(file, 'utf8').trim()

/** Sets each file to its value, remembering the old one. Returns notes; throws if one cannot be set. */
export function setParams (params) {
  const notes = []
  for (const [file, value] of Object.entries(params || {})) {
    const before = read(file)
    if (!saved.has(file)) saved.set(file, before)
    fs.writeFileSync(file, value)
    notes.push(`${file}: ${before} -> ${read(file)} for this system's run (put back after)`)
  }
  return notes
}

/** Puts back what setParams changed. Returns notes of what could not be put back. */
export function restoreParams (params) {
  const notes = []
  for (const file of Object.keys(params || {})) {
    if (!saved.has(file)) continue
    try {
      fs.writeFileSync(file, saved.get(file))
      saved.delete(file)
    } catch (err) {
      notes.push(`could not put back ${file} (${saved.get(file)}): ${err.message}`)
    }
  }
  return notes
}

/** For the exit path: every parameter still changed goes back. */
export function restoreAllParams () {
  for (const [file, value] of saved) try { fs.writeFileSync(file, value) } catch {}
  saved.clear()
}
