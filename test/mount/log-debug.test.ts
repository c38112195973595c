// Debug lines through a real mount name things: LOOKUP by parent path and entry, GETATTR, OPEN
// and READ by the node's path, errors by name (ENOENT, EIO). READs that went well are at trace
// (a line per READ costs too much for debug: see src/server/debug-log.ts), and there a READ shows
// up whoever answered it: a worker thread (threads 2: the event loop never sees it, the worker
// reports it) or the event loop (threads 0). A failed READ shows at debug. The logger is the
// API's `logger` option, collecting the JSON records. Every mount here that reads names read mode
// splice: the default (auto) hands reads to the kernel (FUSE passthrough) and no READ would come.
import { mkdirSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { addon } from '../../src/addon.js';
import { leftoverCheck, run, within, withMount } from '../helpers/mount.js';

type Line = Record<string, unknown>;
const E = constants.errno;
const SIZE = 64 * 1024;

/** A logger at `level` whose records land in `lines`, parsed. */
function collecting(level: 'debug' | 'trace') {
  const lines: Line[] = [];
  const logger = pino({ name: 'splicefs', level }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { lines, logger };
}

/** In a child process (never this loop: it serves the mount): stat, read, stat a missing name. */
const SCRIPT = `
import os, sys
p = os.path.join(sys.argv[1], 'dir', 'f.txt')
os.stat(p)
with open(p, 'rb') as f: n = len(f.read())
try: os.stat(os.path.join(sys.argv[1], 'dir', 'missing'))
except FileNotFoundError: pass
print(n)
`;

function populate(src: string): void {
  mkdirSync(join(src, 'dir'));
  writeFileSync(join(src, 'dir', 'f.txt'), Buffer.alloc(SIZE, 7));
}

/** The first line matching `want` (waiting a little: worker READs are printed when reported). */
async function line(lines: Line[], want: Line, what: string): Promise<Line> {
  const matches = (l: Line) => Object.entries(want).every(([k, v]) => l[k] === v);
  const until = Date.now() + 6_000; // the poll ends too when `within` gives up, or it keeps the process alive
  return within(5_000, what, (async () => {
    while (Date.now() < until) {
      const found = lines.find(matches);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    return {};
  })());
}

async function readThroughMount(t: Test, mnt: string): Promise<void> {
  const r = await run('python3', ['-c', SCRIPT, mnt]);
  t.equal(r.stdout.toString().trim(), String(SIZE), 'the child read the whole file');
}

t.test('debug, threads 2: lines name the nodes and the errors; READs wait for trace', async (t) => {
  const { lines, logger } = collecting('debug');
  await withMount(t, { threads: 2, timeout: 0, readMode: 'splice', logger }, { populate }, async ({ mnt }) => {
    await readThroughMount(t, mnt);
    await line(lines, { msg: 'request', op: 'LOOKUP', parent: '/', entry: 'dir' }, 'LOOKUP of dir in /');
    const look = await line(lines, { msg: 'request', op: 'LOOKUP', parent: '/dir', entry: 'f.txt' }, 'LOOKUP of f.txt in /dir');
    t.type((await line(lines, { msg: 'reply', op: 'LOOKUP', unique: look.unique }, 'its reply')).nodeid, 'number', 'the reply names the nodeid given');
    await line(lines, { msg: 'request', op: 'GETATTR', path: '/dir/f.txt' }, 'GETATTR by path');
    const open = await line(lines, { msg: 'request', op: 'OPEN', path: '/dir/f.txt' }, 'OPEN by path');
    t.match(open.flags, /^O_RDONLY/, `OPEN flags by name (${String(open.flags)})`);
    const missing = await line(lines, { msg: 'request', op: 'LOOKUP', parent: '/dir', entry: 'missing' }, 'LOOKUP of a missing name');
    const err = await line(lines, { msg: 'reply', unique: missing.unique }, 'its reply');
    t.equal(err.error, 'ENOENT', 'the error by name, not -2');
    await line(lines, { msg: 'request', op: 'RELEASE', path: '/dir/f.txt' }, 'RELEASE (after the READs)');
    t.notOk(lines.some((l) => l.op === 'READ'), 'no line for a READ that went well: those are at trace');
  });
});

t.test('debug, threads 0: a READ that fails shows up, request and error', async (t) => {
  const { lines, logger } = collecting('debug');
  await withMount(t, { threads: 0, directIo: true, readMode: 'splice', logger }, { populate }, async ({ mnt }) => {
    addon.injectFault('data', E.EIO, 1); // the splice from the backing file fails: EIO to the reader
    try {
      const r = await run('python3', ['-c', 'import sys\ntry: open(sys.argv[1], "rb").read()\nexcept OSError as e: print(e.errno)', join(mnt, 'dir', 'f.txt')]);
      t.equal(r.stdout.toString().trim(), String(E.EIO), 'the reader got EIO');
    } finally {
      addon.injectFault('data', 0, 0);
    }
    const req = await line(lines, { msg: 'request', op: 'READ', path: '/dir/f.txt' }, 'the failed READ');
    t.equal(req.level, 20, 'at debug');
    t.match(await line(lines, { msg: 'reply', op: 'READ', unique: req.unique }, 'its reply'), { error: 'EIO' }, 'its error by name');
  });
});

t.test('trace, threads 2: a READ a worker thread served', async (t) => {
  const { lines, logger } = collecting('trace');
  await withMount(t, { threads: 2, readMode: 'splice', logger }, { populate }, async ({ mnt }) => {
    await readThroughMount(t, mnt);
    const read = await line(lines, { msg: 'request', op: 'READ', path: '/dir/f.txt', by: 'worker' }, 'a READ request a worker served');
    t.equal(read.offset, 0, 'its offset');
    t.type(read.size, 'number', 'its size');
    t.equal(read.level, 10, 'at trace');
    const reply = await line(lines, { msg: 'reply', op: 'READ', unique: read.unique }, 'its reply');
    t.match(reply, { by: 'worker', how: 'splice' }, 'the reply: the path it took, the worker');
    t.ok(Number(reply.bytes) > 0 && Number(reply.bytes) <= SIZE, `the bytes sent (${String(reply.bytes)})`);
  });
});

t.test('trace, threads 0: a READ the event loop served', async (t) => {
  const { lines, logger } = collecting('trace');
  await withMount(t, { threads: 0, readMode: 'splice', logger }, { populate }, async ({ mnt }) => {
    await readThroughMount(t, mnt);
    const read = await line(lines, { msg: 'request', op: 'READ', path: '/dir/f.txt' }, 'a READ request');
    t.equal(read.offset, 0, 'its offset');
    const reply = await line(lines, { msg: 'reply', op: 'READ', unique: read.unique }, 'its reply');
    t.match(reply, { by: 'loop', how: 'splice' }, 'the reply: the path it took, the event loop');
    t.ok(Number(reply.bytes) > 0 && Number(reply.bytes) <= SIZE, `the bytes sent (${String(reply.bytes)})`);
  });
});

leftoverCheck(t);
