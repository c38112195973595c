// RESULTS.md: every section of the report, from the run's cells (ctx.systems) and config.

import os from 'node:os'
import path from 'node:path'
import { HERE, ROOT, SRC, median, fmtSize, flatten, tail } from './common.js'
import { WORKLOADS, META_PHASES } from './workloads.js'
import { SYSTEMS, baselineName } from './systems.js'
import { fmtMiB, cellText, rangeText, summaryOf, medianOf, bestPeerOf, table, metaText } from './summary.js'

function machineSection (ctx) {
  const m = ctx.machine
  const L = ['## Machine', '']
  L.push(`- ${m.nproc} cores, ${m.memGiB} GiB memory, CPU: ${m.cpu}`)
  L.push(`- kernel ${m.kernel}; fuse max_pages_limit ${m.maxPagesLimit ?? '?'}, pipe-max-size ${m.pipeMaxSize ?? '?'}, fuse enable_uring ${m.enableUring ?? '?'}`)
  if (m.thp) L.push(`- transparent hugepages: ${m.thp}${m.pageReporting ? `; free page reporting to the host is on (${m.pageReporting}): memory freed by drop_caches is handed back and faulted in again, a source of run-to-run noise` : ''}`)
  L.push(`- load average (1, 5, 15 min) at start: ${m.loadStart}; at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine shows here; the ratios come from one run)`)
  L.push(`- splicefs ${ctx.version ?? '?'}, ${ctx.checkouts?.current ? `checkout ${ctx.checkouts.current}` : `not a git checkout (${ROOT})`}`)
  L.push(`- Node ${m.node}, ${m.fio}; bindfs ${m.bindfs ?? 'not installed'}, go-fuse ${m.gofuse ?? 'not installed'} (Go ${m.go ?? '—'}), fuse-native ${m.fuseNative ?? 'not installed'}, passthrough_hp ${m.passthroughHp ?? 'not built'}`)
  L.push('')
  return L
}

function methodSection (cfg, ctx) {
  const timed = cfg.mainWorkloads.some((w) => WORKLOADS[w].timeBased)
  const L = ['## Method', '']
  L.push(`- Source files on tmpfs (${SRC}): one ${fmtSize(cfg.bigSize)} file for a, b, d, e` +
    (cfg.workloads.some((w) => WORKLOADS[w].file === 'c') ? `; 4 × ${fmtSize(cfg.cSize)} files for c` : '') +
    (cfg.workloads.includes('f') ? `; f writes ${fmtSize(cfg.cSize)}` : '') + '.')
  L.push('- fio, MiB/s from `bw_bytes` of its JSON output; each cell: 1 warm-up run (not counted' +
    (timed ? `, ${cfg.warmupRuntime} s for d and e` : '') +
    `), then ${cfg.runs} run${cfg.runs === 1 ? '' : 's'}, reported as median [min–max]` +
    (timed ? `; d and e run ${cfg.runtime} s each (time_based)` : '') + '.')
  L.push('- `echo 3 > /proc/sys/vm/drop_caches` before every buffered run (a, c, f), so the FUSE page cache is cold and every byte reaches the server.')
  L.push('- Bytes checked once per system: sha256 of big.bin and of odd.bin (3 MiB + 4097 bytes, a short read at EOF) through the mount against the source.')
  L.push('- Server CPU = utime+stime of the server process from /proc/PID/stat before and after each run, divided by the GiB fio read.')
  if (cfg.workloads.some((w) => WORKLOADS[w].write) && cfg.systems.some((s) => SYSTEMS[s].kind === 'splicefs')) {
    L.push('- splicefs\'s read modes (splicefs-copy, -splice, -splice16) run the workloads that read; its write modes (splicefs-write-copy, -splice, -auto: `-o rw --write-mode copy|splice|auto`, reads by splice; auto, the default, is copy with splice for streams of large WRITEs) run those that write (f, seed writes, meta); splicefs-passthrough (`--read-mode passthrough -o rw`: the kernel reads and writes the source file, no READ or WRITE reaches the server) runs all of them, like passthrough_hp-passthrough. The tables show "reads only" / "writes only" for the others.')
  }
  if (cfg.baseline) {
    L.push(`- Baseline: the \`splicefs-baseline-*\` systems run the server of another checkout, \`${cfg.baseline}/dist/cli.js\` (${ctx.checkouts.baseline ?? 'not a git checkout'}), each right after the same mode of this checkout (${ctx.checkouts.current ?? 'not a git checkout'}), with the same options.`)
  }
  L.push('')
  L.push('| workload | fio |', '|---|---|')
  for (const wid of cfg.mainWorkloads) L.push(`| ${wid} | ${WORKLOADS[wid].desc} |`)
  if (cfg.seedWorkloads.length) L.push(`| seed-* | the seed matrix (the fio table of the virtio-fs DAX patches, 2020): ${cfg.seedWorkloads.length} cells, bs=4k, iodepth=16 for libaio, buffered, ${cfg.seedRuntime} s each; see its own section |`)
  L.push('')
  return L
}

