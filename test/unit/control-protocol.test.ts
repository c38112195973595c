// The control socket's plumbing without a server: request lines, the socket's name (from the
// mountpoint's bytes, non-UTF-8 included) and directory, the client's path normalization, and
// --metrics as given.
import t from 'tap';
import { lexicalAbsolute } from '../../src/control/client.js';
import { parseMetricsArg } from '../../src/control/metrics.js';
import { parseRequest } from '../../src/control/protocol.js';
import { runtimeDir, socketName, socketPath } from '../../src/control/socket-path.js';

t.test('request lines', async (t) => {
  t.same(parseRequest('{"op":"stats"}'), { op: 'stats' });
  t.same(parseRequest('{"op":"set","name":"read-mode","value":"copy"}'), { op: 'set', name: 'read-mode', value: 'copy' });
  t.match(parseRequest('nope'), { message: /one JSON object per line/ });
  t.match(parseRequest('{"op":"set","name":"read-mode"}'), { message: /a name and a value/ });
  t.match(parseRequest('{"op":"reboot"}'), { message: /unknown op "reboot"/ });
});

t.test('socket names and directories', async (t) => {
  const a = socketName(Buffer.from('/mnt/x'));
  t.match(a, /^[0-9a-f]{32}\.sock$/, 'a hash of the path');
  t.equal(socketName(Buffer.from('/mnt/x')), a, 'the same path, the same name');
  // `printf /mnt/x | sha256sum`: c10865fc00f31eff6a9890abac0284f130c685130784a81cbe8d2131eb784719
  t.equal(socketPath(Buffer.from('/mnt/x'), 0), '/run/splicefs/c10865fc00f31eff6a9890abac0284f1.sock', 'root: /run/splicefs/<first 32 hex of sha256 of the bytes>.sock');
  t.not(socketName(Buffer.from([0x2f, 0x6d, 0xff])), socketName(Buffer.from([0x2f, 0x6d, 0xfe])), 'non-UTF-8 bytes are told apart (no lossy decoding)');
  t.equal(runtimeDir(0), '/run/splicefs', "root's directory");
  t.equal(runtimeDir(1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/splicefs', "a user's: XDG_RUNTIME_DIR");
  t.equal(runtimeDir(1000, {}, () => true), '/run/user/1000/splicefs', 'XDG_RUNTIME_DIR unset');
  t.equal(runtimeDir(1000, {}, () => false), '/tmp/splicefs-1000', 'XDG_RUNTIME_DIR unset and no /run/user/UID: /tmp/splicefs-UID');
  t.ok(socketPath(Buffer.alloc(4000, 0x61), 0).length < 108, 'any mountpoint fits a socket path');
});

t.test('lexicalAbsolute: absolute and normalized by bytes, no symlink followed', async (t) => {
  const cwd = Buffer.from('/work/here');
  const abs = (p: string | Buffer) => lexicalAbsolute(Buffer.from(p), cwd).toString('latin1');
  t.equal(abs('/a/b/'), '/a/b');
  t.equal(abs('m'), '/work/here/m');
  t.equal(abs('./m/../n//o/.'), '/work/here/n/o');
  t.equal(abs('/..'), '/');
  t.equal(abs(Buffer.from([0x2f, 0x78, 0xff])), '/x\xff', 'bytes kept');
});

t.test('--metrics as given', async (t) => {
  t.same(parseMetricsArg('9100'), { host: '127.0.0.1', port: 9100 }, 'a port alone: loopback');
  t.same(parseMetricsArg('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 }, 'an explicit host');
  t.same(parseMetricsArg('[::1]:9100'), { host: '::1', port: 9100 }, 'IPv6 in brackets');
  // Anything else is null: the CLI says it, with the option as typed (test/unit/option-errors.test.ts).
  for (const bad of ['host', 'h:99999', '', 'a b:1', 'a/b:1', '[::1]', '-1']) t.equal(parseMetricsArg(bad), null, `'${bad}': not a port`);
});
