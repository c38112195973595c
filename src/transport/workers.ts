// The worker-thread channel: N native threads, each reading a cloned /dev/fuse fd (addon/
// workers.cc). A thread executes a READ whose handle has a registered plan without entering
// JavaScript, so a slow backing read blocks one worker, never the event loop. Every other
// request (and a READ whose plan failed before the device, with the failure code) is handed to
// the event loop by slot, with no copy: the slot's buffer is the request, until release().
// With a ServedSink (the debug log), the threads also report each READ they answered, drained
// here on the same wake-up: without it those READs would be invisible in a debug log.
//
// Parking (phases.ts decides when): while the workers hand over nearly everything they read,
// they stop reading and the event loop reads the device itself (loop-reader.ts). It passes
// them, by submit, the READ, WRITE, FSYNC and FALLOCATE requests of handles with a plan (the
// ones they execute, so a slow backing file still blocks a worker and never the loop), and
// dispatches the rest itself. Not with spliced requests (--write-mode splice): a WRITE's payload
// can only be spliced by the thread that reads it from the device.
import { addon, countersByName, type PlanArray, type ReadCounters, type Workers } from '../addon.js';
import { fuse_in_header, Opcode } from '../kernel/abi.js';
import { largestRequest } from '../datapath/pipe-sizing.js';
import { isCapabilityGetxattr, planExecutesWrites, requestSplicing, type RequestSplicing } from '../datapath/write.js';
import { errnoName } from '../errors.js';
import type { Channel, IdleWork, RequestSink, ServedSink } from './channel.js';
import { LoopReader } from './loop-reader.js';
import { PhasePolicy } from './phases.js';

export interface WorkerChannelConfig {
  masterFd: number;
  threads: number;
  /** pipe size each worker asks for (bytes) */
  pipeBytes: number;
  maxRead: number;
  requestBytes: number;
  /** microseconds a worker keeps polling for the next request before it sleeps (0 = never) */
  spinUs: number;
  /** the session's READ counters (shared with the event loop's executor) */
  counters: ReadCounters;
  /**
   * Whether requests are read by splice through the worker's pipe, so that a WRITE's payload
   * goes on into its file by splice: always (--write-mode splice), for streams of large WRITEs
   * (auto), or never (datapath/write.ts decides). Default never.
   */
  requestSplicing?: RequestSplicing;
  /** Let the workers park while the event loop answers nearly every request (default true). */
  park?: boolean;
}

/** A READ/WRITE/FSYNC/FALLOCATE body starts with fh, right after the header. */
const IN_HEADER_BYTES = fuse_in_header.size;
const OPCODE_AT = fuse_in_header.off.opcode;
const NODEID_AT = fuse_in_header.off.nodeid;

/** addon/write.h RequestSplicing::Mode, in its order. */
const SPLICING_MODES: readonly RequestSplicing['mode'][] = ['never', 'always', 'streams'];

/** Request buffers per worker: one being read into, one handed over, one spare. */
const SLOTS_PER_THREAD = 3;
/**
 * Records of served READs the threads keep for the debug log until the event loop prints them;
 * past it they are dropped (counted): a slow log never slows the workers down.
 */
const SERVED_CAPACITY = 4096;
const SF = addon.constants.servedFields;
/** A served record's field positions, by name (the addon says the order). */
const [UNIQUE, NODEID, FH, OFFSET, SIZE, RESULT, PATH, THREAD] = ['unique', 'nodeid', 'fh', 'offset', 'size', 'result', 'path', 'thread'].map((name) => {
  const i = SF.indexOf(name);
  if (i < 0) throw new Error(`the addon's served READ record has no field ${name}`);
  return i;
});

export class WorkerChannel implements Channel {
  readonly name = 'worker threads';
  private workers: Workers | null = null;
  private readonly meta = new Float64Array(3);
  private readonly last: Float64Array;
  private served: ServedSink | null = null;
  private servedBuf: BigInt64Array | null = null;
  private readonly policy = new PhasePolicy();
  private readonly loop: LoopReader | null;
  /** The plans registered, by fh, and handles per node: which requests a parked worker can be given. */
  private readonly plans = new Map<number, { plan: PlanArray; nodeid: number }>();
  private readonly nodeHandles = new Map<number, number>();
  private sink: RequestSink | null = null;
  /** Requests handed over with a failed plan (READs the workers tried): see drain. */
  private failedPlans = 0;
  private onEnd: ((why: string) => void) | null = null;
  /** Housekeeping for the event loop's empty-device moments while the workers are parked. */
  private idle: IdleWork | undefined;
  private readonly FORWARDED: number;
  private readonly ANSWERED: number;