function throughputSections (cfg, ctx) {
  const L = []
  const systems = cfg.systems
  if (cfg.mainWorkloads.length) {
    L.push('## Throughput, MiB/s: median [min–max]', '')
    L.push(table(['system', ...cfg.mainWorkloads], systems.map((s) => [s, ...cfg.mainWorkloads.map((w) => cellText(ctx.systems[s], w, cfg.runs))])))
    L.push('')
  }
  if (cfg.seedWorkloads.length) {
    L.push('## Seed matrix, MiB/s: median [min–max]', '')
    L.push(`The fio table of the virtio-fs DAX patches (2020) on this machine: bs=4k, buffered (cold FUSE cache: drop_caches before each run), time based (${cfg.seedRuntime} s per run, ${cfg.warmupRuntime} s warm-up), \`-multi\` = 4 jobs on 4 files. Reads use the files of a and c; writes go to fresh sparse ${fmtSize(cfg.seedWriteSize)} files per job. Read-only systems show — for the writes.`, '')
    const rows = cfg.seedWorkloads.map((w) => {
      const sp = medianOf(ctx, WORKLOADS[w].write ? 'splicefs-write-splice' : 'splicefs-splice', w)
      const bp = bestPeerOf(ctx, w)
      return [w, ...systems.map((s) => cellText(ctx.systems[s], w, cfg.runs)), sp != null && bp && bp.value ? `${(sp / bp.value).toFixed(2)}× (${bp.label})` : '—']
    })
    L.push(table(['cell', ...systems, 'splice / best peer'], rows))
    L.push('', 'splice / best peer: splicefs-splice on reads, splicefs-write-splice on writes.', '')
  }
  if (cfg.metaWorkloads.length) {
    L.push('## Metadata: untar, find, rm -rf, seconds: median [min–max] (lower is better)', '')
    L.push(`${WORKLOADS.meta.desc}. Each run unpacks into a fresh directory; \`echo 3 > /proc/sys/vm/drop_caches\` before each phase, so lookups reach the server. Read-only systems show —.`, '')
    L.push(table(['system', ...META_PHASES.map((p) => `${p} s`)], systems.map((s) => [s, ...META_PHASES.map((p) => metaText(ctx.systems[s], p, cfg.runs))])))
    L.push('')
  }
  return L
}

function ratios (cfg, ctx) {
  const med = (sys, wid) => medianOf(ctx, sys, wid)
  const rows = []
  const mk = (label, num, den) => {
    const cells = cfg.mainWorkloads.map((wid) => {
      const n = num(wid)
      const d = den(wid)
      if (n == null || d == null || !d.value) return '—'
      return `${(n / d.value).toFixed(2)}×${d.label ? ` (${d.label})` : ''}`
    })
    if (cells.some((c) => c !== '—')) rows.push([label, ...cells])
  }
  const splice = (wid) => med('splicefs-splice', wid)
  const of = (sys) => (wid) => { const v = med(sys, wid); return v == null ? null : { value: v } }
  mk('splice / copy', splice, of('splicefs-copy'))
  mk('splice / raw', splice, of('raw'))
  mk('splice / best peer', splice, (wid) => bestPeerOf(ctx, wid))
  mk('splice16 / copy', (wid) => med('splicefs-splice16', wid), of('splicefs-copy'))
  mk('splice / splice16', splice, of('splicefs-splice16'))
  mk('copy / raw', (wid) => med('splicefs-copy', wid), of('raw'))
  const pt = (wid) => med('splicefs-passthrough', wid)
  mk('passthrough / raw', pt, of('raw'))
  mk('passthrough / passthrough_hp passthrough', pt, of('passthrough_hp-passthrough'))
  const wsplice = (wid) => med('splicefs-write-splice', wid)
  mk('write splice / write copy', wsplice, of('splicefs-write-copy'))
  mk('write splice / raw', wsplice, of('raw'))
  mk('write splice / best peer', wsplice, (wid) => bestPeerOf(ctx, wid))
  const wauto = (wid) => med('splicefs-write-auto', wid)
  mk('write auto / write copy', wauto, of('splicefs-write-copy'))
  mk('write auto / best peer', wauto, (wid) => bestPeerOf(ctx, wid))
  return rows
}

