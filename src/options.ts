// The user-facing options and the public types of the programmatic API (src/index.ts).
import type { Logger } from 'pino';

/** How READ replies travel. auto: splice, falling back to copy per file where it cannot. */
export type ReadMode = 'auto' | 'splice' | 'copy';
/**
 * How the spliced reply's header gets its length. patch: vmsplice the header and write the real
 * length into its memory after the data splice (needs vmsplice to reference, not copy); write:
 * write a header announcing the expected length, and go by copy if the data comes short.
 * auto: patch where the start-up probe shows vmsplice references memory, else write.
 */
export type HeaderMode = 'auto' | 'patch' | 'write';

export interface MountOptions {
  readMode?: ReadMode;
  headerMode?: HeaderMode;
  /** Largest READ the kernel may send, in bytes (default 1 MiB, clamped to what is granted). */
  maxRead?: number;
  /**
   * Pipe size in pages for splice. Unset: as large as the system allows (pipe-max-size) and
   * max_pages chosen so that every aligned READ reply fits the pipe. Set: the pipe has exactly
   * this size and replies that do not fit go by copy (16 reproduces the original 15-page limit).
   */
  pipePages?: number;
  /** Every open gets FOPEN_DIRECT_IO: every user read becomes a READ request. */
  directIo?: boolean;
  allowOther?: boolean;
  defaultPermissions?: boolean;
  fsname?: string;
  /** Attribute and entry cache timeout, seconds (default 1). */
  timeout?: number;
  /**
   * Worker threads that read the connection on cloned /dev/fuse fds and execute READ replies
   * end to end (0: the event loop serves everything itself). Default 2.
   */
  threads?: number;
  /** Microseconds a worker keeps polling for the next request before sleeping (default 50; 0 = sleep at once). */
  spinUs?: number;
  /** Readahead window of the mount's bdi in KiB (default 1024; the kernel's own is 128). */
  readaheadKb?: number;
  /**
   * Background requests (readahead, async direct I/O) the kernel keeps in flight before it makes
   * readers wait (default 64; the kernel's own is 12). The congestion threshold is 3/4 of it.
   */
  maxBackground?: number;
  /** READs asking for fewer bytes than this go by copy even in splice modes (default 8192; 0: none). */
  spliceMin?: number;
  /** How long mount() waits for the kernel's INIT before it unmounts and rejects (ms, default 10000). */
  initTimeoutMs?: number;
  logger?: Logger;
  logLevel?: string;
}

/** What was negotiated and chosen at mount; also logged in the "mounted" line. */
export interface MountInfo {
  source: string;
  mountpoint: string;
  protocol: string;
  maxRead: number;
  maxPages: number;
  maxReadahead: number;
  readaheadKb: number | null;
  maxBackground: number;
  congestionThreshold: number;
  spliceMin: number;
  pipeBytes: number;
  pipeSlots: number;
  readMode: ReadMode;
  headerMode: 'patch' | 'write';
  vmspliceAliases: boolean;
  directIo: boolean;
  threads: number;
  flags: string[];
}

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
    /** the backing file has no splice_read (EINVAL from splice): copy for that file from now on */
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
  requests: Record<string, number>;
  read: ReadStats;
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
  nodes: number;
  openFiles: number;
  openDirs: number;
}