  constructor(private readonly cfg: WorkerChannelConfig) {
    this.last = new Float64Array(addon.constants.workerCounters.length);
    this.FORWARDED = addon.constants.workerCounters.indexOf('forwarded');
    this.ANSWERED = addon.constants.workerCounters.indexOf('answered');
    // Not with spinUs 0 either: the workers then block in read(2), where only a signal would
    // reach them, and one could interrupt a backing read they are executing (addon park()).
    // Nor when every request is spliced: a WRITE's payload can only be spliced by the thread
    // that reads it from the device. Streams (auto) park like copy: the loop's WRITEs go by copy.
    const park = (cfg.park ?? true) && cfg.requestSplicing?.mode !== 'always' && cfg.spinUs > 0;
    this.loop = park ? new LoopReader(cfg.masterFd, cfg.requestBytes, cfg.spinUs) : null;
  }

  /** Throws (one line) if a worker's fd cannot be cloned. */
  start(sink: RequestSink, onEnd: (why: string) => void, served?: ServedSink, idle?: IdleWork): void {
    const c = this.cfg;
    const splicing = c.requestSplicing ?? requestSplicing('copy', false);
    this.idle = idle;
    this.served = served ?? null;
    this.sink = sink;
    this.onEnd = onEnd;
    const drain = (ended: boolean, endErrno = 0): void => {
      const w = this.workers;
      if (!w) return;
      if (this.served) this.drainServed(w, this.served);
      for (;;) {
        const slot = w.take(this.meta);
        if (slot < 0) break;
        // A READ handed over because its plan failed is still the workers' kind of request:
        // it counts against parking as if they had answered it (pipes too small for every
        // READ must not park the workers only to have each READ passed back and forth).
        if (this.meta[2] !== 0) this.failedPlans++;
        try {
          sink(w.slots[slot], this.meta[0], this.meta[1], this.meta[2]);
        } finally {
          w.release(slot);
        }
        if (!this.workers) return; // the sink ended the session
      }
      // An error other than ENODEV is no unmount: the session's end must say so (exit status 1).
      if (ended) onEnd(endErrno ? `device read error: ${errnoName(endErrno)}` : 'unmounted');
      else if (this.loop && !this.policy.parked) {
        const t = this.totals();
        if (this.policy.afterHandOver(t.forwarded, t.answered)) this.park(w);
      }
    };
    this.workers = new addon.Workers(
      c.masterFd, c.threads, c.pipeBytes, c.maxRead, c.requestBytes, c.threads * SLOTS_PER_THREAD, c.counters, drain, c.spinUs,
      served ? SERVED_CAPACITY : 0, splicing.mode === 'never' ? 0 : largestRequest(c.maxRead),
      Float64Array.of(SPLICING_MODES.indexOf(splicing.mode), splicing.largeWrite, splicing.enter, splicing.cap),
    );
  }

  /** The workers stop reading the device; the event loop reads it (onLoopRequest). */
  private park(w: Workers): void {
    w.park(true);
    this.loop?.start(this.onLoopRequest, (why) => this.onEnd?.(why), this.idle);
  }

  private unpark(): void {
    this.loop?.stop();
    this.workers?.park(false);
  }

  /** A request the event loop read while the workers are parked. */
  private readonly onLoopRequest = (buf: Buffer, length: number): void => {
    const w = this.workers;
    if (!w) return;
    const toWorker = this.forWorker(buf, length) && w.submit(buf, length);
    if (!toWorker) this.sink?.(buf, length, this.cfg.masterFd, 0);
    // A FLUSH goes to a worker only because its close(dup(fd)) may wait on the backing file:
    // one per close, it is metadata work's (untar's) and no sign of a stream, so it does not
    // count toward unparking.
    const data = toWorker && buf.readUInt32LE(OPCODE_AT) !== Opcode.FLUSH;
    if (this.workers && this.policy.afterLoopRead(data, () => this.totals())) this.unpark();
  };