function ratiosSection (cfg, ctx) {
  const rr = ratios(cfg, ctx)
  if (!rr.length) return []
  return ['## Ratios (medians of this run)', '', table(['ratio', ...cfg.mainWorkloads], rr), '']
}

/** Where the current median stands against the baseline's runs. */
function abVerdict (cur, base) {
  if (cur.max < base.min) return 'lower: every run below every baseline run'
  if (cur.min > base.max) return 'higher: every run above every baseline run'
  return 'within the noise: the ranges overlap'
}

/** This checkout against --baseline, mode by mode, on the same machine in the same run. */
function abSection (cfg, ctx) {
  if (!cfg.baseline) return []
  const rows = []
  for (const s of cfg.systems) {
    const sys = SYSTEMS[s]
    if (sys.kind !== 'splicefs' || sys.baseline) continue
    const b = baselineName(sys.mode)
    for (const wid of cfg.mainWorkloads) {
      const cur = summaryOf(ctx, s, wid)
      const base = summaryOf(ctx, b, wid)
      if (!cur || !base) continue
      rows.push([wid, sys.mode, rangeText(cur), rangeText(base), `${(cur.median / base.median).toFixed(2)}×`, abVerdict(cur, base)])
    }
  }
  if (!rows.length) return ['## This checkout against the baseline', '', 'No cell has runs of both (see the notes).', '']
  return ['## This checkout against the baseline', '',
    `MiB/s, median [min–max] of ${cfg.runs} runs each; the baseline is \`${cfg.baseline}\` (${ctx.checkouts.baseline ?? 'not a git checkout'}).`, '',
    table(['workload', 'mode', 'this checkout', 'baseline', 'this / baseline', 'runs'], rows, 2), '']
}

function costSection (cfg, ctx) {
  const costRows = []
  for (const s of cfg.systems) {
    const info = ctx.systems[s]
    if (!info || SYSTEMS[s].kind === 'raw') continue
    const a = info.cells && info.cells.a
    let cpu = '—'
    let per = '—'
    if (a && a.cpuPerGiB.length) {
      const md = median(a.cpuPerGiB)
      cpu = `${md.toFixed(2)} [${Math.min(...a.cpuPerGiB).toFixed(2)}–${Math.max(...a.cpuPerGiB).toFixed(2)}]`
      per = md > 0 ? (1024 / md).toFixed(0) : '—'
    }
    const rss = info.server && info.server.vmHWMKiB ? (info.server.vmHWMKiB / 1024).toFixed(1) : '—'
    costRows.push([s, cpu, per, rss])
  }
  const L = ['## Server cost', '']
  if (costRows.length) {
    L.push(table(['server', cfg.workloads.includes('a') ? 'CPU s per GiB on a' : 'CPU s per GiB on a (a not run)', 'MiB per CPU-second', 'peak RSS (VmHWM), MiB'], costRows))
    L.push('', 'Peak RSS is measured for the whole session of the server (all workloads), just before it is stopped.', '')
  }
  return L
}

const MOUNT_LINE_SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v', 'name', 'source', 'mountpoint'])

