// The debug log of a session: a line per request and per reply (print.ts makes them), with the
// node's path, for every request whichever thread answered it. It exists only when the logger is
// at debug level (DebugLog.for returns null otherwise), so the dispatcher, the READ hook and the
// worker channel each pay one null check per request when debug is off, and build nothing.
//
// Paths: the server never keeps them (it reaches nodes by fd), so while this log exists the
// inode table tells it each name a lookup finds (passthrough/node-names.ts).
import type { Logger } from 'pino';
import type { ReadPath } from '../datapath/read.js';
import type { Request } from '../kernel/request.js';
import type { Passthrough } from '../passthrough/fs.js';
import { NodeNames } from '../passthrough/node-names.js';
import type { ServedRead, ServedSink } from '../transport/channel.js';
import { readReplyLine, replyLine, requestLine, servedLines } from './print.js';

export class DebugLog implements ServedSink {
  private readonly names: NodeNames;

  /** The session's debug log, or null when the logger is not at debug level. */
  static for(fs: Passthrough, logger: Logger): DebugLog | null {
    return logger.isLevelEnabled('debug') ? new DebugLog(fs, logger) : null;
  }

  private constructor(
    private readonly fs: Passthrough,
    private readonly logger: Logger,
  ) {
    this.names = new NodeNames(fs.inodes.root);
    fs.inodes.names = this.names;
  }

  /** The path of a node the kernel names by nodeid, if the node is still known. */
  readonly pathOf = (nodeid: number): string | undefined => {
    const node = this.fs.inodes.get(nodeid);
    return node ? this.names.pathOf(node) : undefined;
  };

  /** A request the event loop is about to handle; `prior`: a worker's failed READ plan. */
  request(req: Request, prior: number): void {
    this.logger.debug(requestLine(req, this.pathOf, prior), 'request');
  }

  /** A reply the dispatcher sent: `result` < 0 is -errno, else the reply in buf[0, len). */
  reply(opcode: number, unique: bigint, result: number, len: number, buf: Buffer): void {
    this.logger.debug(replyLine(opcode, unique, result, len, buf), 'reply');
  }

  /** A READ the event loop answered through the data path (its outcome is readPath.last). */
  readReply(unique: bigint, rp: ReadPath): void {
    this.logger.debug(readReplyLine(unique, { ...rp.last, how: rp.lastHow() }), 'reply');
  }

  /** A READ a worker thread answered on its own (reported by the channel afterwards). */
  read(r: ServedRead): void {
    const [req, rep] = servedLines(r, this.pathOf);
    this.logger.debug(req, 'request');
    this.logger.debug(rep, 'reply');
  }

  dropped(n: number): void {
    this.logger.debug({ dropped: n }, 'worker READ lines dropped: the log could not keep up');
  }
}
