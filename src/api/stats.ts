// The counters a mount reports (MountHandle.stats(), `--stats`): each read by name from its one
// owner and put together here. The READ replies and bytes per path are counted by the addon's
// executor on whichever thread served them (addon.constants.readCounters); the fallbacks by
// reason by datapath/read.ts, which decides them; the transport counts what it handed over.
import { addon, countersByName, type ReadCounters } from '../addon.js';
import type { BackingFiles, PassthroughCounts } from '../datapath/backing.js';
import type { ReadPath } from '../datapath/read.js';
import type { WriteCounts, WritePath } from '../datapath/write.js';
import type { DirectIoCounts } from '../passthrough/direct-io.js';
import type { Passthrough } from '../passthrough/fs.js';
import type { NodeFdStats } from '../passthrough/node-fds.js';
import type { Session } from '../server/session.js';
import type { Channel } from '../transport/channel.js';

/** READ counters: replies and data bytes per path, and copies that stood in for a splice. */
export interface ReadStats {
  spliceReplies: number;
  spliceBytes: number;
  copyReplies: number;
  copyBytes: number;
  errorReplies: number;
  /** READs under spliceMin sent by copy by policy (also counted in copyReplies) */
  smallCopies: number;
  fallbacks: {
    /** the backing file has no splice_read: copied (first detection, then auto mode's copy plan) */
    noSpliceRead: number;
    /** the reply needs more pipe slots than the pipe has */
    pipeTooSmall: number;
    /** `write` header strategy: the data came shorter than announced (EOF moved) */
    shortData: number;
    /** the pipe refused data it was expected to hold */
    pipeFull: number;
    /** any other splice failure */
    spliceError: number;
  };
}

export interface Stats {
  /** Requests by opcode name (READs served by worker threads included). */
  requests: Record<string, number>;
  read: ReadStats;
  /**
   * Kernel passthrough (datapath/backing.ts): opens answered with FOPEN_PASSTHROUGH (their
   * reads and writes never reach the server, so they are in no READ or WRITE counter), backing
   * ids registered, closed and open now, and opens that wanted it and went through the server,
   * by reason.
   */
  passthrough: PassthroughCounts;
  /** WRITE replies and payload bytes per path, and WRITEs answered with an error. */
  /**
   * WRITE counters (event loop and workers); capabilityGetxattrs: the GETXATTRs of
   * security.capability the kernel sends before a write that the worker threads answered on an
   * open handle's fd (addon/write.h), so a backing file that blocks stalls no other request;
   * streams: write mode auto's streams of large WRITEs, started (a worker began reading requests
   * by splice) and ended (it went back to read(2)): datapath/write.ts RequestSplicing.
   */
  write: WriteCounts & { capabilityGetxattrs: number; streams: { started: number; ended: number } };
  /** Operations that made a new object as their caller (creds.ts), and callers whose groups could not be read. */
  creds: { switched: number; groupsUnknown: number };
  /** Replies the kernel refused because their request was interrupted. */
  interrupted: number;
  /**
   * Requests the worker threads handed to the event loop: every request but the READs they
   * serve themselves, and each READ whose plan failed there (0 with threads 0).
   */
  forwarded: number;
  /**
   * Worker waits for the next request: spins that caught one (a wake-up saved) and spins that
   * ran out (CPU spent for nothing; after a few in a row the workers sleep at once).
   */
  spin: { hits: number; misses: number };
  /**
   * The event loop reading the device itself (transport/loop-reader.ts, phases.ts): requests it
   * read, its spins that caught one and that ran out, the times the workers parked and went back
   * to reading, requests it passed to parked workers (jobs), and requests the workers answered
   * themselves, read by them or passed (answered: counted just after the reply, so it may lag a
   * reply by a moment). With --threads 0 only reads and spins move.
   */
  loop: { reads: number; spinHits: number; spinMisses: number; parks: number; unparks: number; jobs: number; answered: number };
  /**
   * Opens served with FOPEN_DIRECT_IO, by reason: option (--direct-io), pseudoFs (proc, sysfs,
   * ...: sizes say nothing of the content), zeroSize (a regular file of st_size 0 at open).
   */
  directIoOpens: DirectIoCounts;
  nodes: number;
  /**
   * Node fds under the budget: held now, given back, re-opened by file handle or by parent and
   * name, stale re-opens (ESTALE), EMFILE/ENFILE hits (src/passthrough/node-fds.ts).
   */
  /** ... and closesPending: released files whose close(2) has not finished (addon.closeLater). */
  fds: NodeFdStats & { closesPending: number };
  openFiles: number;
  openDirs: number;
}

