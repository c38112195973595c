// A metrics port that is taken fails the mount with one clear line before anything is mounted
// (API: a SplicefsError; CLI: one line on stderr, exit 1), and leaves no control socket; a
// malformed --metrics is a usage error (exit 2); off by default, nothing listens.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import t from 'tap';
import { mount } from '../../src/index.js';
import { cli, oneLineError } from '../helpers/cli.js';
import { controlSocketOf } from '../helpers/control.js';
import { freshDir, isMounted, leftoverCheck, quietLogger } from '../helpers/mount.js';

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

t.test('a taken port: the mount fails with one line, nothing left behind', async (t) => {
  const { server, port } = await listen();
  t.teardown(() => void server.close());
  const [src, mnt] = [freshDir('mt-src'), freshDir('mt-mnt')];

  await t.rejects(
    mount(src, mnt, { logger: quietLogger(), metrics: { host: '127.0.0.1', port } }),
    { name: 'SplicefsError', message: `metrics: 127.0.0.1:${port} is already in use (choose another port)` },
    'API: SplicefsError',
  );
  t.notOk(isMounted(mnt), 'API: nothing mounted');
  t.notOk(existsSync(controlSocketOf(mnt)), 'API: no control socket');

  const r = await cli([src, mnt, '--metrics', `127.0.0.1:${port}`]);
  oneLineError(t, 'CLI --metrics on a taken port', r, /metrics: 127\.0\.0\.1:\d+ is already in use/, 1);
  t.notOk(isMounted(mnt), 'CLI: nothing mounted');
});

t.test('a malformed --metrics is a usage error', async (t) => {
  const [src, mnt] = [freshDir('mt-src'), freshDir('mt-mnt')];
  oneLineError(t, '--metrics with no port', await cli([src, mnt, '--metrics', 'localhost']), /--metrics takes PORT, HOST:PORT or \[IPv6\]:PORT \(a port from 0 to 65535\), not 'localhost'/, 2);
  oneLineError(t, '--metrics out of range', await cli([src, mnt, '--metrics', '70000']), /--metrics takes .*\(a port from 0 to 65535\), not '70000' \(see splicefs --help\)$/, 2);
  t.notOk(isMounted(mnt), 'nothing mounted');
});

leftoverCheck(t);
