// The process's fd limit and the share of it node fds may take.
//
// Every node the kernel remembers could pin an O_PATH fd; RLIMIT_NOFILE would then cap the
// tree a user can walk. So the soft limit is raised to the hard one at start (Node.js itself
// usually has done so already; a caller may have lowered it since), and node fds get a budget
// well under the limit: the rest is kept for what cannot give its fd back (open files and
// directories, pipes, /dev/fuse and its worker clones, the runtime's own descriptors).
import type { Logger } from 'pino';
import { addon } from '../addon.js';
import { errnoName } from '../errors.js';

/** RLIMIT_NOFILE as found and as left (-1: unlimited). */
export interface FdLimits {
  /** Soft limit before raising. */
  before: number;
  /** Soft limit now: what every open counts against. */
  soft: number;
  hard: number;
  /** errno name if the raise was refused, else null (the old soft limit stands). */
  raiseError: string | null;
}

/** Fewest node fds worth keeping: below this a walk would re-open on almost every request. */
export const MIN_NODE_FDS = 64;
/** The smallest share of the limit kept for fds that are not node fds. */
const MIN_RESERVE = 256;

let logged = false;

/**
 * Raise RLIMIT_NOFILE's soft limit to the hard limit (no-op if equal) and report both. Never
 * throws: a refused raise leaves the old soft limit and is reported in `raiseError`.
 */
export function raiseFdLimit(): FdLimits {
  const lim = new Float64Array(2);
  const r = addon.getrlimitNofile(lim);
  if (r < 0) return { before: -1, soft: -1, hard: -1, raiseError: errnoName(r) };
  const [before, hard] = [lim[0], lim[1]];
  let raiseError: string | null = null;
  if (before !== hard) {
    const s = addon.setrlimitNofile(hard, hard);
    if (s < 0) raiseError = errnoName(s);
    else addon.getrlimitNofile(lim);
  }
  return { before, soft: lim[0], hard: lim[1], raiseError };
}

/** The soft RLIMIT_NOFILE now (-1: unlimited or unknown). */
export function currentFdLimit(): number {
  const lim = new Float64Array(2);
  return addon.getrlimitNofile(lim) < 0 ? -1 : lim[0];
}

/**
 * Log the limits and the node fd budget, once per process (every mount of a process shares the
 * limit). Called once a mount is up: a mount that fails says one thing only, why it failed.
 */
export function logFdLimit(logger: Logger, limits: FdLimits, budget: number): void {
  if (logged) return;
  logged = true;
  logger.info({ fdLimit: limits, nodeFdBudget: budget }, 'fd limit');
}

/**
 * Node fds allowed under a soft limit of `limit` descriptors (-1: unlimited): the limit minus a
 * reserve of a quarter (at least 256), never below MIN_NODE_FDS. Past the budget the least
 * recently used nodes give back their fds (src/passthrough/node-fds.ts).
 */
export function nodeFdBudget(limit: number): number {
  // An unlimited NOFILE cannot happen on Linux (nr_open caps it); treat it as nr_open's default.
  const l = limit < 0 ? 1 << 20 : limit;
  const reserve = Math.max(MIN_RESERVE, Math.floor(l / 4));
  return Math.max(MIN_NODE_FDS, l - reserve);
}