  /** Whether a worker executes this request (addon/workers.cc AnsweredHere, write.cc ExecuteHandleOp). */
  private forWorker(buf: Buffer, length: number): boolean {
    if (length < IN_HEADER_BYTES + 8) return false;
    const op = buf.readUInt32LE(OPCODE_AT);
    if (op === Opcode.GETXATTR) return this.nodeHandles.has(Number(buf.readBigUInt64LE(NODEID_AT))) && isCapabilityGetxattr(buf, length);
    if (op !== Opcode.READ && op !== Opcode.WRITE && op !== Opcode.FSYNC && op !== Opcode.FALLOCATE && op !== Opcode.FLUSH) return false;
    const p = this.plans.get(Number(buf.readBigUInt64LE(IN_HEADER_BYTES)));
    // FLUSH: every plan has the worker answer it (write.ts workerPlan), by a close(dup(fd))
    // that can wait on the backing filesystem.
    return p !== undefined && (op === Opcode.READ || op === Opcode.FLUSH || planExecutesWrites(p.plan));
  }

  /** The totals the policy weighs: requests handed over, and the workers' own (answered, or a failed READ plan). */
  private totals(): { forwarded: number; answered: number } {
    this.workers?.counters(this.last);
    const failed = this.failedPlans;
    return { forwarded: this.last[this.FORWARDED] - failed, answered: this.last[this.ANSWERED] + failed };
  }

  /** Report the READs the threads served since the last call (debug log only). */
  private drainServed(w: Workers, sink: ServedSink): void {
    const recs = (this.servedBuf ??= new BigInt64Array(SERVED_CAPACITY * SF.length));
    const dropped = new Float64Array(1);
    for (;;) {
      const n = w.takeServed(recs, dropped);
      if (dropped[0] > 0) sink.dropped(dropped[0]);
      for (let at = 0; at < n * SF.length; at += SF.length) {
        sink.read({
          unique: BigInt.asUintN(64, recs[at + UNIQUE]),
          nodeid: Number(recs[at + NODEID]),
          fh: Number(recs[at + FH]),
          offset: BigInt.asUintN(64, recs[at + OFFSET]),
          size: Number(recs[at + SIZE]),
          result: Number(recs[at + RESULT]),
          path: Number(recs[at + PATH]) === addon.constants.readPath.SPLICE ? 'splice' : 'copy',
          thread: Number(recs[at + THREAD]),
        });
      }
      if (n < SERVED_CAPACITY) return;
    }
  }

  send(fd: number, buf: Uint8Array, length: number): number {
    return addon.write(fd, buf, length);
  }

  register(fh: number, plan: PlanArray, nodeid = 0): void {
    this.workers?.register(fh, plan, nodeid);
    if (!this.loop) return;
    const old = this.plans.get(fh);
    if (old && old.nodeid !== nodeid) this.unlinkNode(old.nodeid);
    if (nodeid !== 0 && old?.nodeid !== nodeid) this.nodeHandles.set(nodeid, (this.nodeHandles.get(nodeid) ?? 0) + 1);
    this.plans.set(fh, { plan, nodeid });
  }

  unregister(fh: number): void {
    this.workers?.unregister(fh);
    const old = this.plans.get(fh);
    if (old) this.unlinkNode(old.nodeid);
    this.plans.delete(fh);
  }

  private unlinkNode(nodeid: number): void {
    const n = (this.nodeHandles.get(nodeid) ?? 0) - 1;
    if (n > 0) this.nodeHandles.set(nodeid, n);
    else this.nodeHandles.delete(nodeid);
  }

  counters(): Record<string, number> {
    this.workers?.counters(this.last); // after stop, the last values stay
    const l = this.loop?.counts;
    return {
      ...countersByName(addon.constants.workerCounters, this.last),
      loopReads: l?.reads ?? 0,
      loopSpinHits: l?.spinHits ?? 0,
      loopSpinMisses: l?.spinMisses ?? 0,
      parks: this.policy.counts.parks,
      unparks: this.policy.counts.unparks,
    };
  }

  stop(): void {
    this.loop?.stop();
    if (!this.workers) return;
    this.workers.counters(this.last);
    this.workers.stop();
    // The threads are joined: print what they served last, so a debug log ends complete.
    if (this.served) this.drainServed(this.workers, this.served);
    this.workers = null;
  }
}
