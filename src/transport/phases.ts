// When the worker threads read the device and when the event loop does (transport/workers.ts).
//
// Workers reading pays off for the requests they answer themselves (READ, and WRITE, FSYNC,
// FALLOCATE of a handle with a plan): those never wake the event loop. Every other request costs
// a wake-up of the loop after the worker read it, on top of the worker's own; a tree walk (tar,
// rm -rf, git checkout, a build) is almost nothing but such requests. So: while the workers hand
// over nearly all they read, they park and the event loop reads the device itself (with its
// adaptive spin, loop-reader.ts), passing the few requests the workers execute to them; once
// those become common again, the workers read again. Pure: no I/O, so it is unit-tested alone.

/** Requests per decision, in both phases. */
export const PHASE_WINDOW = 64;
/**
 * Park after a window in which the workers answered at most this many requests themselves.
 * An untar with server-side writes has them answer 2 of each file's 10 (WRITE and FLUSH).
 */
export const PARK_MAX_ANSWERED = 16;
/**
 * Unpark once this many requests of a loop window went to the workers: a stream of READs or
 * WRITEs then pays a worker's wake-up each and saves few of the loop's. Above
 * PARK_MAX_ANSWERED, so that a mix near the line does not switch back and forth each window.
 */
export const UNPARK_DATA = 24;

/** The decisions taken, for stats().loop. */
export interface PhaseCounts {
  /** times the workers parked (the event loop took over the device) */
  parks: number;
  /** times they went back to reading it */
  unparks: number;
}

export class PhasePolicy {
  readonly counts: PhaseCounts = { parks: 0, unparks: 0 };
  private parkedNow = false;
  // workers phase: the worker counters at the start of the window
  private forwarded0 = 0;
  private answered0 = 0;
  // loop phase: requests the loop read in this window, and how many of them went to a worker
  private seen = 0;
  private data = 0;

  get parked(): boolean {
    return this.parkedNow;
  }

  /**
   * Workers phase, after the event loop took what the workers handed over: `forwarded` and
   * `answered` are the workers' running totals (requests handed over, and requests of their
   * kind: answered by a worker, or a READ whose plan failed there).
   * True: park the workers now.
   */
  afterHandOver(forwarded: number, answered: number): boolean {
    if (this.parkedNow) return false;
    const f = forwarded - this.forwarded0;
    const a = answered - this.answered0;
    if (f + a < PHASE_WINDOW) return false;
    this.forwarded0 = forwarded;
    this.answered0 = answered;
    if (a * PHASE_WINDOW > PARK_MAX_ANSWERED * (f + a)) return false;
    this.parkedNow = true;
    this.counts.parks++;
    this.seen = this.data = 0;
    return true;
  }

  /**
   * Loop phase, for each request the loop read: `toWorker` when it was passed to a worker.
   * True: unpark the workers now; `forwarded` and `answered` start the next workers window.
   */
  afterLoopRead(toWorker: boolean, forwarded: () => { forwarded: number; answered: number }): boolean {
    if (!this.parkedNow) return false;
    this.seen++;
    if (toWorker) this.data++;
    if (this.data >= UNPARK_DATA) {
      this.parkedNow = false;
      this.counts.unparks++;
      const c = forwarded();
      this.forwarded0 = c.forwarded;
      this.answered0 = c.answered;
      return true;
    }
    if (this.seen >= PHASE_WINDOW) this.seen = this.data = 0;
    return false;
  }
}
