// Child processes as a user would run them (`sh`), and mounts seen by their raw bytes (a
// mountpoint need not be UTF-8): what the mirror tests need besides comparing with the source.
// Split out of mirror.ts, which re-exports it.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks its own
// parsing of mountinfo and the shell quoting of a path.
import { existsSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { run, testRoot, type RunResult } from './mount.js';

// ---- child processes -----------------------------------------------------------------------

export interface ShOptions {
  /** Kill after this long (SIGKILL); default 30 s. */
  timeoutMs?: number;
  /** Run as this uid (and gid = uid unless gid is given), no supplementary groups unless `groups`. */
  uid?: number;
  gid?: number;
  groups?: number[];
  env?: Record<string, string>;
  input?: string | Buffer;
}

/** `bash -c script _ args...`, optionally as another user (setpriv). Never rejects. */
export function sh(script: string, args: readonly string[] = [], opts: ShOptions = {}): Promise<RunResult> {
  const argv = ['bash', '-c', script, 'bash', ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', ...opts.env };
  delete env.NODE_OPTIONS;
  let cmd = argv;
  if (opts.uid !== undefined) {
    const gid = opts.gid ?? opts.uid;
    const groups = opts.groups && opts.groups.length > 0 ? [`--groups=${opts.groups.join(',')}`] : ['--clear-groups'];
    cmd = ['setpriv', `--reuid=${opts.uid}`, `--regid=${gid}`, ...groups, ...argv];
  }
  return run(cmd[0], cmd.slice(1), { timeoutMs: opts.timeoutMs ?? 30_000, env, input: opts.input, cwd: '/' });
}


// ---- mounts, by raw bytes -------------------------------------------------------------------

/** mountinfo escapes space, tab, newline and backslash as \ooo; everything else is raw bytes. */
function unescapeBytes(field: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < field.length; i++) {
    if (field[i] === 0x5c && i + 3 < field.length && /^[0-7]{3}$/.test(field.subarray(i + 1, i + 4).toString('latin1'))) {
      out.push(parseInt(field.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else out.push(field[i]);
  }
  return Buffer.from(out);
}

export interface RawMount {
  minor: number;
  mountpoint: Buffer;
  fstype: string;
}

export function rawMounts(): RawMount[] {
  const out: RawMount[] = [];
  const all = readFileSync('/proc/self/mountinfo');
  let start = 0;
  while (start < all.length) {
    let end = all.indexOf(0x0a, start);
    if (end < 0) end = all.length;
    const line = all.subarray(start, end);
    start = end + 1;
    const f: Buffer[] = [];
    let s = 0;
    for (let i = 0; i <= line.length; i++) {
      if (i === line.length || line[i] === 0x20) {
        f.push(line.subarray(s, i));
        s = i + 1;
      }
    }
    const sep = f.findIndex((x) => x.length === 1 && x[0] === 0x2d);
    if (sep < 0 || f.length < 5) continue;
    out.push({
      minor: Number(f[2].toString().split(':')[1]),
      mountpoint: unescapeBytes(f[4]),
      fstype: f[sep + 1]?.toString() ?? '',
    });
  }
  return out;
}

export function mountsAtBytes(path: string | Buffer): RawMount[] {
  const p = typeof path === 'string' ? Buffer.from(path) : path;
  return rawMounts().filter((m) => m.mountpoint.equals(p));
}

export function isMountedBytes(path: string | Buffer): boolean {
  return mountsAtBytes(path).length > 0;
}

/** A bash word for these bytes: $'...' with every byte outside [A-Za-z0-9/._-] as \xHH. */
export function shWord(path: string | Buffer): string {
  const b = typeof path === 'string' ? Buffer.from(path) : path;
  let s = "$'";
  for (const c of b) {
    const ch = String.fromCharCode(c);
    s += /[A-Za-z0-9/._-]/.test(ch) ? ch : '\\x' + c.toString(16).padStart(2, '0');
  }
  return s + "'";
}

/**
 * Abort a FUSE connection by its minor (fusectl's abort switch): through the system's fusectl
 * mount if there is one, else a private one made for this write.
 */
export async function abortConnection(minor: number): Promise<void> {
  const sys = `/sys/fs/fuse/connections/${minor}/abort`;
  if (existsSync(sys)) {
    try {
      writeFileSync(sys, '1');
    } catch {
      /* gone already */
    }
    return;
  }
  const dir = mkdtempSync(join(testRoot('tmp'), 'splicefs-fusectl-'));
  try {
    const m = await run('mount', ['-t', 'fusectl', 'none', dir]);
    if (m.code === 0) {
      try {
        writeFileSync(join(dir, String(minor), 'abort'), '1');
      } catch {
        /* gone already */
      }
      await run('umount', [dir]);
    }
  } finally {
    try {
      rmdirSync(dir);
    } catch {
      /* leave it */
    }
  }
}

/**
 * Force every FUSE mount at these exact bytes away: abort its connection (a wedged server
 * cannot answer the umount), then lazy umounts. Paths given as bytes go through bash.
 */
export async function forceAway(path: string | Buffer): Promise<void> {
  for (const m of mountsAtBytes(path)) if (m.fstype.startsWith('fuse')) await abortConnection(m.minor);
  for (let i = 0; i < 5 && isMountedBytes(path); i++) await sh(`umount -l ${shWord(path)}`, [], { timeoutMs: 10_000 });
}


// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('mountinfo read as bytes, and a path quoted for the shell', async (t) => {
    const root = rawMounts().find((m) => m.mountpoint.equals(Buffer.from('/')));
    t.ok(root, 'the root mount is found by its bytes');
    const odd = Buffer.from([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0x27, 0xff]);
    const r = await sh(`printf '%s' ${shWord(odd)} | od -An -tx1`);
    t.equal(r.stdout.toString().replace(/\s+/g, ''), odd.toString('hex'), 'the shell gets the exact bytes back');
  });
}
