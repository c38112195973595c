// The benchmark's chart (benchmarks/lib/chart.js): every panel says which workload it shows in
// words ("a: sequential 1 MiB buffered reads, 1 job", not only "a"), both axes have titles, the
// panels sit two to a row, and the committed results.svg is drawn that way. No fio runs here:
// the data are the committed RESULTS.md's (the chart can be rebuilt from it) and a made-up run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { ROOT } from '../helpers/cli.js';

interface Row { workload: string; panel: string; system: string; median?: number; min?: number; max?: number; note?: string }
interface Meta { systems: string[]; workloads: string[]; runs: number | null; kernel: string | null; date: string | null }
interface Encoding { field?: string; title?: string; axis?: Record<string, unknown> | null }
interface Layer { mark: { type: string }; encoding: Record<string, Encoding> }
interface Spec {
  title: { text: string; subtitle: string[] };
  facet: { field: string; sort: string[] };
  columns: number;
  spec: { width: number; encoding: { y: Encoding }; layer: Layer[] };
}
interface ChartModule {
  panelTitle(wid: string): string;
  chartDataFromReport(text: string): Meta & { values: Row[] };
  valuesFromRun(cfg: unknown, ctx: unknown): Row[];
  chartSpec(meta: Meta, values: Row[]): Spec;
  renderSvg(spec: Spec): Promise<string>;
}
interface WorkloadsModule { WORKLOADS: Record<string, { title?: string; seed?: boolean }>; MAIN_WORKLOADS: string[] }

const BENCH = join(ROOT, 'benchmarks');
const load = async <M>(file: string) => (await import(pathToFileURL(join(BENCH, 'lib', file)).href)) as M;
const chart = await load<ChartModule>('chart.js');
const { WORKLOADS, MAIN_WORKLOADS } = await load<WorkloadsModule>('workloads.js');

const A_TITLE = 'a: sequential 1 MiB buffered reads, 1 job';
/** SVG text content with the XML escapes undone. */
const svgText = (svg: string) => svg.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');

t.test('every workload of the chart has a description, and the panel title gives it', async (t) => {
  for (const w of MAIN_WORKLOADS) {
    t.ok(WORKLOADS[w]?.title && WORKLOADS[w].title!.length > 10, `${w} has a title in words`);
    t.equal(chart.panelTitle(w), `${w}: ${WORKLOADS[w]!.title}`, `${w}: panel title "${chart.panelTitle(w)}"`);
  }
  t.equal(chart.panelTitle('a'), A_TITLE);
});

