// Open files: OPEN, RELEASE, FLUSH, FSYNC, LSEEK, and READ's resolution of a handle to "this
// fd, this range". How READ bytes travel (splice or copy) is datapath/read.ts's decision.
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import { FOPEN_DIRECT_IO } from '../../kernel/abi.js';
import { O_ACCMODE, O_NONBLOCK, O_RDONLY } from '../../kernel/linux.js';
import type { FlushIn, FsyncIn, LseekIn, OpenIn, ReadIn, ReleaseIn } from '../../kernel/request.js';
import type { OpenOut } from '../../kernel/reply.js';
import type { FileHandle } from '../handles.js';
import type { Caller, Passthrough } from '../fs.js';

const E = constants.errno;
const seekOut = new BigInt64Array(1);

export function open(fs: Passthrough, c: Caller, req: OpenIn): OpenOut | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  if ((req.flags & O_ACCMODE) !== O_RDONLY) return -E.EROFS;
  const fd = fs.inodes.open(node, (nfd) => addon.openProc(nfd, O_RDONLY | O_NONBLOCK));
  if (fd < 0) return fd;
  // A file whose size does not tell its content is read directly, or it reads as empty or cut.
  const direct = fs.directIo.decide(fd, fs.st) !== null;
  fs.inodes.pin(node); // an open file's node keeps its fd until RELEASE
  const h: FileHandle = { fh: 0, fd, node, plan: null };
  h.fh = fs.files.add(h);
  fs.cfg.onFileOpened?.(h);
  return { fh: h.fh, openFlags: direct ? FOPEN_DIRECT_IO : 0 };
}

/** What a READ asks of which open file. */
export interface ReadTarget {
  handle: FileHandle;
  offset: bigint;
  size: number;
}

export function readTarget(fs: Passthrough, _c: Caller, req: ReadIn): ReadTarget | number {
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  return { handle: h, offset: req.offset, size: req.size };
}

export function flush(_fs: Passthrough, _c: Caller, _req: FlushIn): void {
  // nothing is buffered on our side
}

export function fsync(_fs: Passthrough, _c: Caller, _req: FsyncIn): void {
  // read-only: nothing of ours to write back
}

export function release(fs: Passthrough, _c: Caller, req: ReleaseIn): void {
  const h = fs.files.get(req.fh);
  if (!h) return;
  fs.cfg.onFileReleased?.(h); // before its fd closes: no worker may use it after
  fs.files.release(req.fh);
  fs.inodes.unpin(h.node);
}

export function lseek(fs: Passthrough, _c: Caller, req: LseekIn): { offset: bigint } | number {
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  const r = addon.lseek(h.fd, BigInt.asIntN(64, req.offset), req.whence, seekOut);
  return r < 0 ? r : { offset: seekOut[0] };
}
