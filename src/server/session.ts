// A session's lifetime: the channel delivering requests, INIT (answered once, waited on by
// mount()), and the end, when the kernel ends the connection, a device fails, or unmount aborts.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import type { ReadPath } from '../datapath/read.js';
import { InitFlag } from '../kernel/abi.js';
import type { InitIn } from '../kernel/request.js';
import { Reply, type InitOut } from '../kernel/reply.js';
import type { Passthrough } from '../passthrough/fs.js';
import type { ReadTarget } from '../passthrough/ops/files.js';
import type { Channel } from '../transport/channel.js';
import { DebugLog } from './debug-log.js';
import { Dispatcher } from './dispatch.js';
import { negotiate, type InitWants, type Negotiated } from './init.js';
import { buildOpTable, type Via } from './optable.js';
import type { WritePath } from '../datapath/write.js';

const E = constants.errno;

export interface SessionConfig {
  channel: Channel;
  fs: Passthrough;
  readPath: ReadPath;
  writePath: WritePath;
  reply: Reply;
  wants: InitWants;
  logger: Logger;
}

export class Session {
  /** Non-READ replies the kernel refused with ENOENT (their request was interrupted). */
  interrupted = 0;
  negotiated: Negotiated | null = null;
  readonly closed: Promise<string>;
  readonly dispatcher: Dispatcher;

  private pending: Negotiated | null = null;
  private done = false;
  private resolveClosed!: (why: string) => void;
  private initWaiters: Array<(n: Negotiated | Error) => void> = [];
  /** Lines per request and reply, only when the logger is at debug level. */
  private readonly debug: DebugLog | null;

  constructor(private readonly cfg: SessionConfig) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const debug = (this.debug = DebugLog.for(cfg.fs, cfg.logger));
    const table = buildOpTable({
      fs: cfg.fs,
      init: (inn) => this.init(inn),
      read: (unique: bigint, t: ReadTarget, via: Via) => {
        const r = cfg.readPath.serve(via.replyFd, unique, t.handle, t.offset, t.size, via.prior);
        if (debug !== null && r === 0) debug.readReply(unique, cfg.readPath);
        return r;
      },
      write: (t) => cfg.writePath.write(t),
    });
    this.dispatcher = new Dispatcher(table, cfg.reply, {
      send: (fd, buf, len) => cfg.channel.send(fd, buf, len),
      onDeviceError: this.onDeviceError,
      initialized: () => this.negotiated !== null,
      onInitSent: () => this.initSent(),
    }, cfg.logger, debug);
  }

  /** Start serving (after mount(2): a worker channel clones the connected device). Throws if the channel cannot start. */
  start(): void {
    // At trace the debug log also takes the READs worker threads answer without the event
    // loop; below trace the workers keep no record at all (that costs, see debug-log.ts).
    const served = this.debug?.traceReads ? this.debug : undefined;
    this.cfg.channel.start(this.dispatcher.dispatch, (why) => this.end(why), served, () => this.cfg.fs.idle());
  }

  /** Resolves once INIT has been answered (or rejects if the session ends first). */
  waitInit(): Promise<Negotiated> {
    if (this.negotiated) return Promise.resolve(this.negotiated);
    return new Promise((resolve, reject) => {
      this.initWaiters.push((n) => (n instanceof Error ? reject(n) : resolve(n)));
    });
  }

  get isClosed(): boolean {
    return this.done;
  }

  /** A reply could not be written: ENOENT = the request was interrupted, ENODEV = unmounted. */
  readonly onDeviceError = (errno: number): void => {
    if (errno === E.ENOENT) this.interrupted++;
    else if (errno === E.ENODEV) this.end('unmounted');
    else this.cfg.logger.warn({ errno }, 'reply write failed');
  };

  private init(inn: InitIn): InitOut | number {
    const r = negotiate(inn, this.cfg.wants);
    if ('error' in r) {
      this.cfg.logger.error({ major: inn.major }, r.error);
      return -E.EPROTO;
    }
    this.pending = r.negotiated;
    // Before the reply: the kernel sends nothing else until it has read it.
    this.cfg.fs.kernelAcls = (r.negotiated.flags & InitFlag.POSIX_ACL) !== 0n;
    this.cfg.readPath.negotiated(r.negotiated.flags);
    return r.out;
  }

  /** The INIT reply reached the kernel: the session is negotiated from now on. */
  private initSent(): void {
    if (!this.pending || this.negotiated) return;
    this.negotiated = this.pending;
    for (const wake of this.initWaiters.splice(0)) wake(this.negotiated);
  }

  /** Stop serving: the kernel ended the connection, or the device failed. Idempotent. */
  end(why: string): void {
    if (this.done) return;
    this.done = true;
    this.cfg.channel.stop(); // joins worker threads: none touches an fd after this
    for (const wake of this.initWaiters.splice(0)) wake(new Error(`session ended before INIT: ${why}`));
    this.resolveClosed(why);
  }
}