function countersLines (srv) {
  const L = []
  const read = Object.entries(srv.counters).filter(([k]) => k.startsWith('read.'))
  const sb = Number(srv.counters['read.spliceBytes'])
  const cb = Number(srv.counters['read.copyBytes'])
  if (Number.isFinite(sb) && Number.isFinite(cb) && sb + cb > 0) {
    L.push(`- path: ${(100 * sb / (sb + cb)).toFixed(1)}% of READ bytes went by splice, ${(100 * cb / (sb + cb)).toFixed(1)}% by copy`)
  }
  L.push(`- READ counters (whole session, byte check and warm-ups included): ${read.length ? read.map(([k, v]) => `${k}=${v}`).join(', ') : 'none with a read. prefix'}`)
  const write = Object.entries(srv.counters).filter(([k]) => k.startsWith('write.'))
  const wsb = Number(srv.counters['write.spliceBytes'])
  const wcb = Number(srv.counters['write.copyBytes'])
  if (Number.isFinite(wsb) && Number.isFinite(wcb) && wsb + wcb > 0) {
    L.push(`- WRITE path: ${(100 * wsb / (wsb + wcb)).toFixed(1)}% of WRITE bytes went by splice, ${(100 * wcb / (wsb + wcb)).toFixed(1)}% by copy`)
  }
  if (write.length) L.push(`- WRITE counters: ${write.map(([k, v]) => `${k}=${v}`).join(', ')}`)
  const rest = Object.entries(srv.counters).filter(([k]) => !k.startsWith('read.') && !k.startsWith('write.') && !k.startsWith('info.'))
  if (rest.length) L.push(`- other counters: ${rest.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}`)
  return L
}

function splicefsServerLines (s, info) {
  const srv = info.server
  const L = [`### ${s}`, '', `- command: \`${info.commandLine}\``]
  if (srv && srv.mountedLine) {
    const fields = Object.entries(flatten(srv.mountedLine)).filter(([k]) => !MOUNT_LINE_SKIP.has(k))
    L.push(`- mounted: ${fields.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}`)
  } else {
    L.push('- mounted: no "mounted" log line seen')
  }
  if (srv && srv.counters) L.push(...countersLines(srv))
  else if (srv && srv.stop) L.push(`- counters: none parsed from stdout${srv.stdout.trim() ? ` (stdout: \`${tail(srv.stdout, 1).slice(0, 200)}\`)` : ' (stdout empty)'}`)
  if (info.exit) L.push(`- exit after SIGTERM: ${info.exit.code ?? info.exit.signal}`)
  if (srv && srv.errorLines.length) L.push(`- error log lines: ${srv.errorLines.length}, first: \`${srv.errorLines[0].slice(0, 300)}\``)
  L.push('')
  return L
}

function splicefsSection (cfg, ctx) {
  const sf = cfg.systems.filter((s) => SYSTEMS[s].kind === 'splicefs' && ctx.systems[s] && !ctx.systems[s].unavailable)
  if (!sf.length) return []
  return ['## splicefs: mount line, READ and WRITE counters', '', ...sf.flatMap((s) => splicefsServerLines(s, ctx.systems[s]))]
}

function profileSections (cfg, ctx) {
  const L = []
  for (const s of cfg.systems) {
    const info = ctx.systems[s]
    if (!info || !info.profile) continue
    L.push(`## Profile: ${s} on workload a`, '', '`perf record -g -p <server pid>` during one extra run of a; self time by symbol ([k] kernel, [.] user), entries over 1%:', '', '```')
    L.push(...info.profile, '```', '')
  }
  return L
}

function checksSection (cfg, ctx) {
  const L = ['## Byte checks', '']
  for (const s of cfg.systems) {
    const info = ctx.systems[s]
    if (!info || info.unavailable) continue
    L.push(`- ${s}: ${info.check ? (info.check.ok ? 'ok, ' : '') + info.check.text : 'not done'}`)
  }
  L.push('')
  return L
}

