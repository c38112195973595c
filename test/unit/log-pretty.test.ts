// The log as text (src/log-pretty.ts): the same pino records, one readable line each. The mount
// line keeps its essentials in one sentence, a request or reply reads "-> OP #unique k=v", other
// fields follow as key=value; the JSON form (createLogger's default) is untouched.
import { pino } from 'pino';
import t from 'tap';
import { prettyDestination, readable } from '../../src/log-pretty.js';

const MOUNTED = {
  level: 30, time: 0, pid: 1, hostname: 'h', name: 'splicefs', msg: 'mounted',
  source: '/srv/src', mountpoint: '/mnt/m', protocol: '7.40', maxRead: 1044480, maxPages: 255, readMode: 'auto',
  headerMode: 'patch', threads: 2, flags: ['ASYNC_READ', 'MAX_PAGES'], pipeBytes: 1048576,
};

/** A pino logger writing text into `lines` (no colours), as the CLI does on a terminal. */
function textLogger(level = 'debug') {
  const lines: string[] = [];
  const logger = pino({ name: 'splicefs', level }, prettyDestination({ write: (s: string) => lines.push(s) }, false));
  return { logger, lines };
}

t.test('the mount line: one sentence with the essentials', async (t) => {
  const r = readable(MOUNTED);
  t.equal(r.msg, 'mounted /srv/src -> /mnt/m: protocol 7.40, read mode auto, threads 2, max_read 1020 KiB');
  t.same(Object.keys(r).sort(), ['level', 'msg', 'time'], 'nothing else beside it (the JSON form keeps every field)');
});

t.test('request and reply lines: arrow, opcode, unique, key=value', async (t) => {
  t.equal(readable({ level: 20, msg: 'request', op: 'LOOKUP', unique: '12', parent: '/a b', entry: 'x', uid: 0 }).msg, '-> LOOKUP #12 parent="/a b" entry=x uid=0', 'a value with a space is quoted');
  t.equal(readable({ level: 20, msg: 'reply', op: 'LOOKUP', unique: '12', error: 'ENOENT' }).msg, '<- LOOKUP #12 error=ENOENT');
  const other = readable({ level: 30, msg: 'stopped', mountpoint: '/m', reason: 'unmounted', fdLimit: { soft: 1, raiseError: null }, flags: ['A'] });
  t.equal(other.msg, 'stopped mountpoint=/m reason=unmounted fdLimit.soft=1 fdLimit.raiseError=null', 'other lines: scalars as key=value, an object\'s fields as key.field=value');
  t.same(other.flags, ['A'], 'arrays left for pino-pretty to print');
  t.same(readable({ level: 50, msg: 'x', err: { message: 'm', stack: 's' } }).err, { message: 'm', stack: 's' }, 'errors left for pino-pretty (their stack)');
});

t.test('through pino: one line of text per record, no JSON', async (t) => {
  const { logger, lines } = textLogger();
  logger.info(MOUNTED, 'mounted');
  logger.debug({ op: 'READ', unique: '7', path: '/f', fh: 1, offset: 0, size: 4096 }, 'request');
  logger.warn({ err: 'boom' }, 'reply write failed');
  t.equal(lines.length, 3, 'a write per record, at once (synchronous)');
  for (const l of lines) {
    t.equal(l.split('\n').filter(Boolean).length, 1, `one line: ${l.trim()}`);
    t.notOk(l.trimStart().startsWith('{'), 'not JSON');
  }
  t.match(lines[0], /INFO.*: mounted \/srv\/src -> \/mnt\/m: protocol 7\.40/);
  t.match(lines[1], /DEBUG.*: -> READ #7 path=\/f fh=1 offset=0 size=4096$/m);
  t.match(lines[2], /WARN.*: reply write failed err=boom/);
  t.notMatch(lines.join(''), /\x1b\[/, 'no colours when not asked for');
});
