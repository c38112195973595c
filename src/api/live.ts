// What a running mount shows and takes from outside while it serves: its control socket
// (`splicefs stats`, `splicefs set`; src/control/server.ts) and, when asked for, its Prometheus
// endpoint (src/control/metrics.ts). Both are opened before mount(2), so a taken port fails
// the mount before anything is mounted and no socket path can be inside the mount; they
// answer once the mount is ready (attach) and are closed when it ends (close), whatever ends it.
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { MetricsServer, showHostPort, type MetricsOptions } from '../control/metrics.js';
import type { ControlTarget, LiveStats, SetResult } from '../control/protocol.js';
import { ControlServer } from '../control/server.js';
import { socketPath } from '../control/socket-path.js';
import { READ_MODES, type ReadMode } from './options.js';
import { isInside } from './setup.js';
import type { Stats } from './stats.js';


export interface LiveOptions {
  /** The resolved mountpoint's bytes (the socket's name derives from them). */
  mountpoint: Buffer;
  /** Make the control socket (default true); a failure to make it is a warning, not an error. */
  control: boolean;
  metrics?: MetricsOptions;
  logger: Logger;
}

/** What the surfaces read from and change in the running mount. */
export interface LiveSource {
  mountpoint: string;
  source: string;
  startReadMode: ReadMode;
  stats(): Stats;
  readMode(): ReadMode;
  /** Returns the previous mode; throws an Error (one line) when the mode cannot be used. */
  setReadMode(mode: ReadMode): ReadMode;
}

export class LiveSurfaces {
  private startedAt = 0;
  private metricsWhere: string | null = null;

  private constructor(
    readonly control: ControlServer | null,
    readonly metrics: MetricsServer | null,
  ) {
    if (metrics) this.metricsWhere = showHostPort(metrics.address.host, metrics.address.port);
  }

  /**
   * Open the control socket and the metrics endpoint. Rejects with the metrics endpoint's
   * SplicefsError (a taken port: the mount must not go ahead without what was asked for); a
   * control socket that cannot be made is logged as a warning (the mount serves without it).
   */
  static async open(o: LiveOptions): Promise<LiveSurfaces> {
    const metrics = o.metrics ? await MetricsServer.open(o.metrics) : null;
    let control: ControlServer | null = null;
    if (o.control) {
      const path = socketPath(o.mountpoint);
      try {
        // A mount over the socket's directory would put the socket behind the mount this
        // process serves: reaching it synchronously (at exit, say) would wait on ourselves.
        const dir = Buffer.from(dirname(path));
        if (dir.equals(o.mountpoint) || isInside(dir, o.mountpoint)) throw new Error('the socket directory is inside the mount');
        control = await ControlServer.open(path, o.logger);
      } catch (err) {
        o.logger.warn({ socket: path, err: (err as Error).message }, 'no control socket: splicefs stats and set will not reach this mount');
      }
    }
    return new LiveSurfaces(control, metrics);
  }

  /** Where `splicefs stats` reaches this mount, and the metrics endpoint, for the mount line. */
  get where(): { controlSocket: string | null; metrics: string | null } {
    return { controlSocket: this.control?.path ?? null, metrics: this.metricsWhere };
  }

  /** The mount is ready: answer from `src` from now on. */
  attach(src: LiveSource): void {
    this.startedAt = Date.now();
    const snapshot = (): LiveStats => ({
      pid: process.pid,
      mountpoint: src.mountpoint,
      source: src.source,
      readMode: src.readMode(),
      startReadMode: src.startReadMode,
      uptimeMs: Date.now() - this.startedAt,
      rss: process.memoryUsage.rss(),
      metrics: this.metricsWhere,
      stats: src.stats(),
    });
    const target: ControlTarget = {
      snapshot,
      set: (name, value) => setting(src, name, value),
    };
    this.control?.attach(target);
    this.metrics?.attach(snapshot);
  }

  /** Remove the socket, close the endpoint. Idempotent. */
  async close(): Promise<void> {
    this.control?.close();
    await this.metrics?.close();
  }
}

/** `set NAME VALUE`: the one run-time setting there is. Throws an Error with the reply's line. */
function setting(src: LiveSource, name: string, value: string): SetResult {
  if (name !== 'read-mode') throw new Error(`unknown setting '${name}' (read-mode)`);
  if (!(READ_MODES as readonly string[]).includes(value)) throw new Error(`read-mode takes one of ${READ_MODES.join(', ')}, not '${value}'`);
  const mode = value as ReadMode;
  const previous = src.setReadMode(mode);
  return { name: 'read-mode', value: mode, previous, openFiles: src.stats().openFiles };
}