/** The owners of every counter of one mount. */
export interface StatsSources {
  readCounters: ReadCounters;
  readPath: ReadPath;
  writePath: WritePath;
  backing: BackingFiles;
  session: Session;
  channel: Channel;
  fs: Passthrough;
}

export function collectStats(s: StatsSources): Stats {
  const values = new Float64Array(addon.constants.readCounters.length);
  s.readCounters.snapshot(values);
  const n = countersByName(addon.constants.readCounters, values);
  const w = s.channel.counters();
  const requests = s.session.dispatcher.requestCounts();
  // READs the event loop dispatched are counted there; those the workers answered on their own
  // are the executors' replies beyond the event loop's (both counted before the reply went in).
  const byWorkers = n.spliceReplies + n.copyReplies + n.interrupted - s.readPath.answered;
  if (byWorkers > 0) requests.READ = (requests.READ ?? 0) + byWorkers;
  // Those the workers executed for writable handles (addon/write.cc) never reach the event loop.
  const add = (op: string, k: number) => k > 0 && (requests[op] = (requests[op] ?? 0) + k);
  add('WRITE', n.writeCopyReplies + n.writeSpliceReplies + n.writeErrorReplies);
  add('FSYNC', n.fsyncReplies);
  add('FALLOCATE', n.fallocateReplies);
  add('FLUSH', n.flushReplies);
  add('GETXATTR', n.capabilityGetxattrReplies);
  const f = s.readPath.fallbacks;
  return {
    requests,
    read: {
      spliceReplies: n.spliceReplies,
      spliceBytes: n.spliceBytes,
      copyReplies: n.copyReplies,
      copyBytes: n.copyBytes,
      errorReplies: s.readPath.errorReplies,
      smallCopies: n.smallCopies,
      fallbacks: { ...f, noSpliceRead: f.noSpliceRead + n.noSpliceCopies },
    },
    passthrough: { ...s.backing.counts, fallbacks: { ...s.backing.counts.fallbacks } },
    // The event loop's WRITEs counted by write.ts, the workers' by the addon (addon/write.cc).
    write: {
      spliceReplies: s.writePath.counts.spliceReplies + n.writeSpliceReplies,
      spliceBytes: s.writePath.counts.spliceBytes + n.writeSpliceBytes,
      copyReplies: s.writePath.counts.copyReplies + n.writeCopyReplies,
      copyBytes: s.writePath.counts.copyBytes + n.writeCopyBytes,
      errorReplies: s.writePath.counts.errorReplies + n.writeErrorReplies,
      fallbacks: { ...s.writePath.counts.fallbacks, spliceFallbacks: n.writeSpliceFallbacks },
      capabilityGetxattrs: n.capabilityGetxattrReplies,
      streams: { started: n.writeStreams, ended: n.writeStreamEnds },
    },
    creds: { ...s.fs.creds.stats },
    interrupted: s.session.interrupted + n.interrupted,
    forwarded: w.forwarded ?? 0,
    spin: { hits: w.spinHits ?? 0, misses: w.spinMisses ?? 0 },
    loop: {
      reads: w.loopReads ?? 0,
      spinHits: w.loopSpinHits ?? 0,
      spinMisses: w.loopSpinMisses ?? 0,
      parks: w.parks ?? 0,
      unparks: w.unparks ?? 0,
      jobs: w.jobs ?? 0,
      answered: w.answered ?? 0,
    },
    directIoOpens: { ...s.fs.directIo.counts },
    nodes: s.fs.inodes.size,
    fds: { ...s.fs.fdStats(), closesPending: addon.closesPending() },
    openFiles: s.fs.files.size,
    openDirs: s.fs.dirs.size,
  };
}
