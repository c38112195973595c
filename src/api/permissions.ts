// Who may do what through the mount. The server runs every request with its own (root)
// credentials, so it cannot be the one to decide; the kernel can: with `default_permissions` it
// checks each access with the CALLER's credentials (uid, gid, supplementary groups, capabilities)
// against the attributes we mirror from the source, before a request reaches us, and with
// FUSE_POSIX_ACL it also reads the ACLs (GETXATTR system.posix_acl_access) and counts them, as
// the source's own filesystem would. So the checks are on by default, with or without
// allow_other; turning them off is an explicit option, and with allow_other it is logged.
import type { Logger } from 'pino';
import { InitFlag } from '../kernel/abi.js';
import { checkOption, type MountOptions } from './options.js';

export interface Permissions {
  /** Users other than the mounting one (root) may use the mount (`allow_other`). */
  allowOther: boolean;
  /** The kernel checks permissions with the caller's credentials (`default_permissions`). */
  checks: boolean;
}

/** The permission settings `opts` ask for (checks on unless `defaultPermissions: false`). */
export function permissions(opts: MountOptions): Permissions {
  checkOption('defaultPermissions', opts.defaultPermissions);
  return { allowOther: opts.allowOther ?? false, checks: opts.defaultPermissions ?? true };
}

/**
 * INIT flags the checks need: FUSE_POSIX_ACL, so that ACLs count in the kernel's checks.
 * (The kernel turns default_permissions on by itself when it grants this flag, so it is only
 * asked for when the checks are on.)
 */
export function permissionFlags(p: Permissions): bigint {
  return p.checks ? InitFlag.POSIX_ACL : 0n;
}

/**
 * Log, once at mount, what a user cannot rely on: every user gets root's access when the checks
 * are off under allow_other (warn), and ACLs do not count when the kernel did not grant
 * FUSE_POSIX_ACL (warn; every kernel since 4.9 grants it).
 */
export function reportPermissions(p: Permissions, negotiated: bigint, logger: Logger): void {
  if (p.allowOther && !p.checks)
    logger.warn(
      { allowOther: true, defaultPermissions: false },
      'permission checks are off (no_default_permissions): every user gets the server\'s access to the source',
    );
  if (p.checks && (negotiated & InitFlag.POSIX_ACL) === 0n)
    logger.warn('the kernel did not grant FUSE_POSIX_ACL: permissions are checked by mode bits only, ACLs do not count');
}
