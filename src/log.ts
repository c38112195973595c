// Logging: pino, JSON lines on stderr (stdout is kept for --stats). Synchronous writes, so the
// last lines before an exit are never lost; per-request lines exist only at debug level.
import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(level = 'info'): Logger {
  return pino({ name: 'splicefs', level }, pino.destination({ fd: 2, sync: true }));
}