function systemNotes (s, info, cfg) {
  const notes = []
  if (info.unavailable) notes.push(`${s}: not run: ${info.unavailable}`)
  if (info.error) notes.push(`${s}: FAILED: ${info.error.split('\n')[0]}${info.error.includes('\n') ? `\n\n  \`\`\`\n${info.error.split('\n').slice(1).map((l) => '  ' + l).join('\n')}\n  \`\`\`\n` : ''}`)
  for (const wid of cfg.workloads) {
    const c = info.cells && info.cells[wid]
    if (c && c.error && !(info.error && info.error.startsWith(c.error))) notes.push(`${s} ${wid}: ${c.error}`)
    // splicefs's read and write modes split the workloads by design (see the method): no note.
    if (c && c.skipped && !WORKLOADS[wid].seed && SYSTEMS[s].kind !== 'splicefs') notes.push(`${s} ${wid}: skipped, ${c.skipped}`)
  }
  const seedSkipped = cfg.seedWorkloads.filter((w) => info.cells && info.cells[w] && info.cells[w].skipped)
  if (seedSkipped.length) notes.push(`${s}: ${seedSkipped.length} seed-matrix write cells skipped, ${info.cells[seedSkipped[0]].skipped}`)
  for (const n of info.notes) notes.push(`${s}: ${n}`)
  return notes
}

function notesSection (cfg, ctx) {
  const notes = cfg.systems.filter((s) => ctx.systems[s]).flatMap((s) => systemNotes(s, ctx.systems[s], cfg))
  for (const n of ctx.setupNotes) notes.push(`setup: ${n}`)
  if (!notes.length) return []
  return ['## Notes', '', ...notes.map((n) => `- ${n}`), '']
}

function runsSection (cfg, ctx) {
  const runRows = []
  for (const s of cfg.systems) {
    const info = ctx.systems[s]
    if (!info || info.unavailable) continue
    for (const wid of cfg.workloads) {
      const c = info.cells[wid]
      if (!c || c.skipped) continue
      if (WORKLOADS[wid].meta) {
        const ph = (r) => (r ? META_PHASES.map((p) => `${p} ${r[p].toFixed(2)}`).join(' ') : '—')
        const runs = (c.phases ? c.phases.untar.map((_, i) => ph(Object.fromEntries(META_PHASES.map((p) => [p, c.phases[p][i]])))) : [])
        runRows.push([s, `${wid} (s)`, ph(c.warmupPhases), runs.join('; ') || '—', '—'])
        continue
      }
      runRows.push([s, wid, c.warmup == null ? '—' : fmtMiB(c.warmup), c.runs.map(fmtMiB).join(', ') || '—',
        c.cpuPerGiB.length ? c.cpuPerGiB.map((x) => x.toFixed(2)).join(', ') : '—'])
    }
  }
  return ['<details><summary>Every run (MiB/s; w = warm-up, not counted)</summary>', '',
    table(['system', 'workload', 'w', 'runs', 'server CPU s/GiB'], runRows, 2), '', '</details>', '']
}

export function renderReport (cfg, ctx, chartOk) {
  return [
    '# splicefs benchmark results', '',
    `Generated by \`${ctx.command}\` on ${ctx.date}. Protocol: [benchmarks/README.md](${path.relative(path.dirname(cfg.out), path.join(HERE, 'README.md'))}).`, '',
    ...machineSection(ctx),
    ...methodSection(cfg, ctx),
    ...throughputSections(cfg, ctx),
    ...(chartOk ? [`![MiB/s by workload and system](${path.relative(path.dirname(cfg.out), cfg.chart)})`, ''] : []),
    ...ratiosSection(cfg, ctx),
    ...abSection(cfg, ctx),
    ...costSection(cfg, ctx),
    ...splicefsSection(cfg, ctx),
    ...profileSections(cfg, ctx),
    ...checksSection(cfg, ctx),
    ...notesSection(cfg, ctx),
    ...runsSection(cfg, ctx)
  ].join('\n')
}

/** The throughput tables again, for stderr at the end of a run. */
export function consoleTables (cfg, ctx) {
  const tables = [cfg.mainWorkloads, cfg.seedWorkloads].filter((g) => g.length)
    .map((group) => table(['system', ...group], cfg.systems.map((s) => [s, ...group.map((w) => cellText(ctx.systems[s], w, cfg.runs))])))
  if (cfg.metaWorkloads.length) {
    tables.push(table(['system', ...META_PHASES.map((p) => `meta ${p} s`)], cfg.systems.map((s) => [s, ...META_PHASES.map((p) => metaText(ctx.systems[s], p, cfg.runs))])))
  }
  return tables
}
