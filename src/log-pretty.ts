// The log as text for a person at a terminal: pino's JSON record in, one line out, formatted
// by pino-pretty (level names, local time, colours, error stacks) after the record is made
// readable here:
//   - the "mounted" line keeps its essentials in one sentence (the JSON form keeps every field);
//   - a debug line of a request or reply reads "-> LOOKUP #12 parent=/ name=a" / "<- ... ";
//   - other scalar fields follow the message as key=value, objects stay JSON on the same line.
// Synchronous: pino-pretty's prettifier is called in place (no transport thread, no stream
// pipeline), and the line goes to the destination before write() returns, so the last lines
// before an exit are never lost.
import { prettyFactory } from 'pino-pretty';

/** Where the text goes: pino's synchronous SonicBoom on fd 2 in the CLI. */
export interface LineSink {
  write(s: string): unknown;
}

/** Fields pino writes in every record; none of them is part of what a line says. */
const HEADER_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** A value of a key=value pair: quoted (JSON) only when it would not read as one token. */
function token(v: unknown): string {
  if (typeof v === 'string') return v === '' || /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return String(v);
}

/** Errors pino-pretty prints with their stack (its errorLikeObjectKeys): left to it. */
const ERROR_KEYS = new Set(['err', 'error']);

/**
 * key=value for each field not in `skip`; a plain object's fields as key.field=value; arrays
 * and errors are left in `rest` for pino-pretty (JSON on the same line, a stack below).
 */
function pairs(rec: Record<string, unknown>, skip: ReadonlySet<string>, rest: Record<string, unknown>, prefix = ''): string {
  let out = '';
  for (const [k, v] of Object.entries(rec)) {
    if (prefix === '' && (HEADER_KEYS.has(k) || skip.has(k))) continue;
    const key = prefix + k;
    if (v === null || typeof v !== 'object') out += ` ${key}=${token(v)}`;
    else if (Array.isArray(v) || (prefix === '' && ERROR_KEYS.has(k))) rest[key] = v;
    else out += pairs(v as Record<string, unknown>, skip, rest, `${key}.`);
  }
  return out;
}

function sizeText(bytes: unknown): string {
  if (typeof bytes !== 'number') return String(bytes);
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** " (kernel passthrough)" when it is on, " (kernel passthrough off: REASON)", or nothing when unused. */
function passthroughText(p: unknown): string {
  if (p === undefined || p === 'unused') return '';
  return p === 'on' ? ' (kernel passthrough, else splice)' : ` (kernel passthrough off: ${String(p)})`;
}

/** "mounted /src -> /mnt: protocol 7.40, read mode auto (kernel passthrough, else splice), threads 2, max_read 1020 KiB". */
function mountedText(r: Record<string, unknown>): string {
  return (
    `mounted ${String(r.source)} -> ${String(r.mountpoint)}: protocol ${String(r.protocol)}, ` +
    `read mode ${String(r.readMode)}${passthroughText(r.passthrough)}, threads ${String(r.threads)}, max_read ${sizeText(r.maxRead)}`
  );
}

const REQUEST_KEYS: ReadonlySet<string> = new Set(['op', 'unique']);
const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * The record as pino-pretty should print it: level and time kept, the message made readable,
 * only fields that cannot be a key=value pair left beside it.
 */
export function readable(rec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { level: rec.level, time: rec.time };
  if (rec.msg === 'mounted' && 'mountpoint' in rec) {
    out.msg = mountedText(rec);
  } else if ((rec.msg === 'request' || rec.msg === 'reply') && typeof rec.op === 'string') {
    const arrow = rec.msg === 'request' ? '->' : '<-';
    out.msg = `${arrow} ${rec.op} #${String(rec.unique)}${pairs(rec, REQUEST_KEYS, out)}`;
  } else {
    out.msg = `${rec.msg === undefined ? '' : String(rec.msg)}${pairs(rec, NO_KEYS, out)}`;
  }
  return out;
}

/**
 * A pino destination that writes each record as a line of text to `sink`. `colorize`: ANSI
 * colours (for a terminal that has them).
 */
export function prettyDestination(sink: LineSink, colorize: boolean): LineSink {
  const prettify = prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
  return {
    write(line: string) {
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch {
        return sink.write(line); // not a record of ours: passed on as it came
      }
      const text = rec !== null && typeof rec === 'object' ? prettify(readable(rec as Record<string, unknown>)) : line;
      return sink.write(text);
    },
  };
}
