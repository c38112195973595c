// The worker-thread channel: N native threads, each reading a cloned /dev/fuse fd (addon/
// workers.cc). A thread executes a READ whose handle has a registered plan without entering
// JavaScript, so a slow backing read blocks one worker, never the event loop. Every other
// request (and a READ whose plan failed before the device, with the failure code) is handed to
// the event loop by slot, with no copy: the slot's buffer is the request, until release().
import { addon, countersByName, type PlanArray, type ReadCounters, type Workers } from '../addon.js';
import type { Channel, RequestSink } from './channel.js';

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
}

/** Request buffers per worker: one being read into, one handed over, one spare. */
const SLOTS_PER_THREAD = 3;

export class WorkerChannel implements Channel {
  readonly name = 'worker threads';
  private workers: Workers | null = null;
  private readonly meta = new Float64Array(3);
  private readonly last: Float64Array;

  constructor(private readonly cfg: WorkerChannelConfig) {
    this.last = new Float64Array(addon.constants.workerCounters.length);
  }

  /** Throws (one line) if a worker's fd cannot be cloned. */
  start(sink: RequestSink, onEnd: (why: string) => void): void {
    const c = this.cfg;
    const drain = (ended: boolean): void => {
      const w = this.workers;
      if (!w) return;
      for (;;) {
        const slot = w.take(this.meta);
        if (slot < 0) break;
        try {
          sink(w.slots[slot], this.meta[0], this.meta[1], this.meta[2]);
        } finally {
          w.release(slot);
        }
        if (!this.workers) return; // the sink ended the session
      }
      if (ended) onEnd('unmounted');
    };
    this.workers = new addon.Workers(
      c.masterFd, c.threads, c.pipeBytes, c.maxRead, c.requestBytes, c.threads * SLOTS_PER_THREAD, c.counters, drain, c.spinUs,
    );
  }

  send(fd: number, buf: Uint8Array, length: number): number {
    return addon.write(fd, buf, length);
  }

  register(fh: number, plan: PlanArray): void {
    this.workers?.register(fh, plan);
  }

  unregister(fh: number): void {
    this.workers?.unregister(fh);
  }

  counters(): Record<string, number> {
    this.workers?.counters(this.last); // after stop, the last values stay
    return countersByName(addon.constants.workerCounters, this.last);
  }

  stop(): void {
    if (!this.workers) return;
    this.workers.counters(this.last);
    this.workers.stop();
    this.workers = null;
  }
}
