// How `splicefs stats` shows a server's counters to a person: the table of one snapshot, and
// the one line per refresh of `--watch` with the MiB/s of each read path side by side. Pure
// functions of LiveStats (protocol.ts); no I/O.
import type { LiveStats } from './protocol.js';

const MIB = 1024 * 1024;

/** 1536 -> "1.5 KiB"; whole bytes below 1 KiB. */
export function formatBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (n < 1024) return `${n} B`;
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** 192000 ms -> "3m12s"; hours past an hour, days past a day. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m, sec] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60];
  const two = (x: number) => String(x).padStart(2, '0');
  if (d > 0) return `${d}d${two(h)}h`;
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(sec)}s`;
  return `${sec}s`;
}

/** Rows of cells, each column padded to its widest cell (first column left, the rest right). */
function columns(rows: string[][], indent = ''): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ').trimEnd());
}

/** `key  value` lines with the keys padded to one width. */
function pairs(rows: Array<[string, string]>): string[] {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}   ${v}`);
}

/** Passthrough opens (their I/O is in no READ/WRITE row), backing ids, and the opens that fell back. */
function passthroughLine(p: LiveStats['stats']['passthrough']): string {
  const fell = Object.entries(p.fallbacks).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
  return `opens ${p.opens} (reads and writes not seen here), backing ids ${p.backingIds} open, ${p.backingOpens} registered` +
    (fell.length ? `; through the server instead: ${fell.join(', ')}` : '');
}

/**
 * The event loop's reading of the device and the workers' parking (stats().loop; see README
 * "Parking"): two rows, the loop's own reads and spins, then the parks and what the workers did.
 */
function loopRows(l: LiveStats['stats']['loop']): Array<[string, string]> {
  // Every park is followed by an unpark unless the workers are parked at this moment.
  const now = l.parks > l.unparks ? ' (parked now)' : '';
  return [
    ['event loop', `read ${l.reads} requests itself; spins caught ${l.spinHits}, ran out ${l.spinMisses}`],
    ['worker parking', `parks ${l.parks}, unparks ${l.unparks}${now}; jobs passed to parked workers ${l.jobs}; requests the workers answered ${l.answered}`],
  ];
}

/** The table `splicefs stats MOUNTPOINT` prints. */
export function statsTable(l: LiveStats): string {
  const s = l.stats;
  const r = s.read;
  const modeNote = l.readMode === l.startReadMode ? '' : ` (started ${l.startReadMode})`;
  const fb = Object.entries(r.fallbacks).map(([k, v]) => `${k} ${v}`).join(', ');
  const fds = s.fds;
  const lines = [
    `splicefs on ${l.mountpoint}   source ${l.source}   pid ${l.pid}   up ${formatDuration(l.uptimeMs)}`,
    '',
    ...columns([
      ['READ replies', 'replies', 'bytes'],
      ['  splice', String(r.spliceReplies), formatBytes(r.spliceBytes)],
      ['  copy', String(r.copyReplies), formatBytes(r.copyBytes)],
      ['    of which small (under --splice-min)', String(r.smallCopies), ''],
      ['  errors', String(r.errorReplies), ''],
      ['WRITE replies', '', ''],
      ['  splice', String(s.write.spliceReplies), formatBytes(s.write.spliceBytes)],
      ['  copy', String(s.write.copyReplies), formatBytes(s.write.copyBytes)],
      ['  errors', String(s.write.errorReplies), ''],
    ]),
    '',
    ...pairs([
      ['read mode', `${l.readMode} for new opens${modeNote}`],
      ['fallbacks to copy', fb],
      ['kernel passthrough', passthroughLine(s.passthrough)],
      ['write fallbacks', Object.entries(s.write.fallbacks).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['write streams', `started ${s.write.streams.started}, ended ${s.write.streams.ended} (auto: requests spliced while large WRITEs come)`],
      ['open handles', `files ${s.openFiles}, directories ${s.openDirs}; released files still closing ${s.fds.closesPending}`],
      ['nodes', String(s.nodes)],
      ['node fds', `held ${fds.held} of ${fds.budget}; given back ${fds.shed}, re-opened ${fds.reopenedByHandle} by handle and ${fds.reopenedByName} by name, stale ${fds.stale}, limit hits ${fds.limitHits}`],
      ...loopRows(s.loop),
      ['RSS', formatBytes(l.rss)],
      ['metrics', l.metrics ? `http://${l.metrics}/metrics` : 'off'],
    ]),
  ];
  return lines.join('\n') + '\n';
}

/** Per-second rates between two snapshots of one server (by its own clock). */
export interface Rates {
  seconds: number;
  spliceMiBs: number;
  copyMiBs: number;
  spliceRepliesPerS: number;
  copyRepliesPerS: number;
  /** WRITE payload MiB/s per path */
  writeSpliceMiBs: number;
  writeCopyMiBs: number;
}

export function rates(prev: LiveStats, cur: LiveStats): Rates {
  const seconds = Math.max(1e-3, (cur.uptimeMs - prev.uptimeMs) / 1000);
  const [a, b] = [prev.stats.read, cur.stats.read];
  return {
    seconds,
    spliceMiBs: (b.spliceBytes - a.spliceBytes) / MIB / seconds,
    copyMiBs: (b.copyBytes - a.copyBytes) / MIB / seconds,
    spliceRepliesPerS: (b.spliceReplies - a.spliceReplies) / seconds,
    copyRepliesPerS: (b.copyReplies - a.copyReplies) / seconds,
    writeSpliceMiBs: (cur.stats.write.spliceBytes - prev.stats.write.spliceBytes) / MIB / seconds,
    writeCopyMiBs: (cur.stats.write.copyBytes - prev.stats.write.copyBytes) / MIB / seconds,
  };
}

const WATCH_HEADER = ['time', 'splice MiB/s', 'copy MiB/s', 'splice rep/s', 'copy rep/s', 'fallbacks', 'open', 'RSS', 'mode', 'write splice MiB/s', 'write copy MiB/s'];
const WATCH_WIDTHS = [8, 12, 12, 12, 12, 9, 6, 10, 6, 18, 16];

function watchRow(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(WATCH_WIDTHS[i]) : c.padStart(WATCH_WIDTHS[i]))).join('  ');
}

/** The first lines of `--watch`: what is watched, and the column titles. */
export function watchHeader(l: LiveStats): string {
  return `splicefs on ${l.mountpoint} (pid ${l.pid}), every second; Ctrl-C stops\n${watchRow(WATCH_HEADER)}\n`;
}

/** One refresh of `--watch`: the rates since the last one, and the state now. */
export function watchLine(prev: LiveStats, cur: LiveStats, now: Date = new Date()): string {
  const r = rates(prev, cur);
  const fallbacks = (l: LiveStats) => Object.values(l.stats.read.fallbacks).reduce((x, y) => x + y, 0);
  return (
    watchRow([
      now.toTimeString().slice(0, 8),
      r.spliceMiBs.toFixed(1),
      r.copyMiBs.toFixed(1),
      r.spliceRepliesPerS.toFixed(0),
      r.copyRepliesPerS.toFixed(0),
      String(fallbacks(cur) - fallbacks(prev)),
      String(cur.stats.openFiles),
      formatBytes(cur.rss),
      cur.readMode,
      r.writeSpliceMiBs.toFixed(1),
      r.writeCopyMiBs.toFixed(1),
    ]) + '\n'
  );
}
