// The event loop reading /dev/fuse itself: the fd (O_NONBLOCK) watched by a uv_poll handle, and
// each wake-up draining what is there (one read returns one request, EAGAIN when none is left),
// up to a batch, so other work on the loop still gets its turn (the poll is level-triggered).
//
// The adaptive spin: when the device is empty, the loop keeps reading it for up to spinUs
// before it goes back to sleep in epoll. A process that works through a tree (tar, rm -rf, git)
// sends its next request a few microseconds after our reply; caught by the spin, it costs no
// wake-up of the loop (tens of µs on a VM, the larger part of a metadata request's round trip:
// untarring 20,000 files took 12 s without it and 6 s with it on this 2-core VM, by hand, see
// benchmarks/RESULTS.md). A spin that runs out is CPU spent for nothing, so, as the workers do
// (addon/spin.h), it spins only while recent spins caught requests, probing now and then.
// Used by DevFuseChannel (--threads 0) and by WorkerChannel while its workers are parked.
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { addon, type Watcher } from '../addon.js';
import { errnoName } from '../errors.js';
import type { IdleWork } from './channel.js';

const E = constants.errno;
/** Requests drained per wake-up before yielding to the event loop. */
const BATCH = 256;
/** Spins that caught a request, kept as credit: at 0 the loop sleeps at once (addon/spin.h). */
const CREDIT_MAX = 4;
/** Without credit, every PROBE_EVERY-th wait spins anyway, to notice requests coming close again. */
const PROBE_EVERY = 8;

/** What the loop reader counts (stats().loop). */
export interface LoopReadCounts {
  /** requests the event loop read from the device itself */
  reads: number;
  /** waits a spin ended with a request (a wake-up saved) */
  spinHits: number;
  /** spins that ran out (CPU spent for nothing) */
  spinMisses: number;
}

export class LoopReader {
  readonly counts: LoopReadCounts = { reads: 0, spinHits: 0, spinMisses: 0 };
  private watcher: Watcher | null = null;
  private readonly buf: Buffer;
  private credit = CREDIT_MAX;
  private waits = 0;

  /**
   * fd: an O_NONBLOCK /dev/fuse fd of the connection; requestBytes: the read buffer
   * (requestBufferSize); spinUs: microseconds to keep reading an empty device (0: never).
   */
  constructor(private readonly fd: number, requestBytes: number, private readonly spinUs: number) {
    this.buf = Buffer.allocUnsafe(requestBytes);
  }

  get running(): boolean {
    return this.watcher !== null;
  }

  /**
   * Start reading: onRequest(buf, length) per request (buf valid during the call only);
   * onEnd(why) once the connection is gone or the device failed; idle() when the device is
   * empty (channel.ts IdleWork). A no-op while running.
   */
  start(onRequest: (buf: Buffer, length: number) => void, onEnd: (why: string) => void, idle?: IdleWork): void {
    if (this.watcher) return;
    this.watcher = new addon.Watcher(this.fd, (status) => {
      for (let i = 0; i < BATCH && this.watcher; i++) {
        let n = addon.read(this.fd, this.buf);
        // Nothing to read: housekeeping, a short step at a time with a look at the device after
        // each, so a request that comes meanwhile waits about as long as a spin would.
        if (idle) while (n === -E.EAGAIN && idle()) n = addon.read(this.fd, this.buf);
        if (n === -E.EAGAIN && this.spinUs > 0) n = this.spin();
        if (n >= 0) {
          this.counts.reads++;
          onRequest(this.buf, n);
          continue;
        }
        const e = -n;
        if (e === E.EAGAIN) {
          if (status < 0 && i === 0) onEnd('device error'); // poll error and nothing to read
          return;
        }
        if (e === E.EINTR || e === E.ENOENT) continue; // ENOENT: request aborted before we read it
        return onEnd(e === E.ENODEV ? 'unmounted' : `device read error: ${errnoName(e)}`);
      }
    });
  }

  /** Stop watching the device. Idempotent; start() may follow. */
  stop(): void {
    this.watcher?.stop();
    this.watcher = null;
  }

  /** The device was empty: read it again until a request comes or spinUs is over. */
  private spin(): number {
    if (this.credit === 0 && ++this.waits % PROBE_EVERY !== 0) return -E.EAGAIN;
    const until = performance.now() + this.spinUs / 1000;
    do {
      const n = addon.read(this.fd, this.buf);
      if (n !== -E.EAGAIN) {
        if (this.credit < CREDIT_MAX) this.credit++;
        this.counts.spinHits++;
        return n;
      }
    } while (performance.now() < until);
    if (this.credit > 0) this.credit--;
    this.counts.spinMisses++;
    return -E.EAGAIN;
  }
}
