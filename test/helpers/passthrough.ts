// Shared code of the kernel passthrough tests (test/mount/passthrough-*.test.ts): which path a
// file's data took, read from the counters. A passthrough open moves stats().passthrough.opens
// and its reads and writes move nothing else (no READ or WRITE request reaches the server); a
// file that went through the server moves the READ counters (read.spliceReplies/copyReplies,
// requests.READ). RELEASE reaches the server after close() returns, and a worker counts a reply
// after its splice returns: `settle` waits for both before a test reads the counters.
//
// Through an API mount (served by this process's event loop) only fs.promises or child
// processes (see helpers/mount.ts).
//
// When run as a test file itself (tap runs every .ts under test/), this file checks its own
// arithmetic on made-up counters.
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import type { Stats } from '../../src/index.js';
import { run, type Mounted } from './mount.js';

export const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What the server saw of data: READ replies (splice + copy), READ and WRITE requests. */
export function served(s: Stats) {
  return {
    readReplies: s.read.spliceReplies + s.read.copyReplies,
    spliceReplies: s.read.spliceReplies,
    readRequests: s.requests.READ ?? 0,
    writeRequests: s.requests.WRITE ?? 0,
  };
}

/** Passthrough counters and the server's data counters, as `after - before`; backingIds as it is now. */
export function ptDelta(before: Stats, after: Stats) {
  const a = after.passthrough;
  const b = before.passthrough;
  const sa = served(after);
  const sb = served(before);
  return {
    opens: a.opens - b.opens,
    backingOpens: a.backingOpens - b.backingOpens,
    backingCloses: a.backingCloses - b.backingCloses,
    backingIds: a.backingIds,
    notOffered: a.fallbacks.notOffered - b.fallbacks.notOffered,
    writebackCache: a.fallbacks.writebackCache - b.fallbacks.writebackCache,
    noCapability: a.fallbacks.noCapability - b.fallbacks.noCapability,
    notStackable: a.fallbacks.notStackable - b.fallbacks.notStackable,
    directIo: a.fallbacks.directIo - b.fallbacks.directIo,
    setId: a.fallbacks.setId - b.fallbacks.setId,
    openThroughServer: a.fallbacks.openThroughServer - b.fallbacks.openThroughServer,
    backingError: a.fallbacks.backingError - b.fallbacks.backingError,
    readReplies: sa.readReplies - sb.readReplies,
    spliceReplies: sa.spliceReplies - sb.spliceReplies,
    readRequests: sa.readRequests - sb.readRequests,
    writeRequests: sa.writeRequests - sb.writeRequests,
  };
}
export type PtDelta = ReturnType<typeof ptDelta>;

/**
 * The counters once `openFiles` files are open (RELEASEs arrived) and nothing moves any more.
 * Gives up after ~5 s and returns them as they are (the test's own assertions then fail).
 */
export async function settle(m: { stats(): Stats }, openFiles = 0): Promise<Stats> {
  let last = '';
  for (let i = 0; i < 500; i++) {
    const s = m.stats();
    const now = JSON.stringify(s);
    if (s.openFiles === openFiles && now === last) return s;
    last = now;
    await new Promise((res) => setTimeout(res, 10));
  }
  return m.stats();
}

/** Counter deltas of `fn`, taken between two settled points (`openFiles` open at both). */
export async function moved(m: Mounted, fn: () => Promise<void>, openFiles = 0): Promise<PtDelta> {
  const before = await settle(m, openFiles);
  await fn();
  return ptDelta(before, await settle(m, openFiles));
}

/**
 * `python3 -c CODE ARGS...`: its stdout; a non-zero exit or a timeout fails the test (with the
 * program's stderr) and returns ''.
 */
export async function py(t: Test, code: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await run('python3', ['-c', code, ...args], { timeoutMs });
  if (r.code !== 0 || r.timedOut) {
    t.fail(`python3 -c failed (code ${r.code}, timedOut ${r.timedOut})`, { stderr: r.stderr.toString() });
    return '';
  }
  return r.stdout.toString();
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('ptDelta: differences of the passthrough and data counters, backingIds as it is', async (t) => {
    const fb = { notOffered: 0, writebackCache: 0, noCapability: 0, notStackable: 0, directIo: 0, setId: 0, openThroughServer: 0, backingError: 0 };
    const mk = (opens: number, ids: number, splice: number, reads: number, writes: number, eio: number) =>
      ({
        requests: { READ: reads, WRITE: writes },
        read: { spliceReplies: splice, copyReplies: 1 },
        passthrough: { opens, backingOpens: opens, backingCloses: 0, backingIds: ids, fallbacks: { ...fb, backingError: eio } },
      }) as unknown as Stats;
    t.same(ptDelta(mk(1, 1, 5, 5, 0, 0), mk(4, 2, 7, 9, 3, 1)), {
      opens: 3, backingOpens: 3, backingCloses: 0, backingIds: 2,
      notOffered: 0, writebackCache: 0, noCapability: 0, notStackable: 0, directIo: 0, setId: 0, openThroughServer: 0, backingError: 1,
      readReplies: 2, spliceReplies: 2, readRequests: 4, writeRequests: 3,
    });
    const noReqs = { requests: {}, read: { spliceReplies: 0, copyReplies: 0 } } as unknown as Stats;
    t.same(served(noReqs), { readReplies: 0, spliceReplies: 0, readRequests: 0, writeRequests: 0 }, 'an opcode never seen counts 0');
  });

  t.test('py returns what the program prints', async (t) => {
    t.equal(await py(t, 'import sys; print(sys.argv[1])', ['x']), 'x\n');
  });
}
