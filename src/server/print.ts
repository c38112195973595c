// Debug output a person can read: one line per request and per reply, with the opcode's name and
// the errno's name (ENOENT, not -2). Built only when the logger is at debug level.
import { errnoName } from '../errors.js';
import { opcodeName } from '../kernel/abi.js';
import type { Request } from '../kernel/request.js';

/** Fields of the debug line for a request. */
export function requestLine(req: Request): Record<string, unknown> {
  return { op: opcodeName(req.opcode), unique: String(req.unique), nodeid: req.nodeid, len: req.length, uid: req.uid, pid: req.pid };
}

/** Fields of the debug line for a reply: its length, or the error by name. */
export function replyLine(opcode: number, unique: bigint, result: number, len: number): Record<string, unknown> {
  return { op: opcodeName(opcode), unique: String(unique), ...(result < 0 ? { error: errnoName(result) } : { len }) };
}
