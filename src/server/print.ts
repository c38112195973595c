// Debug output a person can read: one line per request and per reply, naming things. The
// opcode by name, the node by its path in the mount ("/dir/file"; LOOKUP: the parent's path
// and the name looked up), offsets and sizes, open flags by name (O_RDONLY|O_NONBLOCK), errors
// by name (ENOENT, not -2). Built only when the logger is at debug level: callers check first,
// so nothing here runs (no decoding, no strings) otherwise.
//
// A line is a flat record of fields, so JSON logs stay easy to filter (jq 'select(.op ==
// "READ")'); the pretty log (log-pretty.ts) writes the same record as "-> READ #12 k=v ...".
// 64-bit values the kernel chose (unique, offsets) are strings when they do not fit a double
// exactly; unique always is (as in every line before). No field is named like one pino writes
// itself (name, pid, hostname, level, time, msg): a JSON line never has a key twice.
import { addon, decodeFailure } from '../addon.js';
import { errnoName } from '../errors.js';
import { FUSE_GETATTR_FH, fuse_entry_out, fuse_open_out, fuse_out_header, Opcode, opcodeName } from '../kernel/abi.js';
import * as D from '../kernel/request.js';
import type { Request } from '../kernel/request.js';
import { showPath } from '../paths.js';
import type { ServedRead } from '../transport/channel.js';
import { accessMaskNames, fopenFlagNames, openFlagNames, whenceName } from './flag-names.js';

/** A node's path in the mount ("/" for the root), or undefined when no name is known. */
export type PathOf = (nodeid: number) => string | undefined;

export type Line = Record<string, unknown>;

/** A 64-bit value as a JSON number where exact, else as a string (pino cannot write a bigint). */
function u64(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v);
}

const STAGES = new Map(Object.entries(addon.constants.stage).map(([name, code]) => [code, name]));

/** A READ plan's failure code -(stage << 12 | errno) as "PIPE_TOO_SMALL" or "FILE EINVAL". */
export function failureName(code: number): string {
  const { stage, errno } = decodeFailure(code);
  const name = STAGES.get(stage) ?? `stage ${stage}`;
  return errno ? `${name} ${errnoName(errno)}` : name;
}

/** The fields of the request's body worth a look, by opcode; {} for a body too short to decode. */
function bodyFields(req: Request, pathOf: PathOf): Line {
  try {
    switch (req.opcode) {
      case Opcode.LOOKUP:
        return { parent: pathOf(req.nodeid) ?? `nodeid ${req.nodeid}`, entry: showPath(D.decodeLookup(req).name) };
      case Opcode.READ:
      case Opcode.READDIR:
      case Opcode.READDIRPLUS: {
        const b = D.decodeRead(req);
        return { fh: b.fh, offset: u64(b.offset), size: b.size };
      }
      case Opcode.OPEN:
      case Opcode.OPENDIR:
        return { flags: openFlagNames(D.decodeOpen(req).flags) };
      case Opcode.RELEASE:
      case Opcode.RELEASEDIR:
        return { fh: D.decodeRelease(req).fh };
      case Opcode.FLUSH:
        return { fh: D.decodeFlush(req).fh };
      case Opcode.FSYNC:
        return { fh: D.decodeFsync(req).fh };
      case Opcode.GETATTR: {
        const b = D.decodeGetattr(req);
        return b.getattrFlags & FUSE_GETATTR_FH ? { fh: b.fh } : {};
      }
      case Opcode.GETXATTR: {
        const b = D.decodeGetxattr(req);
        return { xattr: showPath(b.name), size: b.size };
      }
      case Opcode.LISTXATTR:
        return { size: D.decodeListxattr(req).size };
      case Opcode.ACCESS:
        return { mask: accessMaskNames(D.decodeAccess(req).mask) };
      case Opcode.LSEEK: {
        const b = D.decodeLseek(req);
        return { fh: b.fh, offset: u64(b.offset), whence: whenceName(b.whence) };
      }
      case Opcode.FORGET:
        return { nlookup: D.decodeForget(req).nlookup };
      case Opcode.BATCH_FORGET:
        return { count: D.decodeBatchForget(req).length };
      case Opcode.INTERRUPT:
        return { interrupts: String(D.decodeInterrupt(req).unique) };
      case Opcode.INIT: {
        const b = D.decodeInit(req);
        return { protocol: `${b.major}.${b.minor}` };
      }
      default:
        return {};
    }
  } catch {
    return {}; // malformed: the handler says so in its own line
  }
}

