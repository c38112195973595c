// The debug log of a session: a line per request and per reply (print.ts makes them), with the
// node's path, whichever thread answered it. It exists only when the logger is at debug level
// (DebugLog.for returns null otherwise), so the dispatcher, the READ hook and the worker channel
// each pay one null check per request when debug is off, and build nothing.
//
// READs are at trace, not debug: a line per READ costs more than a person debugging a mount
// usually wants to pay (measured with the benchmark, 4 KiB random reads at queue depth 16: 2.5x
// to 4x slower at debug with READ lines than at info, and the log still lost most worker READ
// records; README "Logs"). At debug a READ shows up when it fails (request and error reply);
// at trace every READ does, the worker threads' included (they report them only then).
//
// Paths: the server never keeps them (it reaches nodes by fd), so while this log exists the
// inode table tells it each name a lookup finds (passthrough/node-names.ts).
import type { Logger } from 'pino';
import { Opcode } from '../kernel/abi.js';
import type { ReadPath } from '../datapath/read.js';
import type { Request } from '../kernel/request.js';
import type { Passthrough } from '../passthrough/fs.js';
import { NodeNames } from '../passthrough/node-names.js';
import type { ServedRead, ServedSink } from '../transport/channel.js';
import { readReplyLine, replyLine, requestLine, servedLines } from './print.js';

export class DebugLog implements ServedSink {
  private readonly names: NodeNames;
  /** Every READ gets its lines (trace); else only failed ones (debug). */
  readonly traceReads: boolean;

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
    this.traceReads = logger.isLevelEnabled('trace');
  }

  /** The path of a node the kernel names by nodeid, if the node is still known. */
  readonly pathOf = (nodeid: number): string | undefined => {
    const node = this.fs.inodes.get(nodeid);
    return node ? this.names.pathOf(node) : undefined;
  };

  /** A request the event loop is about to handle; `prior`: a worker's failed READ plan. */
  request(req: Request, prior: number): void {
    if (req.opcode !== Opcode.READ) this.logger.debug(requestLine(req, this.pathOf, prior), 'request');
    else if (this.traceReads) this.logger.trace(requestLine(req, this.pathOf, prior), 'request');
  }

  /**
   * A reply the dispatcher sent for `req`: `result` < 0 is -errno, else the reply in
   * buf[0, len). A failed READ at debug brings its request line, which was not printed.
   */
  reply(req: Request, prior: number, result: number, len: number, buf: Buffer): void {
    const line = replyLine(req.opcode, req.unique, result, len, buf);
    if (req.opcode !== Opcode.READ) this.logger.debug(line, 'reply');
    else if (this.traceReads) this.logger.trace(line, 'reply');
    else if (result < 0) {
      this.logger.debug(requestLine(req, this.pathOf, prior), 'request');
      this.logger.debug(line, 'reply');
    }
  }

  /** A READ the event loop answered through the data path (its outcome is readPath.last). */
  readReply(unique: bigint, rp: ReadPath): void {
    if (this.traceReads) this.logger.trace(readReplyLine(unique, { ...rp.last, how: rp.lastHow() }), 'reply');
  }

  /** A READ a worker thread answered on its own (reported by the channel, at trace only). */
  read(r: ServedRead): void {
    const [req, rep] = servedLines(r, this.pathOf);
    this.logger.trace(req, 'request');
    this.logger.trace(rep, 'reply');
  }

  dropped(n: number): void {
    this.logger.debug({ dropped: n }, 'worker READ lines dropped: the log could not keep up');
  }
}
