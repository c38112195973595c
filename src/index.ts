// splicefs: a FUSE passthrough server whose READ replies are spliced from the backing file
// into /dev/fuse. The programmatic API; the CLI (cli.ts) is built on it.
export { mount, type MountHandle } from './api/mount.js';
export { unmountPath } from './mnt/kernel.js';
export { OptionError, SplicefsError } from './errors.js';
export { showPath, type PathArg } from './paths.js';
export type { MountOptions, MountInfo, ReadMode, HeaderMode } from './api/options.js';
export type { Stats, ReadStats } from './api/stats.js';