/**
 * The debug line of a request: op, unique, the node (its path, or the parent's path and the
 * name looked up, `entry`, for LOOKUP), the body's fields, the caller (uid, callerPid);
 * `prior` is the failure of the READ plan a worker tried before handing the request over.
 */
export function requestLine(req: Request, pathOf: PathOf, prior = 0): Line {
  const line: Line = { op: opcodeName(req.opcode), unique: String(req.unique) };
  if (req.opcode !== Opcode.LOOKUP && req.opcode !== Opcode.INIT) {
    const path = pathOf(req.nodeid);
    if (path !== undefined) line.path = path;
    else line.nodeid = req.nodeid;
  }
  Object.assign(line, bodyFields(req, pathOf));
  line.uid = req.uid;
  line.callerPid = req.pid;
  if (prior < 0) line.workerTried = failureName(prior);
  return line;
}

/**
 * The debug line of a reply the dispatcher sent: the error by name, or its length and what the
 * kernel will remember from it (LOOKUP: the nodeid; OPEN: the handle and FOPEN flags), read
 * back from the reply bytes in `buf`.
 */
export function replyLine(opcode: number, unique: bigint, result: number, len: number, buf: Buffer): Line {
  const line: Line = { op: opcodeName(opcode), unique: String(unique) };
  if (result < 0) {
    line.error = errnoName(result);
    return line;
  }
  const body = fuse_out_header.size;
  if (opcode === Opcode.LOOKUP && len >= body + fuse_entry_out.size) {
    line.nodeid = u64(buf.readBigUInt64LE(body + fuse_entry_out.off.nodeid));
  } else if ((opcode === Opcode.OPEN || opcode === Opcode.OPENDIR) && len >= body + fuse_open_out.size) {
    line.fh = u64(buf.readBigUInt64LE(body + fuse_open_out.off.fh));
    line.fopen = fopenFlagNames(buf.readUInt32LE(body + fuse_open_out.off.open_flags));
  }
  line.len = len;
  return line;
}

/** What the data path did with a READ (datapath/read.ts ReadPath.last). */
export interface ReadOutcome {
  /** data bytes sent */
  bytes: number;
  how: 'splice' | 'copy';
  /** why a copy stood in for a splice, or null */
  fallback: string | null;
  /** errno of the device refusing the reply (ENOENT: the request was interrupted), or 0 */
  refused: number;
}

/** The reply line of a READ the event loop answered through the data path. */
export function readReplyLine(unique: bigint, o: ReadOutcome): Line {
  const line: Line = { op: 'READ', unique: String(unique) };
  if (o.refused) line.refused = errnoName(o.refused);
  else {
    line.bytes = o.bytes;
    line.how = o.how;
    if (o.fallback) line.fallback = o.fallback;
  }
  line.by = 'loop';
  return line;
}

/** The request and reply lines of a READ a worker thread answered (the event loop never saw it). */
export function servedLines(r: ServedRead, pathOf: PathOf): [Line, Line] {
  const unique = String(r.unique);
  const path = pathOf(r.nodeid);
  const req: Line = { op: 'READ', unique, ...(path !== undefined ? { path } : { nodeid: r.nodeid }) };
  Object.assign(req, { fh: r.fh, offset: u64(r.offset), size: r.size, by: 'worker', thread: r.thread });
  const rep: Line = { op: 'READ', unique };
  if (r.result < 0) rep.refused = errnoName(decodeFailure(r.result).errno);
  else Object.assign(rep, { bytes: r.result, how: r.path });
  Object.assign(rep, { by: 'worker', thread: r.thread });
  return [req, rep];
}
