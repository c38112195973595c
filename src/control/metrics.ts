// The Prometheus endpoint (`--metrics HOST:PORT`, API `metrics: {host, port}`): the counters
// of `splicefs stats` in the Prometheus text format, rendered by prom-client (the format's
// escaping, HELP/TYPE lines and content type are its job, not ours). Off unless asked for;
// listens on loopback unless a host is given; closed when the mount ends.
//
// The metrics themselves are metrics-registry.ts's, loaded only when an endpoint is asked for
// (prom-client costs every other run of the command line its load time).
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { OptionError, SplicefsError } from '../errors.js';
import type { LiveStats } from './protocol.js';

export interface MetricsOptions {
  /** Address to listen on (default 127.0.0.1: never every interface unless asked for). */
  host?: string;
  /** TCP port; 0 picks a free one (see MetricsServer.address). */
  port: number;
}

export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** What `--metrics` takes, as its messages say it. */
export const METRICS_TAKES = 'PORT, HOST:PORT or [IPv6]:PORT (a port from 0 to 65535)';

/**
 * `--metrics` as given: "PORT", "HOST:PORT" or "[IPv6]:PORT"; null if it is none of them or the
 * port is out of range (the CLI says so, with the option as typed and METRICS_TAKES).
 */
export function parseMetricsArg(arg: string): MetricsOptions | null {
  // No white space or '/' in a host: validateMetrics would refuse it later, with the API's words.
  const m = /^(?:\[([^\]\s/]+)\]:|([^:\s/]+):)?(\d+)$/.exec(arg);
  if (!m || Number(m[3]) > 65535) return null;
  return { host: m[1] ?? m[2] ?? DEFAULT_METRICS_HOST, port: Number(m[3]) };
}

/** Throws an OptionError (exit code 2) when the options are out of range. */
export function validateMetrics(m: MetricsOptions): void {
  if (typeof m !== 'object' || m === null) throw new OptionError('metrics', m, (name, v) => `${name} takes { port, host? }, not ${v}`);
  if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535)
    throw new OptionError('metrics.port', m.port, (name, v) => `${name} takes a whole number from 0 to 65535, not ${v}`);
  if (m.host !== undefined && (typeof m.host !== 'string' || m.host === '' || /[\s/]/.test(m.host)))
    throw new OptionError('metrics.host', m.host, (name, v) => `${name} takes a host name or address, not ${v}`);
}

/** "host:port", with an IPv6 address in brackets. */
export function showHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export class MetricsServer {
  private snapshot: (() => LiveStats) | null = null;

  private constructor(
    private readonly server: Server,
    /** Where it listens, as bound (the port 0 asked for is the real one here). */
    readonly address: { host: string; port: number },
  ) {}

  /**
   * Listen on opts.host (default 127.0.0.1) : opts.port. Rejects with a one-line SplicefsError
   * when the port is taken or the address cannot be used. GET /metrics answers 503 until
   * attach(), then the counters; any other path is 404.
   */
  static async open(opts: MetricsOptions): Promise<MetricsServer> {
    validateMetrics(opts);
    const host = opts.host ?? DEFAULT_METRICS_HOST;
    const { makeRegistry, update } = await import('./metrics-registry.js');
    const { registry, m } = makeRegistry();
    let self: MetricsServer | null = null;
    const server = createServer((req, res) => {
      const take = self?.snapshot;
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('splicefs: the metrics are at /metrics\n');
      } else if (!take) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('splicefs: the mount is starting\n');
      } else {
        update(m, take());
        void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, host, opts.port)));
      server.listen(opts.port, host, () => resolve());
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : opts.port;
    self = new MetricsServer(server, { host, port });
    return self;
  }

  /** Start serving the counters of `snapshot`. */
  attach(snapshot: () => LiveStats): void {
    this.snapshot = snapshot;
  }

  /** Stop listening and end every connection (keep-alive ones too). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): SplicefsError {
  const where = showHostPort(host, port);
  switch (err.code) {
    case 'EADDRINUSE':
      return new SplicefsError(`metrics: ${where} is already in use (choose another port)`);
    case 'EADDRNOTAVAIL':
      return new SplicefsError(`metrics: ${host} is not an address of this machine`);
    case 'EACCES':
      return new SplicefsError(`metrics: listening on ${where}: permission denied`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new SplicefsError(`metrics: host ${host} not found`);
    default:
      return new SplicefsError(`metrics: cannot listen on ${where}: ${err.code ?? err.message}`);
  }
}
