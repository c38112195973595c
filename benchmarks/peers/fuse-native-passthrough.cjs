#!/usr/bin/env node
// Minimal read-only passthrough on fuse-native (libfuse 2, bundled), the "a Node
// user would pick this" peer of the splicefs benchmark.
//
//   node fuse-native-passthrough.cjs SOURCE MOUNTPOINT
//
// Resolves fuse-native from FUSE_NATIVE_DIR (the benchmark's own install prefix,
// benchmarks/.work/fuse-native) so the package never becomes a project dependency.
// Prints "mounted" on stderr when the kernel mount is up; SIGTERM/SIGINT unmount and exit 0.
'use strict'

const fs = require('fs')
const path = require('path')
const { createRequire } = require('module')

const prefix = process.env.FUSE_NATIVE_DIR || path.join(__dirname, '..', '.work', 'fuse-native')
const Fuse = createRequire(path.join(prefix, 'package.json'))('fuse-native')

const [source, mountpoint] = process.argv.slice(2)
if (!source || !mountpoint) {
  process.stderr.write('usage: fuse-native-passthrough.cjs SOURCE MOUNTPOINT\n')
  process.exit(2)
}
const root = path.resolve(source)

// fuse-native wants negative errno values; Node's err.errno is already negative.
const errno = (err) => (err && typeof err.errno === 'number' ? -Math.abs(err.errno) : Fuse.EIO)
const real = (p) => path.join(root, p)

const ops = {
  getattr (p, cb) {
    fs.lstat(real(p), (err, st) => (err ? cb(errno(err)) : cb(0, st)))
  },
  readdir (p, cb) {
    fs.readdir(real(p), (err, names) => (err ? cb(errno(err)) : cb(0, names)))
  },
  open (p, flags, cb) {
    // Read-only mirror: refuse any open for writing.
    if ((flags & 3) !== fs.constants.O_RDONLY) return cb(Fuse.EROFS)
    fs.open(real(p), fs.constants.O_RDONLY, (err, fd) => (err ? cb(errno(err)) : cb(0, fd)))
  },
  read (p, fd, buf, len, pos, cb) {
    // The callback's first argument is the byte count (or a negative errno).
    fs.read(fd, buf, 0, len, pos, (err, n) => cb(err ? errno(err) : n))
  },
  release (p, fd, cb) {
    fs.close(fd, (err) => cb(err ? errno(err) : 0))
  },
  statfs (p, cb) {
    fs.statfs(real(p), (err, s) => {
      if (err) return cb(errno(err))
      cb(0, {
        bsize: s.bsize,
        frsize: s.bsize,
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        favail: s.ffree,
        namemax: 255
      })
    })
  }
}

const fuse = new Fuse(mountpoint, ops, { fsname: root, subtype: 'fuse-native-passthrough', force: true })

let stopping = false
function stop (sig) {
  if (stopping) return
  stopping = true
  fuse.unmount((err) => {
    if (err) {
      process.stderr.write(`fuse-native-passthrough: unmount failed on ${sig}: ${err.message}\n`)
      process.exit(1)
    }
    process.exit(0)
  })
}

fuse.mount((err) => {
  if (err) {
    process.stderr.write(`fuse-native-passthrough: mount failed: ${err.message}\n`)
    process.exit(1)
  }
  process.stderr.write(`fuse-native-passthrough: mounted ${root} on ${path.resolve(mountpoint)}\n`)
})
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
