// The event-loop channel: /dev/fuse opened O_NONBLOCK and watched by a uv_poll handle, so the
// loop learns when requests are pending without ever blocking on the device. Each wake-up
// drains what is there (one read returns one request, EAGAIN when none is left), up to a batch,
// so other work on the loop still gets its turn (the poll is level-triggered).
import { constants } from 'node:os';
import { addon, type Watcher } from '../addon.js';
import type { Channel, RequestSink } from './channel.js';

const E = constants.errno;
/** Requests drained per wake-up before yielding to the event loop. */
const BATCH = 256;

export class DevFuseChannel implements Channel {
  readonly name = 'event loop';
  private watcher: Watcher | null = null;
  private readonly buf: Buffer;

  /** devfd: the connection's /dev/fuse fd; requestBytes: the read buffer (requestBufferSize). */
  constructor(private readonly devfd: number, requestBytes: number) {
    this.buf = Buffer.allocUnsafe(requestBytes);
  }

  start(sink: RequestSink, onEnd: (why: string) => void): void {
    this.watcher = new addon.Watcher(this.devfd, (status) => {
      for (let i = 0; i < BATCH && this.watcher; i++) {
        const n = addon.read(this.devfd, this.buf);
        if (n >= 0) {
          sink(this.buf, n, this.devfd, 0);
          continue;
        }
        const e = -n;
        if (e === E.EAGAIN) {
          if (status < 0 && i === 0) onEnd('device error'); // poll error and nothing to read
          return;
        }
        if (e === E.EINTR || e === E.ENOENT) continue; // ENOENT: request aborted before we read it
        return onEnd(e === E.ENODEV ? 'unmounted' : 'device read error');
      }
    });
  }

  send(fd: number, buf: Uint8Array, length: number): number {
    return addon.write(fd, buf, length);
  }

  register(): void {} // READs are served on the loop with the plan the read path holds
  unregister(): void {}

  counters(): Record<string, number> {
    return {};
  }

  stop(): void {
    this.watcher?.stop();
    this.watcher = null;
  }
}
