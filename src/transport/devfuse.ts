// The event-loop channel (--threads 0): the event loop reads /dev/fuse itself (loop-reader.ts)
// and every request, READs included, is served on it.
import { addon } from '../addon.js';
import type { Channel, IdleWork, RequestSink, ServedSink } from './channel.js';
import { LoopReader } from './loop-reader.js';

export class DevFuseChannel implements Channel {
  readonly name = 'event loop';
  private readonly reader: LoopReader;

  /**
   * devfd: the connection's /dev/fuse fd (O_NONBLOCK); requestBytes: the read buffer
   * (requestBufferSize); spinUs: how long the loop keeps reading an empty device (loop-reader.ts).
   */
  constructor(private readonly devfd: number, requestBytes: number, spinUs: number) {
    this.reader = new LoopReader(devfd, requestBytes, spinUs);
  }

  start(sink: RequestSink, onEnd: (why: string) => void, _served?: ServedSink, idle?: IdleWork): void {
    this.reader.start((buf, n) => sink(buf, n, this.devfd, 0), onEnd, idle);
  }

  send(fd: number, buf: Uint8Array, length: number): number {
    return addon.write(fd, buf, length);
  }

  register(): void {} // READs are served on the loop with the plan the read path holds
  unregister(): void {}

  counters(): Record<string, number> {
    const c = this.reader.counts;
    return { loopReads: c.reads, loopSpinHits: c.spinHits, loopSpinMisses: c.spinMisses };
  }

  stop(): void {
    this.reader.stop();
  }
}
