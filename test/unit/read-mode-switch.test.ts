// The read mode changed at run time (ReadPath.setMode, `splicefs set MNT read-mode`): handles
// planned before keep the mode they were planned under (their plan, and what a failure of it
// means); handles planned after follow the new mode; a read path whose executor has no pipe
// (the mount started in copy mode) refuses the splice modes. No mount: a fake executor.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import t from 'tap';
import { addon, type ReadExecutor } from '../../src/addon.js';
import type { ReadMode } from '../../src/api/options.js';
import { ReadPath } from '../../src/datapath/read.js';
import { BackingFiles } from '../../src/datapath/backing.js';
import type { FileHandle } from '../../src/passthrough/handles.js';
import type { Node } from '../../src/passthrough/inodes.js';

const C = addon.constants;
const { EINVAL } = constants.errno;
const fileFailure = -((C.stage.FILE << 12) | EINVAL);

function executor(pipeBytes: number): ReadExecutor {
  return { read: (_fd, _u, _p, _o, size) => size, pipeBytes, sizeError: 0, lastPath: C.readPath.COPY, close() {} };
}

let nextFh = 1;
function handle(): FileHandle {
  const node: Node = { nodeid: 2, dev: 1n, ino: 12n, mountIno: 12n, nlookup: 1, noSplice: false, heldFd: 30, reopen: null, parent: null, refs: 0, opens: 1 };
  return { fh: nextFh++, fd: 55, node, plan: null, writable: false, append: false };
}

function readPath(mode: ReadMode, pipeBytes = 1 << 20): ReadPath {
  const logger = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
  return new ReadPath({ mode, backing: new BackingFiles({ devfd: -1, logger }), header: 'patch', executor: executor(pipeBytes), maxRead: 1 << 20, spliceMin: 8192, logger, onDeviceError() {} });
}

const pathOf = (rp: ReadPath, h: FileHandle) => rp.planFor(h).path;

t.test('handles planned before a switch keep their plan; new ones follow', async (t) => {
  const rp = readPath('auto');
  const before = handle();
  rp.plan(before); // made at open
  t.equal(rp.setMode('copy'), 'auto', 'setMode returns the previous mode');
  t.equal(rp.mode, 'copy', 'mode is the new one');
  const after = handle();
  rp.plan(after);
  t.equal(pathOf(rp, before), 'splice', 'opened before: still splice');
  t.equal(pathOf(rp, after), 'copy', 'opened after: copy');
  t.equal(rp.plan(before)[C.planFields.indexOf('path')], C.readPath.SPLICE, "the executor's plan of the early handle is unchanged");

  rp.setMode('splice');
  const third = handle();
  t.equal(pathOf(rp, third), 'splice', 'back to splice: new opens splice');
  t.equal(pathOf(rp, after), 'copy', 'the handle opened in copy mode stays copy');
});

t.test("a failure is judged by the handle's own mode", async (t) => {
  const rp = readPath('copy');
  const copyHandle = handle();
  rp.plan(copyHandle);
  rp.setMode('auto');
  t.same(rp.decide(fileFailure, copyHandle), { do: 'error', errno: EINVAL }, 'planned in copy mode: pread EINVAL is an error');

  const autoHandle = handle();
  rp.plan(autoHandle);
  rp.setMode('copy');
  t.same(rp.decide(fileFailure, autoHandle), { do: 'copy', reason: 'noSpliceRead' }, 'planned in auto mode: no splice_read, copied');
});

t.test('a read path without a pipe refuses the splice modes', async (t) => {
  const rp = readPath('copy', 0);
  t.throws(() => rp.setMode('splice'), /needs pipes, and this mount started in copy mode/, 'splice refused');
  t.throws(() => rp.setMode('auto'), /needs pipes/, 'auto refused');
  t.equal(rp.mode, 'copy', 'still copy');
  t.equal(rp.setMode('copy'), 'copy', 'copy is accepted');
});
