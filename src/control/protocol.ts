// The control socket's protocol: one JSON object per line each way, a reply for each request,
// in order, on a connection that may carry many (`stats --watch` asks once a second).
//
//   {"op":"stats"}                                   -> {"ok":true,"stats":LiveStats}
//   {"op":"set","name":"read-mode","value":"copy"}   -> {"ok":true,"set":SetResult}
//   anything else, or a failed set                   -> {"ok":false,"error":"one line"}
//
// Requests are small; a line longer than MAX_LINE ends the connection (after an error reply).
import type { ReadMode } from '../api/options.js';
import type { Stats } from '../api/stats.js';

/** Longest request line the server reads, bytes. */
export const MAX_LINE = 4096;

/** What `stats` returns: the counters and what a person needs to read them. */
export interface LiveStats {
  pid: number;
  /** The mountpoint and source for people (non-UTF-8 bytes escaped as \xNN). */
  mountpoint: string;
  source: string;
  /** The read mode new opens get now (`set read-mode` changes it). */
  readMode: ReadMode;
  /** The read mode the mount started with. */
  startReadMode: ReadMode;
  /** Milliseconds since the mount was ready. */
  uptimeMs: number;
  /** Resident set size of the server process, bytes. */
  rss: number;
  /** The Prometheus endpoint ("host:port"), null when off. */
  metrics: string | null;
  stats: Stats;
}

/** What `set` did. */
export interface SetResult {
  name: 'read-mode';
  value: ReadMode;
  previous: ReadMode;
  /** Handles open now: they keep the read path they were opened with. */
  openFiles: number;
}

export type Request = { op: 'stats' } | { op: 'set'; name: string; value: string };

export type Reply = { ok: true; stats: LiveStats } | { ok: true; set: SetResult } | { ok: false; error: string };

/** What the server answers requests with; attached once the mount is ready. */
export interface ControlTarget {
  snapshot(): LiveStats;
  /** Throws an Error whose message is the one line to send back. */
  set(name: string, value: string): SetResult;
}

/** A request line decoded, or an Error saying what is wrong with it. */
export function parseRequest(line: string): Request | Error {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return new Error('a request is one JSON object per line');
  }
  if (typeof v !== 'object' || v === null) return new Error('a request is one JSON object per line');
  const r = v as Record<string, unknown>;
  if (r.op === 'stats') return { op: 'stats' };
  if (r.op === 'set') {
    if (typeof r.name !== 'string' || typeof r.value !== 'string') return new Error('set takes a name and a value (strings)');
    return { op: 'set', name: r.name, value: r.value };
  }
  return new Error(`unknown op ${JSON.stringify(r.op)} (stats, set)`);
}
