// The metrics of one mount's Prometheus endpoint (metrics.ts serves them), by prom-client.
// Every scrape takes one snapshot and sets every metric from it (update), so the numbers of one
// scrape are from the same instant. The metrics live in a registry of the mount's own (never
// prom-client's global one), so two mounts in one process do not mix their numbers.
import { Counter, Gauge, Registry } from 'prom-client';
import { READ_MODES } from '../api/options.js';
import type { LiveStats } from './protocol.js';

/** The mount's metrics, set from one snapshot per scrape. */
export function makeRegistry() {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });
  const m = {
    info: gauge('splicefs_info', 'The mount this endpoint reports (always 1)', ['mountpoint', 'source', 'start_read_mode']),
    readMode: gauge('splicefs_read_mode', 'The read mode new opens get (1 for the current one)', ['mode']),
    replies: counter('splicefs_read_replies_total', 'READ replies sent, by path', ['path']),
    bytes: counter('splicefs_read_bytes_total', 'READ data bytes sent, by path', ['path']),
    errors: counter('splicefs_read_error_replies_total', 'READs answered with an error'),
    small: counter('splicefs_read_small_copies_total', 'READs under --splice-min sent by copy by policy (also in the copy path)'),
    fallbacks: counter('splicefs_read_fallbacks_total', 'Copies that stood in for a splice, by reason', ['reason']),
    writeReplies: counter('splicefs_write_replies_total', 'WRITE replies sent, by path', ['path']),
    writeBytes: counter('splicefs_write_bytes_total', 'WRITE payload bytes written, by path', ['path']),
    writeErrors: counter('splicefs_write_error_replies_total', 'WRITEs answered with an error'),
    writeFallbacks: counter('splicefs_write_fallbacks_total', 'WRITEs of splice mode that went by copy, by reason', ['reason']),
    writeStreams: counter('splicefs_write_streams_total', 'Write mode auto: streams of large WRITEs a worker read by splice, by event', ['event']),
    requests: counter('splicefs_requests_total', 'Requests by opcode', ['opcode']),
    interrupted: counter('splicefs_interrupted_total', 'Replies refused because their request was interrupted'),
    passthroughOpens: counter('splicefs_passthrough_opens_total', 'Opens answered with FOPEN_PASSTHROUGH (the kernel reads and writes the backing file; no READ/WRITE reaches the server)'),
    backingIds: gauge('splicefs_passthrough_backing_ids', 'Backing ids registered now (one per inode open in passthrough)'),
    passthroughFallbacks: counter('splicefs_passthrough_fallbacks_total', 'Opens that wanted kernel passthrough and went through the server, by reason', ['reason']),
    directIo: counter('splicefs_direct_io_opens_total', 'Opens served with FOPEN_DIRECT_IO, by reason', ['reason']),
    openFiles: gauge('splicefs_open_files', 'Open file handles'),
    openDirs: gauge('splicefs_open_dirs', 'Open directory handles'),
    nodes: gauge('splicefs_nodes', 'Nodes the kernel knows'),
    fdsHeld: gauge('splicefs_node_fds', 'Node fds held now'),
    fdBudget: gauge('splicefs_node_fd_budget', 'Node fds held at most'),
    fdsShed: counter('splicefs_node_fds_shed_total', 'Node fds given back'),
    reopens: counter('splicefs_node_fd_reopens_total', 'Node fds opened again, by how', ['by']),
    loopReads: counter('splicefs_loop_reads_total', 'Requests the event loop read from the device itself (workers parked, or --threads 0)'),
    loopSpins: counter('splicefs_loop_spins_total', 'Event-loop waits that spun for the next request, by result: hit (a request came) or miss (ran out)', ['result']),
    parks: counter('splicefs_worker_parks_total', 'Times the worker threads parked (stopped reading the device; the event loop read it)'),
    unparks: counter('splicefs_worker_unparks_total', 'Times the parked worker threads went back to reading the device'),
    jobs: counter('splicefs_worker_jobs_total', 'Requests the event loop passed to parked workers to execute'),
    answered: counter('splicefs_worker_answered_total', 'Requests the worker threads answered themselves, read by them or passed to them'),
    rss: gauge('process_resident_memory_bytes', 'Resident memory size in bytes'),
  };
  return { registry, m };
}

type Metrics = ReturnType<typeof makeRegistry>['m'];

/** Set every metric from one snapshot. Counters are reset first: the snapshot holds totals. */
export function update(m: Metrics, s: LiveStats): void {
  for (const metric of Object.values(m)) metric.reset();
  const r = s.stats.read;
  m.info.set({ mountpoint: s.mountpoint, source: s.source, start_read_mode: s.startReadMode }, 1);
  for (const mode of READ_MODES) m.readMode.set({ mode }, mode === s.readMode ? 1 : 0);
  m.replies.inc({ path: 'splice' }, r.spliceReplies);
  m.replies.inc({ path: 'copy' }, r.copyReplies);
  m.bytes.inc({ path: 'splice' }, r.spliceBytes);
  m.bytes.inc({ path: 'copy' }, r.copyBytes);
  m.errors.inc(r.errorReplies);
  m.small.inc(r.smallCopies);
  for (const [reason, n] of Object.entries(r.fallbacks)) m.fallbacks.inc({ reason }, n);
  const w = s.stats.write;
  m.writeReplies.inc({ path: 'splice' }, w.spliceReplies);
  m.writeReplies.inc({ path: 'copy' }, w.copyReplies);
  m.writeBytes.inc({ path: 'splice' }, w.spliceBytes);
  m.writeBytes.inc({ path: 'copy' }, w.copyBytes);
  m.writeErrors.inc(w.errorReplies);
  for (const [reason, n] of Object.entries(w.fallbacks)) m.writeFallbacks.inc({ reason }, n);
  m.writeStreams.inc({ event: 'started' }, w.streams.started);
  m.writeStreams.inc({ event: 'ended' }, w.streams.ended);
  for (const [opcode, n] of Object.entries(s.stats.requests)) m.requests.inc({ opcode }, n);
  m.interrupted.inc(s.stats.interrupted);
  m.passthroughOpens.inc(s.stats.passthrough.opens);
  m.backingIds.set(s.stats.passthrough.backingIds);
  for (const [reason, n] of Object.entries(s.stats.passthrough.fallbacks)) m.passthroughFallbacks.inc({ reason }, n);
  for (const [reason, n] of Object.entries(s.stats.directIoOpens)) m.directIo.inc({ reason }, n);
  m.openFiles.set(s.stats.openFiles);
  m.openDirs.set(s.stats.openDirs);
  m.nodes.set(s.stats.nodes);
  m.fdsHeld.set(s.stats.fds.held);
  m.fdBudget.set(s.stats.fds.budget);
  m.fdsShed.inc(s.stats.fds.shed);
  m.reopens.inc({ by: 'handle' }, s.stats.fds.reopenedByHandle);
  m.reopens.inc({ by: 'name' }, s.stats.fds.reopenedByName);
  const l = s.stats.loop;
  m.loopReads.inc(l.reads);
  m.loopSpins.inc({ result: 'hit' }, l.spinHits);
  m.loopSpins.inc({ result: 'miss' }, l.spinMisses);
  m.parks.inc(l.parks);
  m.unparks.inc(l.unparks);
  m.jobs.inc(l.jobs);
  m.answered.inc(l.answered);
  m.rss.set(s.rss);
}
