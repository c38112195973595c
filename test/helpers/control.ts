// Helpers for the tests of the live surfaces (control socket, `splicefs stats`/`set`, metrics):
// a CLI server started as a user starts it, where its control socket is, a free TCP port, an
// HTTP GET, and a file read through the mount by a child process (never synchronously here:
// an API mount is served by this process's event loop; see helpers/mount.ts).
//
// When run as a test file itself (tap runs every .ts under test/), this file checks that the
// socket path it predicts is the one a server reports.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { socketPath } from '../../src/control/socket-path.js';
import type { LiveStats } from '../../src/control/protocol.js';
import { CLI, cli, cleanNode } from './cli.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run, within, withMount } from './mount.js';

export interface CliServer {
  child: ChildProcess;
  src: string;
  mnt: string;
  /** The "mounted" line, parsed. */
  mounted: Record<string, unknown>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** 4 MiB of a repeating pattern: large enough for several 1 MiB READs. */
export const FILE_BYTES = 4 * 1024 * 1024;

export function populateFile(src: string, name = 'f'): void {
  const b = Buffer.alloc(FILE_BYTES);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(i, i);
  writeFileSync(join(src, name), b);
}

/**
 * Start `splicefs SRC MNT args...` (on fresh directories unless given; `env`: variables to set
 * in its environment) and wait for its "mounted" line. Killed and unmounted in teardown,
 * whatever the test did.
 */
export async function startCliServer(t: Test, args: string[], dirs?: { src: string; mnt: string }, env: Record<string, string> = {}): Promise<CliServer> {
  const src = dirs?.src ?? freshDir('ctl-src');
  const mnt = dirs?.mnt ?? freshDir('ctl-mnt');
  if (!dirs) populateFile(src);
  const node = cleanNode(env);
  const child = spawn(node[0]!, [...node.slice(1), CLI, src, mnt, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (isMounted(mnt)) await forceUnmount(mnt);
    if (!dirs && !isMounted(mnt)) await run('rm', ['-rf', src, mnt]);
  });
  const mounted = await within(
    20_000,
    'the mounted line',
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        for (const line of err.split('\n')) {
          if (!line.includes('"mounted"')) continue;
          try {
            resolve(JSON.parse(line) as Record<string, unknown>);
          } catch {
            /* not a whole line yet */
          }
        }
      });
      void exited.then(({ code }) => reject(new Error(`server exited (${code}) before mounting: ${err}`)));
    }),
  );
  return { child, src, mnt, mounted, exited, stderr: () => err };
}

/** The control socket a root server of `mnt` (a resolved path) listens on. */
export function controlSocketOf(mnt: string): string {
  return socketPath(Buffer.from(mnt), 0);
}

/** `splicefs stats MNT --json`, parsed (fails the test with the output if it is not JSON). */
export async function statsJson(t: Test, mnt: string): Promise<LiveStats> {
  const r = await cli(['stats', mnt, '--json']);
  t.equal(r.code, 0, 'stats --json exits 0', { stderr: r.stderr.toString() });
  return JSON.parse(r.stdout.toString()) as LiveStats;
}

/** Read a whole file through the mount in a child process (dd, 1 MiB blocks). */
export async function readThrough(t: Test, path: string): Promise<void> {
  const r = await run('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M', 'status=none']);
  t.equal(r.code, 0, `read ${path}`, { stderr: r.stderr.toString() });
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** GET `url`: status and body, or the connection's error code (e.g. ECONNREFUSED). */
export function httpGet(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    // A fresh connection each time (no keep-alive reuse): what a scrape after close meets is
    // the listener, not a socket the server already closed.
    const req = get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('controlSocketOf predicts the socket a mount reports, and it exists while mounted', async (t) => {
    await withMount(t, {}, {}, async ({ mnt, handle }) => {
      t.equal(handle.info.controlSocket, controlSocketOf(mnt));
      t.ok(existsSync(controlSocketOf(mnt)), 'the socket exists');
    });
  });
  leftoverCheck(t);
}
