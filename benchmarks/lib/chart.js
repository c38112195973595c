// results.svg: medians with min–max whiskers, one panel per workload, drawn by vega-lite
// (a devDependency) without a browser.

import fs from 'node:fs'
import path from 'node:path'
import { cellSummary } from './summary.js'

function chartValues (cfg, ctx) {
  const values = []
  for (const s of cfg.systems) {
    const info = ctx.systems[s]
    if (!info || info.unavailable) continue
    for (const wid of cfg.mainWorkloads) {
      const sum = cellSummary(info.cells[wid])
      if (sum) values.push({ workload: wid, system: s, median: Math.round(sum.median), min: Math.round(sum.min), max: Math.round(sum.max) })
    }
  }
  return values
}

function chartSpec (cfg, ctx, values) {
  const sysOrder = cfg.systems.filter((s) => values.some((v) => v.system === s))
  const wlOrder = cfg.mainWorkloads.filter((w) => values.some((v) => v.workload === w))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'splicefs benchmark: throughput by workload and system',
      subtitle: `MiB/s, median of ${cfg.runs} run${cfg.runs === 1 ? '' : 's'}, whiskers min–max · kernel ${ctx.machine.kernel} · ${ctx.date}`
    },
    data: { values },
    facet: { field: 'workload', type: 'nominal', sort: wlOrder, title: null, header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    columns: Math.min(4, wlOrder.length),
    spec: {
      width: Math.max(90, 26 * sysOrder.length),
      height: 260,
      encoding: {
        x: { field: 'system', type: 'nominal', sort: sysOrder, axis: { title: null, labels: false, ticks: false } },
        color: { field: 'system', type: 'nominal', sort: sysOrder, scale: { scheme: 'tableau10' }, legend: { title: 'system', orient: 'bottom', columns: 4, labelLimit: 0 } }
      },
      layer: [
        { mark: { type: 'bar' }, encoding: { y: { field: 'median', type: 'quantitative', title: 'MiB/s' }, tooltip: [{ field: 'system' }, { field: 'median' }, { field: 'min' }, { field: 'max' }] } },
        { mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
        { mark: { type: 'text', dy: -8, fontSize: 9, angle: 0 }, encoding: { y: { field: 'max', type: 'quantitative' }, text: { field: 'median', type: 'quantitative', format: 'd' }, color: { value: '#333' } } }
      ]
    },
    resolve: { scale: { y: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: '#ddd' } }
  }
}

/** Writes cfg.chart; {ok: true} or {ok: false, why}. */
export async function renderChart (cfg, ctx) {
  const values = chartValues(cfg, ctx)
  if (!values.length) return { ok: false, why: 'no data' }
  let vega, vl
  try {
    vega = await import('vega')
    vl = await import('vega-lite')
  } catch (err) {
    return { ok: false, why: `vega/vega-lite not installed (npm install): ${err.message}` }
  }
  const compiled = vl.compile(chartSpec(cfg, ctx, values)).spec
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  fs.mkdirSync(path.dirname(cfg.chart), { recursive: true })
  fs.writeFileSync(cfg.chart, svg)
  return { ok: true }
}
