// One request, whatever channel it came from: decode the header, run the opcode's row, write the
// reply back on the fd the request came from. The dispatcher never knows which transport it runs
// on, and never decides how READ bytes travel (the READ row hands that to datapath/read.ts).
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { addon } from '../addon.js';
import { Opcode, opcodeName } from '../kernel/abi.js';
import { MalformedRequest, Request } from '../kernel/request.js';
import type { Reply } from '../kernel/reply.js';
import type { DebugLog } from './debug-log.js';
import type { OpTable, Via } from './optable.js';

const E = constants.errno;

export interface DispatchHooks {
  /** Sends a reply: bytes written or -errno. */
  send(fd: number, buf: Uint8Array, length: number): number;
  /** A reply could not be written (ENOENT = interrupted, ENODEV = unmounted). */
  onDeviceError(errno: number): void;
  /** Whether INIT has been answered (every other request before it gets EIO). */
  initialized(): boolean;
  /** The INIT reply reached the kernel. */
  onInitSent(): void;
}

export class Dispatcher {
  private readonly req = new Request();
  private readonly counts: number[] = [];
  private readonly via: Via = { replyFd: -1, prior: 0 };

  /** `debug`: the session's debug log (a line per request and reply), null when debug is off. */
  constructor(
    private readonly table: OpTable,
    private readonly rep: Reply,
    private readonly hooks: DispatchHooks,
    private readonly logger: Logger,
    private readonly debug: DebugLog | null = null,
  ) {}

  /** Requests handled on the event loop, by opcode name. */
  requestCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    this.counts.forEach((n, op) => {
      if (n) out[opcodeName(op)] = n;
    });
    return out;
  }

  /** Handle the request in buf[0, length), replying on replyFd (a channel's RequestSink). */
  readonly dispatch = (buf: Buffer, length: number, replyFd: number, prior: number): void => {
    const req = this.req;
    try {
      req.load(buf, length);
    } catch (err) {
      this.logger.error({ err: String(err) }, 'malformed request header');
      return;
    }
    const op = req.opcode;
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    if (this.debug !== null) this.debug.request(req, prior);
    this.via.replyFd = replyFd;
    this.via.prior = prior;
    const row = this.table[op];
    let res: number;
    try {
      if (op !== Opcode.INIT && !this.hooks.initialized()) res = -E.EIO;
      else res = row ? row.run(req, this.rep, this.via) : -E.ENOSYS;
    } catch (err) {
      if (row?.noReply) res = 0;
      else if (err instanceof MalformedRequest) {
        this.logger.warn({ op: opcodeName(op), err: err.message }, 'malformed request');
        res = -E.EINVAL;
      } else {
        this.logger.error({ op: opcodeName(op), err }, 'handler failed');
        res = -E.EIO;
      }
    }
    if (res === 0) return; // no reply (FORGET, INTERRUPT), or the data path already replied
    const len = res > 0 ? this.rep.finish(req.unique, res) : this.rep.error(req.unique, res);
    if (this.debug !== null) this.debug.reply(req, prior, res, len, this.rep.buf);
    // takeFault: a test hook (addon/faults.h), 0 unless armed: "the INIT reply write failed".
    const injected = op === Opcode.INIT ? addon.takeFault('init') : 0;
    const w = injected < 0 ? injected : this.hooks.send(replyFd, this.rep.buf, len);
    if (w < 0) this.hooks.onDeviceError(-w);
    else if (op === Opcode.INIT && res > 0) this.hooks.onInitSent();
  };
}