t.test('the spec: panels titled by workload, x and y axis titles, two panels a row', async (t) => {
  const data = chart.chartDataFromReport(readFileSync(join(BENCH, 'RESULTS.md'), 'utf8'));
  t.same(data.workloads, MAIN_WORKLOADS, 'the committed report has every main workload');
  t.ok(data.systems.includes('splicefs-splice') && data.systems.includes('raw'), 'and its systems');
  t.equal(data.runs, 3, 'runs per cell read from the report');
  t.ok(data.kernel && data.date, 'kernel and date read from the report');
  // The cell as the committed report's table spells it (the report changes with each full run).
  const report = readFileSync(join(BENCH, 'RESULTS.md'), 'utf8');
  const row = /^\| splicefs-splice \| ([\d.]+) \[([\d.]+)–([\d.]+)\] \|/m.exec(report);
  t.ok(row, "the report's splicefs-splice row has an a cell");
  const a = data.values.find((v) => v.workload === 'a' && v.system === 'splicefs-splice');
  t.match(a, { median: Number(row?.[1]), min: Number(row?.[2]), max: Number(row?.[3]), panel: A_TITLE }, `a cell read back from "${row?.[1]} [${row?.[2]}–${row?.[3]}]"`);
  t.match(data.values.find((v) => v.workload === 'f' && v.system === 'splicefs-splice'), { note: 'reads only' }, "a read mode's write cell keeps its reason");
  t.match(data.values.find((v) => v.workload === 'f' && v.system === 'fuse-native'), { note: 'read-only' }, "a read-only peer's write cell keeps its reason");
  t.match(data.values.find((v) => v.workload === 'a' && v.system === 'splicefs-write-copy'), { note: 'writes only' }, "a write mode's read cell keeps its reason");

  const spec = chart.chartSpec(data, data.values);
  t.equal(spec.facet.field, 'panel', 'one panel per workload, faceted on the titled field');
  t.same(spec.facet.sort, MAIN_WORKLOADS.map(chart.panelTitle), 'panels in workload order, each titled with its description');
  t.ok(spec.facet.sort.includes(A_TITLE), `a panel is titled "${A_TITLE}"`);
  const bar = spec.spec.layer.find((l) => l.mark.type === 'bar');
  const xTitle = bar?.encoding.x?.title ?? '';
  t.match(xTitle, /^MiB\/s \(bar: median of 3 runs; line: slowest to fastest run\)$/, 'the x axis says what the bars and lines are');
  t.equal(spec.spec.encoding.y.title, 'system', 'the y axis is titled');
  t.not(spec.spec.encoding.y.axis?.labels, false, 'the systems are named on the axis');
  t.equal(spec.columns, 2, 'two panels a row');
  t.ok(spec.spec.width >= 300, `panels are wide (${spec.spec.width} px)`);

  const svg = svgText(await chart.renderSvg(spec));
  for (const title of spec.facet.sort) t.ok(svg.includes(`>${title}<`), `the SVG shows the panel title "${title}"`);
  t.ok(svg.includes(`>${xTitle}<`), 'the SVG shows the x axis title');
  t.ok(svg.includes('>system<'), 'the SVG shows the y axis title');
  t.ok(svg.includes('>splicefs-splice<'), 'the SVG names the systems');
  const width = Number(svg.match(/<svg[^>]* width="(\d+)"/)?.[1]);
  t.ok(width > 800 && width < 1300, `the SVG is ${width} px wide: two panels without a gap`);
});

t.test('a quick run (two workloads) gets the same titles', async (t) => {
  const runs = (xs: number[]) => ({ runs: xs, cpuPerGiB: [] });
  const cfg = { systems: ['raw', 'splicefs-copy', 'splicefs-splice'], mainWorkloads: ['a', 'b1M'], runs: 3 };
  const ctx = {
    systems: {
      raw: { cells: { a: runs([5000, 5100, 5200]), b1M: runs([7000, 7100, 7200]) } },
      'splicefs-copy': { cells: { a: runs([1300, 1400, 1500]), b1M: runs([1400, 1500, 1600]) } },
      'splicefs-splice': { cells: { a: runs([2500, 2600, 2700]), b1M: runs([3100, 3200, 3300]) } },
    },
  };
  const values = chart.valuesFromRun(cfg, ctx);
  t.equal(values.length, 6, 'one row per cell');
  const spec = chart.chartSpec({ systems: cfg.systems, workloads: cfg.mainWorkloads, runs: 3, kernel: 'k', date: 'd' }, values);
  t.same(spec.facet.sort, [A_TITLE, 'b1M: sequential 1 MiB O_DIRECT reads, 1 job']);
  const svg = svgText(await chart.renderSvg(spec));
  t.ok(svg.includes(`>${A_TITLE}<`), 'the SVG shows the described panel title');
  t.ok(svg.includes('>MiB/s (bar: median of 3 runs; line: slowest to fastest run)<'), 'and the x axis title');
});

t.test('the committed results.svg is drawn with the described panels and axis titles', async (t) => {
  const svg = svgText(readFileSync(join(BENCH, 'results.svg'), 'utf8'));
  for (const w of MAIN_WORKLOADS) t.ok(svg.includes(`>${chart.panelTitle(w)}<`), `results.svg: "${chart.panelTitle(w)}"`);
  t.ok(/>MiB\/s \(bar: median of \d+ runs/.test(svg), 'results.svg: x axis title');
  t.ok(svg.includes('>system<'), 'results.svg: y axis title');
});
