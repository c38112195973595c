// A cell's runs as numbers and text: median [min–max], Markdown tables, the best peer.

import { median } from './common.js'
import { PEERS } from './systems.js'

export const fmtMiB = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

export function cellSummary (cell) {
  if (!cell || !cell.runs.length) return null
  return { median: median(cell.runs), min: Math.min(...cell.runs), max: Math.max(...cell.runs), n: cell.runs.length }
}

export const rangeText = (s) => `${fmtMiB(s.median)} [${fmtMiB(s.min)}–${fmtMiB(s.max)}]`

/** A skipped cell in a table: a word or two (the notes and the method say why). */
const skipWord = (why) => (why.includes('read-only') ? 'read-only' : why.includes('reads only') ? 'reads only' : why.includes('writes only') ? 'writes only' : why)

/** What a table cell shows for system `info` on workload `wid`. */
export function cellText (info, wid, runsWanted) {
  if (!info) return '—'
  if (info.unavailable) return 'n/a'
  const cell = info.cells[wid]
  if (!cell) return info.error ? 'not run' : '—'
  if (cell.skipped) return `— (${skipWord(cell.skipped)})`
  const s = cellSummary(cell)
  if (!s) return cell.error ? 'failed' : '—'
  return cell.error ? `${rangeText(s)} (only ${s.n} of ${runsWanted} runs)` : rangeText(s)
}

export function summaryOf (ctx, sys, wid) {
  return (ctx.systems[sys] && cellSummary(ctx.systems[sys].cells[wid])) || null
}

export function medianOf (ctx, sys, wid) {
  const s = summaryOf(ctx, sys, wid)
  return s ? s.median : null
}

/** The fastest peer server (not raw, not splicefs) of this run on a workload. */
export function bestPeerOf (ctx, wid) {
  let best = null
  for (const p of PEERS) {
    const v = medianOf(ctx, p, wid)
    if (v != null && (!best || v > best.value)) best = { value: v, label: p }
  }
  return best
}

/** A Markdown table; the first leftCols columns left-aligned, the rest right-aligned. */
export function table (header, rows, leftCols = 1) {
  const esc = (c) => String(c).replace(/\|/g, '\\|')
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i < leftCols ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)
  ].join('\n')
}

/** A metadata phase of a system: median [min–max] seconds, or why there is none. */
export function metaText (info, phase, runsWanted) {
  if (!info) return '—'
  if (info.unavailable) return 'n/a'
  const cell = info.cells.meta
  if (!cell) return info.error ? 'not run' : '—'
  if (cell.skipped) return `— (${skipWord(cell.skipped)})`
  const xs = (cell.phases && cell.phases[phase]) || []
  if (!xs.length) return cell.error ? 'failed' : '—'
  const f = (x) => x.toFixed(x >= 10 ? 1 : 2)
  const v = [...xs].sort((a, b) => a - b)
  const m = v.length >> 1
  const med = v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
  return `${f(med)} [${f(v[0])}–${f(v[v.length - 1])}]${cell.error ? ` (only ${xs.length} of ${runsWanted} runs)` : ''}`
}
