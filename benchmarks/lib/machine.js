// What a run ran on: the machine, the tools, the checkouts, the command line.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { HERE, WORK, GiB } from './common.js'
import { sysctl } from './mounts.js'

const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}
const read = (f) => { try { return fs.readFileSync(f, 'utf8').trim() } catch { return null } }

// A VM whose freed memory goes back to the host pays faults to touch it again: every
// drop_caches frees the FUSE page cache, so this is a source of run-to-run noise.
function pageReporting () {
  const dir = '/sys/module/page_reporting/parameters'
  try {
    return fs.readdirSync(dir).filter((k) => k !== 'reported_kib' && k !== 'walked' && k !== 'passes')
      .map((k) => `${k}=${read(path.join(dir, k))}`).join(' ')
  } catch { return null }
}

/** "libfuse 3.19.0 (libfuse-e8d407c)" of the passthrough_hp setup.sh built, or null. */
function passthroughHpVersion () {
  let bin
  try { bin = fs.realpathSync(path.join(WORK, 'passthrough_hp')) } catch { return null }
  const dir = path.resolve(path.dirname(bin), '..', '..') // .work/libfuse-COMMIT/build/example/
  const m = (read(path.join(dir, 'meson.build')) || '').match(/version\s*:\s*'([^']+)'/)
  return `libfuse ${m ? m[1] : '?'} (${path.basename(dir)})`
}

export function machineInfo () {
  const cpuModel = (read('/proc/cpuinfo') || '').match(/^model name\s*:\s*(.*)$/m)
  const dpkgVersion = (p) => sh('dpkg-query', ['-W', '-f=${Version}', p])
  let fuseNative = null
  try { fuseNative = JSON.parse(fs.readFileSync(path.join(WORK, 'fuse-native', 'node_modules', 'fuse-native', 'package.json'), 'utf8')).version } catch {}
  return {
    nproc: sh('nproc', []) || String(os.cpus().length),
    memGiB: (os.totalmem() / GiB).toFixed(1),
    kernel: os.release(),
    cpu: cpuModel ? cpuModel[1] : os.cpus()[0]?.model,
    node: process.version,
    fio: sh('fio', ['--version']),
    bindfs: dpkgVersion('bindfs'),
    gofuse: dpkgVersion('golang-github-hanwen-go-fuse-dev'),
    go: dpkgVersion('golang-go'),
    fuseNative,
    passthroughHp: passthroughHpVersion(),
    maxPagesLimit: sysctl('/proc/sys/fs/fuse/max_pages_limit'),
    pipeMaxSize: sysctl('/proc/sys/fs/pipe-max-size'),
    enableUring: read('/sys/module/fuse/parameters/enable_uring'),
    thp: read('/sys/kernel/mm/transparent_hugepage/enabled'),
    pageReporting: pageReporting(),
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' ')
  }
}

/** A checkout as the report names it: "9a12186 subject" (+ " (uncommitted changes)"), or null. */
export function checkoutInfo (dir) {
  // An installed package (node_modules/splicefs) is no checkout, even inside someone's repository.
  const top = sh('git', ['-C', dir, 'rev-parse', '--show-toplevel'])
  let real = dir
  try { real = fs.realpathSync(dir) } catch {}
  if (!top || path.resolve(top) !== real) return null
  const head = sh('git', ['-C', dir, 'log', '-1', '--format=%h %s'])
  if (!head) return null
  const dirty = sh('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'])
  return `${head}${dirty ? ' (uncommitted changes)' : ''}`
}

/** The command that started this run (its options: argv), as a person would retype it. */
export function commandLine (argv, prog) {
  const q = (a) => (/^[\w./=,:+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)
  const args = argv.map(q).join(' ')
  if (prog === 'splicefs bench') return `splicefs bench${args ? ' ' + args : ''}`
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ' -- ' + args : ''}`
  return `node ${path.relative(process.cwd(), path.join(HERE, 'bench.js')) || 'benchmarks/bench.js'}${args ? ' ' + args : ''}`
}
