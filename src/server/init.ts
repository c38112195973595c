// INIT negotiation: a capability is on when the kernel offers it AND the server wants it AND
// the user has not switched it off. Pure: the session sends the reply this computes.
import { FUSE_KERNEL_VERSION, FUSE_OUR_MINOR, initFlagNames, InitFlag, PAGE_SIZE } from '../kernel/abi.js';
import type { InitIn } from '../kernel/request.js';
import type { InitOut } from '../kernel/reply.js';

/** What the server asks for at INIT. */
export interface InitWants {
  /** INIT flags wanted, if the kernel offers them. */
  flags: bigint;
  /** INIT flags the user switched off (never sent, whatever the kernel offers). */
  off: bigint;
  /** max_pages wanted (already fitted to the pipe and to max_pages_limit). */
  maxPages: number;
  maxBackground: number;
  congestionThreshold: number;
}

/** What INIT settled, for the mount line and the rest of the session. */
export interface Negotiated {
  protocol: string;
  minor: number;
  maxPages: number;
  maxRead: number;
  maxWrite: number;
  maxReadahead: number;
  flags: bigint;
  flagNames: string[];
}

/** Without FUSE_MAX_PAGES the kernel sends at most 32 pages per request (FUSE_DEFAULT_MAX_PAGES_PER_REQ). */
const DEFAULT_MAX_PAGES = 32;

/** The INIT reply for `inn`, or an error when the kernel speaks another major version. */
export function negotiate(inn: InitIn, want: InitWants): { out: InitOut; negotiated: Negotiated } | { error: string } {
  if (inn.major !== FUSE_KERNEL_VERSION) return { error: `unsupported FUSE major version ${inn.major}` };
  const minor = Math.min(inn.minor, FUSE_OUR_MINOR);
  const flags = inn.flags & want.flags & ~want.off;
  const maxPages = (flags & InitFlag.MAX_PAGES) !== 0n ? want.maxPages : Math.min(DEFAULT_MAX_PAGES, want.maxPages);
  const maxWrite = maxPages * PAGE_SIZE;
  return {
    out: {
      minor,
      maxReadahead: inn.maxReadahead,
      flags,
      maxBackground: want.maxBackground,
      congestionThreshold: want.congestionThreshold,
      maxWrite,
      timeGran: 1,
      maxPages,
      // Backing files on plain filesystems only: a source that is itself a FUSE passthrough
      // or overlayfs mount is refused per file (ELOOP) and read through the server.
      maxStackDepth: (flags & InitFlag.PASSTHROUGH) !== 0n ? 1 : 0,
    },
    negotiated: {
      protocol: `${FUSE_KERNEL_VERSION}.${minor}`,
      minor,
      maxPages,
      maxRead: maxPages * PAGE_SIZE,
      maxWrite,
      maxReadahead: inn.maxReadahead,
      flags,
      flagNames: initFlagNames(flags),
    },
  };
}
