// Logging: pino on stderr (stdout is kept for --stats). Synchronous writes, so the last lines
// before an exit are never lost; per-request lines exist only at debug level (server/print.ts).
//
// Two forms of the same records: JSON lines (for programs, and wherever stderr is not a
// terminal: a pipe, a file, a service manager's journal) and readable text (log-pretty.ts) for
// a person at a terminal. The CLI picks by whether fd 2 is a terminal unless --log-format says;
// the API's default logger stays JSON (a program embedding splicefs gets what it parses), and
// a logger an API caller passes is used as it is.
import { isatty } from 'node:tty';
import { pino, type Logger } from 'pino';
import { prettyDestination } from './log-pretty.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** 'auto': text when the log's fd (stderr by default) is a terminal, else JSON. */
export function resolveLogFormat(format: LogFormat | 'auto', fd = 2): LogFormat {
  if (format !== 'auto') return format;
  return isatty(fd) ? 'pretty' : 'json';
}

/**
 * A logger writing to `fd` (stderr by default; a --log-file), synchronously. Text is coloured
 * only on a terminal, and never with NO_COLOR set (https://no-color.org).
 */
export function createLogger(level = 'info', format: LogFormat | 'auto' = 'json', fd = 2): Logger {
  const fd2 = pino.destination({ fd, sync: true });
  if (resolveLogFormat(format, fd) === 'json') return pino({ name: 'splicefs', level }, fd2);
  const colorize = isatty(fd) && !process.env.NO_COLOR;
  return pino({ name: 'splicefs', level }, prettyDestination(fd2, colorize));
}
