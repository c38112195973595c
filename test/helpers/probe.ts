// "What may this user do here?": run a list of filesystem operations as a given user under a
// directory and collect one result per operation, so that the same list can be run on the
// source and on the mount and the answers compared. The operations run in one python3 child
// per (user, directory) (python3 is a test requirement; it has getxattr, Node has not), which
// sets its supplementary groups, gid and uid itself before the first operation, so the groups
// are exactly the ones given (node's spawn with uid/gid clears them).
//
// A result is "ok" or "ok:<payload>" (file content, sorted names, mode/uid/gid/size, link
// target, xattr value, a script's output), or the errno name of the failure ("EACCES").
//
// When run as a test file itself (tap runs every .ts under test/), this file checks the probe
// on a small tree as root and as nobody.
import { mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { freshDir, run } from './mount.js';

/** Who runs the operations. */
export interface User {
  name: string;
  uid: number;
  gid: number;
  /** Supplementary groups (default none). */
  groups?: number[];
  /** Capabilities removed from the bounding set first (setpriv), e.g. ['dac_override']. */
  dropCaps?: string[];
}

export const ROOT: User = { name: 'root', uid: 0, gid: 0 };
export const NOBODY: User = { name: 'nobody', uid: 65534, gid: 65534 };

/**
 * One operation on a path relative to the directory probed:
 * access R|W|X, read (content), exec (run it, stdout), list (sorted names), stat (lstat:
 * mode uid gid size), readlink, getxattr NAME, listxattr (sorted names).
 */
export type Op =
  | ['access', string, 'R' | 'W' | 'X']
  | ['read' | 'exec' | 'list' | 'stat' | 'readlink' | 'listxattr', string]
  | ['getxattr', string, string];

/** A readable label for an operation, for assertion messages. */
export function opLabel(op: Op): string {
  return op.join(' ');
}

const PROBE = String.raw`
import ctypes, errno, json, os, subprocess, sys
uid, gid, groups, root, ops = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
os.setgroups([int(g) for g in groups.split(',') if g])
os.setgid(gid)
os.setuid(uid)
libc = ctypes.CDLL(None, use_errno=True)
MODES = {'R': os.R_OK, 'W': os.W_OK, 'X': os.X_OK}
def one(op):
    kind, p = op[0], os.path.join(root, op[1])
    if kind == 'access':
        if libc.access(p.encode(), MODES[op[2]]) == 0: return 'ok'
        raise OSError(ctypes.get_errno(), 'access')
    if kind == 'read':
        with open(p, 'rb') as f: return 'ok:' + f.read().decode('utf-8', 'backslashreplace')
    if kind == 'exec':
        return 'ok:' + subprocess.run([p], capture_output=True, check=True).stdout.decode()
    if kind == 'list': return 'ok:' + ','.join(sorted(os.listdir(p)))
    if kind == 'stat':
        st = os.lstat(p)
        return 'ok:%o %d %d %d' % (st.st_mode, st.st_uid, st.st_gid, st.st_size)
    if kind == 'readlink': return 'ok:' + os.readlink(p)
    if kind == 'getxattr': return 'ok:' + os.getxattr(p, op[2], follow_symlinks=False).decode('utf-8', 'backslashreplace')
    if kind == 'listxattr': return 'ok:' + ','.join(sorted(os.listxattr(p, follow_symlinks=False)))
    raise ValueError(kind)
out = []
for op in ops:
    try: out.append(one(op))
    except OSError as e: out.append(errno.errorcode.get(e.errno, str(e.errno)))
    except subprocess.CalledProcessError as e: out.append('exit %d' % e.returncode)
print(json.dumps(out))
`;

/**
 * Run `ops` as `user` on paths under `dir`; one result per op, in order. Throws if the probe
 * itself fails (a bug in the test, not an answer).
 */
export async function probe(user: User, dir: string, ops: readonly Op[]): Promise<string[]> {
  const args = ['-c', PROBE, String(user.uid), String(user.gid), (user.groups ?? []).join(','), dir, JSON.stringify(ops)];
  const drop = user.dropCaps?.length ? ['setpriv', `--bounding-set=${user.dropCaps.map((c) => `-${c}`).join(',')}`, '--'] : [];
  const [cmd, ...rest] = [...drop, 'python3', ...args];
  const r = await run(cmd, rest, { cwd: '/', timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`probe as ${user.name} failed (${r.code}): ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as string[];
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('the probe answers as the user it is given', async (t) => {
    const dir = freshDir('probe');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'secret'), 'x');
    chmodSync(join(dir, 'secret'), 0o600);
    mkdirSync(join(dir, 'd'), { mode: 0o755 });
    const ops: Op[] = [['read', 'secret'], ['access', 'secret', 'R'], ['list', 'd'], ['read', 'missing']];
    t.same(await probe(ROOT, dir, ops), ['ok:x', 'ok', 'ok:', 'ENOENT'], 'root');
    t.same(await probe(NOBODY, dir, ops), ['EACCES', 'EACCES', 'ok:', 'ENOENT'], 'nobody');
    const noDac = { ...ROOT, name: 'root without DAC capabilities', dropCaps: ['dac_override', 'dac_read_search'] };
    t.same(await probe({ ...noDac, uid: 0 }, dir, [['read', 'secret']]), ['ok:x'], 'root without DAC caps still owns it');
  });
}
