// Workloads (the protocol: benchmarks/README.md) as fio arguments. `desc`: the fio essentials
// (the report's table); `title`: what the workload does, in words (the chart's panel titles).
// `file`: big = the one large file, c = c.0..c.3, f = written, sw = the seed matrix's write files.


export const WORKLOADS = {
  a: {
    desc: 'sequential read, buffered, bs=1M, psync, 1 job (headline)',
    title: 'sequential 1 MiB buffered reads, 1 job',
    buffered: true,
    file: 'big',
    fio: (c) => ['--rw=read', '--bs=1M', '--ioengine=psync', '--direct=0', `--size=${c.bigSize}`]
  },
  b1M: {
    desc: 'sequential read, O_DIRECT, bs=1M, psync',
    title: 'sequential 1 MiB O_DIRECT reads, 1 job',
    file: 'big',
    fio: (c) => ['--rw=read', '--bs=1M', '--ioengine=psync', '--direct=1', `--size=${c.bigSize}`]
  },
  b128k: {
    desc: 'sequential read, O_DIRECT, bs=128k, psync',
    title: 'sequential 128 KiB O_DIRECT reads, 1 job',
    file: 'big',
    fio: (c) => ['--rw=read', '--bs=128k', '--ioengine=psync', '--direct=1', `--size=${c.bigSize}`]
  },
  c: {
    desc: 'sequential read, buffered, bs=1M, 4 jobs on 4 files',
    title: 'sequential 1 MiB buffered reads, 4 jobs on 4 files',
    buffered: true,
    file: 'c',
    fio: (c) => ['--rw=read', '--bs=1M', '--ioengine=psync', '--direct=0', '--numjobs=4', `--size=${c.cSize}`]
  },
  d: {
    desc: 'random read, O_DIRECT, bs=4k, psync, time based',
    title: 'random 4 KiB O_DIRECT reads, 1 job, one at a time',
    timeBased: true,
    file: 'big',
    fio: (c) => ['--rw=randread', '--bs=4k', '--ioengine=psync', '--direct=1', `--size=${c.bigSize}`]
  },
  e: {
    desc: 'random read, O_DIRECT, bs=4k, libaio iodepth=16, time based',
    title: 'random 4 KiB O_DIRECT reads, libaio, 16 in flight',
    timeBased: true,
    file: 'big',
    fio: (c) => ['--rw=randread', '--bs=4k', '--ioengine=libaio', '--iodepth=16', '--direct=1', `--size=${c.bigSize}`]
  },
  f: {
    desc: 'sequential write, buffered, bs=1M, end_fsync=1',
    title: 'sequential 1 MiB buffered writes, fsync at the end',
    buffered: true,
    write: true,
    file: 'f',
    fio: (c) => ['--rw=write', '--bs=1M', '--ioengine=psync', '--direct=0', '--end_fsync=1', `--size=${c.cSize}`]
  }
}
export const MAIN_WORKLOADS = Object.keys(WORKLOADS)

// The seed matrix: the fio table of the virtio-fs DAX patch series ("[PATCH 00/20] virtiofs:
// Add DAX support", Vivek Goyal, March 2020): {seqread, randread, seqwrite, randwrite} x
// {psync, libaio, mmap} x {1 job, 4 jobs on 4 files}, bs=4k, iodepth=16 for libaio, buffered
// as in the seed's fio jobs, time based. Ids follow the seed's names:
// seed-seqread-psync, seed-seqread-psync-multi, ... `--workloads seed` selects all 24.
// Reads use the files of a (1 job) and c (4 jobs); writes go to their own sparse files (sw.N),
// made before each run and removed after the cell, so the read files stay intact.
const SEED_OPS = ['seqread', 'randread', 'seqwrite', 'randwrite']
const SEED_ENGINES = ['psync', 'libaio', 'mmap']
export const SEED_WORKLOADS = []
for (const op of SEED_OPS) {
  for (const engine of SEED_ENGINES) {
    for (const multi of [false, true]) {
      const id = `seed-${op}-${engine}${multi ? '-multi' : ''}`
      const write = op.endsWith('write')
      const rw = { seqread: 'read', randread: 'randread', seqwrite: 'write', randwrite: 'randwrite' }[op]
      WORKLOADS[id] = {
        desc: `seed matrix: ${op}, ${engine}, ${multi ? '4 jobs on 4 files' : '1 job'}, bs=4k${engine === 'libaio' ? ', iodepth=16' : ''}, buffered, time based`,
        seed: true,
        buffered: true,
        timeBased: true,
        write,
        file: write ? 'sw' : multi ? 'c' : 'big',
        jobs: multi ? 4 : 1,
        fio: (c) => [`--rw=${rw}`, '--bs=4k', `--ioengine=${engine}`, ...(engine === 'libaio' ? ['--iodepth=16'] : []), '--direct=0',
          ...(multi ? ['--numjobs=4'] : []), `--size=${write ? c.seedWriteSize : multi ? c.cSize : c.bigSize}`]
      }
      SEED_WORKLOADS.push(id)
    }
  }
}
// The metadata workload (not fio): a tar of META_FILES small files (0-4 KiB, in 20 × 10
// directories) is unpacked onto the mount (tar xf, then syncfs), walked (find, a stat of every
// entry), and removed (rm -rf), each phase timed; the caches are dropped before each phase, so
// every lookup reaches the server. The tar lives on tmpfs outside the source (files.js).
export const META_FILES = 20000
WORKLOADS.meta = {
  desc: `metadata: untar ${META_FILES.toLocaleString('en')} small files (tar xf + syncfs), find (stat of every entry), rm -rf; each phase timed, cold caches before each`,
  title: `untar, find, rm -rf of ${META_FILES.toLocaleString('en')} small files`,
  meta: true,
  write: true,
  file: 'meta'
}
export const META_WORKLOADS = ['meta']
export const META_PHASES = ['untar', 'find', 'rm']

export const WORKLOAD_ORDER = [...MAIN_WORKLOADS, ...SEED_WORKLOADS, ...META_WORKLOADS]
