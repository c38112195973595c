// Issue 9, fault 1: with allow_other, every user must get exactly the access the source gives
// that user, never root's (the server runs as root). Whatever the source denies a user, the
// mount denies with the same errno; whatever it allows, the mount allows.
//
// The reference is the source itself: each probe runs once against the source directory and
// once against the mount, as the same user, and the answers must match. Reads and execs only;
// the mount is read-only, so a write is denied either way (EROFS where the source would say
// EACCES or allow: that is checked on its own, below).
import { chownSync, chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck, withMount } from '../helpers/mount.js';
import { needTools, NOBODY, onBoth, PY, sameOnBoth, scratch, sh, startMounted, type ShOptions } from '../helpers/mirror.js';

const ADM = 4;
const OTHER_UID = 12345;

// POSIX ACL xattr (system.posix_acl_access): version 2, then (tag u16, perm u16, id u32) entries
// sorted by tag. Written by python as root: no acl package needed.
const ACL_TAG = { USER_OBJ: 1, USER: 2, GROUP_OBJ: 4, GROUP: 8, MASK: 0x10, OTHER: 0x20 } as const;
function aclBytes(entries: Array<[keyof typeof ACL_TAG, number, number?]>): Buffer {
  const b = Buffer.alloc(4 + 8 * entries.length);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(ACL_TAG[tag], 4 + 8 * i);
    b.writeUInt16LE(perm, 6 + 8 * i);
    b.writeUInt32LE(id ?? 0xffffffff, 8 + 8 * i);
  });
  return b;
}

/** Every path the probe visits (relative to the root), with what each is for. */
const PATHS = [
  'f600', // root's 0600 file: others denied
  'f000', // 0000: only root (DAC override)
  'f644', // readable by all (the mount must not over-deny)
  'f604', // others r, group none
  'f640-nogroup', // group nogroup (nobody's primary group) may read
  'f640-adm', // group adm: nobody only with adm as a supplementary group
  'f066-nobody', // owned by nobody, owner bits 0: the owner is denied though others may read
  'f600-nobody', // owned by nobody, 0600: nobody reads, others do not
  'x700', // executable for root only
  'x755', // executable for all
  'x744', // readable, not executable for others
  'x711', // executable but not readable for others (a binary may run, a script may not)
  'd700', // no access for others
  'd700/inner',
  'd700/sub',
  'd700/sub/deep',
  'd711', // search, no listing
  'd711/known',
  'd744', // listing, no search
  'd744/entry',
  'd755',
  'd755/f600', // a denied file in an open dir
  'l-f600', // symlink to a denied file
  'l-d700-inner', // symlink into a denied dir
  'l-d700', // symlink to a denied dir
  'hl-f600', // a hard link of f600 in an open dir
  'fifo600', // a fifo others may not open
  'acl-deny', // 0644 but the ACL denies nobody
  'acl-allow', // 0600 but the ACL lets nobody read
  'dacl-deny', // 0755 dir, the ACL denies nobody
  'dacl-deny/f644',
];

function populate(src: string): void {
  const f = (name: string, mode: number, body = `${name}\n`, uid = 0, gid = 0) => {
    writeFileSync(join(src, name), body);
    chownSync(join(src, name), uid, gid);
    chmodSync(join(src, name), mode);
  };
  f('f600', 0o600, 'secret\n');
  f('f000', 0o000);
  f('f644', 0o644);
  f('f604', 0o604);
  f('f640-nogroup', 0o640, 'group nogroup\n', 0, NOBODY);
  f('f640-adm', 0o640, 'group adm\n', 0, ADM);
  f('f066-nobody', 0o066, 'owner denied\n', NOBODY, NOBODY);
  f('f600-nobody', 0o600, 'nobody only\n', NOBODY, NOBODY);
  for (const [name, mode] of [
    ['x700', 0o700],
    ['x755', 0o755],
    ['x744', 0o744],
    ['x711', 0o711],
  ] as const)
    f(name, mode, `#!/bin/sh\necho ran ${name}\n`);

  const d = (name: string, mode: number) => {
    mkdirSync(join(src, name));
    chmodSync(join(src, name), mode);
  };
  d('d700', 0o755);
  writeFileSync(join(src, 'd700', 'inner'), 'inner\n');
  mkdirSync(join(src, 'd700', 'sub'));
  writeFileSync(join(src, 'd700', 'sub', 'deep'), 'deep\n');
  chmodSync(join(src, 'd700'), 0o700);
  d('d711', 0o755);
  writeFileSync(join(src, 'd711', 'known'), 'known\n');
  chmodSync(join(src, 'd711'), 0o711);
  d('d744', 0o755);
  writeFileSync(join(src, 'd744', 'entry'), 'entry\n');
  chmodSync(join(src, 'd744'), 0o744);
  d('d755', 0o755);
  writeFileSync(join(src, 'd755', 'f600'), 'secret in an open dir\n');
  chmodSync(join(src, 'd755', 'f600'), 0o600);
  symlinkSync('f600', join(src, 'l-f600'));
  symlinkSync('d700/inner', join(src, 'l-d700-inner'));
  symlinkSync('d700', join(src, 'l-d700'));
  linkSync(join(src, 'f600'), join(src, 'hl-f600'));
  f('acl-deny', 0o644, 'acl denies nobody\n');
  f('acl-allow', 0o600, 'acl lets nobody read\n');
  d('dacl-deny', 0o755);
  writeFileSync(join(src, 'dacl-deny', 'f644'), 'behind a dir acl\n');
}

/** ACLs, user xattrs and a fifo, made by python as root (the source fs is tmpfs: both supported). */
async function decorate(t: Test, src: string): Promise<void> {
  const acls: Array<[string, Buffer]> = [
    ['acl-deny', aclBytes([['USER_OBJ', 6], ['USER', 0, NOBODY], ['GROUP_OBJ', 4], ['MASK', 4], ['OTHER', 4]])],
    ['acl-allow', aclBytes([['USER_OBJ', 6], ['USER', 4, NOBODY], ['GROUP_OBJ', 0], ['MASK', 4], ['OTHER', 0]])],
    ['dacl-deny', aclBytes([['USER_OBJ', 7], ['USER', 0, NOBODY], ['GROUP_OBJ', 5], ['MASK', 5], ['OTHER', 5]])],
  ];
  const script = [
    'import os, sys',
    'root = sys.argv[1]',
    ...acls.map(([name, b]) => `os.setxattr(os.path.join(root, ${JSON.stringify(name)}), 'system.posix_acl_access', bytes.fromhex(${JSON.stringify(b.toString('hex'))}))`),
    "os.mkfifo(os.path.join(root, 'fifo600'), 0o600)",
    "for n in ['f600', 'f644', 'd700/inner', 'x711']: os.setxattr(os.path.join(root, n), 'user.k', b'v-' + n.encode())",
    "print('ok')",
  ].join('\n');
  const r = await sh(`exec ${PY} -c "$1" "$2"`, [script, src]);
  t.equal(r.stdout.toString(), 'ok\n', 'ACLs and user xattrs set on the source (tmpfs)', { stderr: r.stderr.toString() });
}

// The probe: for each path, what each call answers (value or errno name), as the calling user.
// W_OK is reported apart: on a read-only mount the VFS answers EROFS before any filesystem.
const PROBE = String.raw`
import os, sys, json, ctypes, errno, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def name(e): return errno.errorcode.get(e, str(e))
def call(f):
    try:
        return ['ok', f()]
    except OSError as e:
        return [name(e.errno)]
def acc(p, m):
    return 'ok' if libc.access(p.encode(), m) == 0 else name(ctypes.get_errno())
def st(s): return [oct(s.st_mode), s.st_uid, s.st_gid, s.st_nlink, s.st_size]
def readfirst(p):
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return os.read(fd, 64).decode('latin1')
    finally:
        os.close(fd)
def chdir(p):
    os.chdir(p); os.chdir('/'); return True
def run(p):
    try:
        r = subprocess.run([p], capture_output=True, timeout=10)
        return ['ok', r.returncode, r.stdout.decode('latin1')]
    except OSError as e:
        return [name(e.errno)]
root = sys.argv[1]
out = {}
for rel in sys.argv[2:]:
    p = os.path.join(root, rel)
    rec = {
        'lstat': call(lambda: st(os.lstat(p))),
        'stat': call(lambda: st(os.stat(p))),
        'access R': acc(p, 4), 'access X': acc(p, 1), 'access F': acc(p, 0),
        'open read': call(lambda: readfirst(p)),
        'listdir': call(lambda: sorted(os.listdir(p))),
        'chdir': call(lambda: chdir(p)),
        'readlink': call(lambda: os.readlink(p)),
        'getxattr user.k': call(lambda: os.getxattr(p, 'user.k').decode()),
        'listxattr': call(lambda: sorted(os.listxattr(p))),
        'exec': run(p) if rel.startswith('x') else 'n/a',
        '_W': acc(p, 2),
    }
    out[rel] = rec
print(json.dumps(out))
`;

type Probe = Record<string, Record<string, unknown>>;

async function probe(t: Test, root: string, who: ShOptions): Promise<Probe | null> {
  const r = await sh(`exec ${PY} -c "$1" "$2" "\${@:3}"`, [PROBE, root, ...PATHS], { ...who, timeoutMs: 60_000 });
  if (r.timedOut || r.code !== 0) {
    t.fail(`the probe ran against ${root}`, { code: r.code, timedOut: r.timedOut, stderr: r.stderr.toString() });
    return null;
  }
  return JSON.parse(r.stdout.toString()) as Probe;
}

const WHO: Array<[string, ShOptions]> = [
  ['nobody', { uid: NOBODY }],
  ['nobody with supplementary group adm', { uid: NOBODY, groups: [NOBODY, ADM] }],
  [`uid ${OTHER_UID}`, { uid: OTHER_UID }],
  ['root', {}],
];

/** Every probe answer through the mount equals the source's, path by path, for every user. */
async function compareAll(t: Test, src: string, mnt: string): Promise<void> {
  for (const [label, who] of WHO) {
    await t.test(`as ${label}`, async (t) => {
      const a = await probe(t, src, who);
      const b = await probe(t, mnt, who);
      if (!a || !b) return;
      for (const rel of PATHS) {
        const { _W: wSrc, ...restSrc } = a[rel] ?? {};
        const { _W: wMnt, ...restMnt } = b[rel] ?? {};
        t.same(restMnt, restSrc, `${rel}: the mount answers as the source does`);
        // Write access: the source's answer, or EROFS (the VFS says so on a read-only mount for
        // files, dirs and symlinks; a fifo stays writable): never a grant the source refuses.
        t.ok(wMnt === wSrc || wMnt === 'EROFS', `${rel}: access W_OK as on the source (${wSrc}) or EROFS (mount: ${wMnt})`);
      }
    });
  }
}

/** The commands users typed (issue 9), as nobody: exit status and message must be the source's. */
async function commands(t: Test, src: string, mnt: string, who: ShOptions = { uid: NOBODY }): Promise<void> {
  const cases: Array<[string, string]> = [
    ['cat of a 0600 root file', 'cat "$P/f600"'],
    ['test -r of a 0600 root file', 'test -r "$P/f600" && echo readable || echo not readable'],
    ['test -x of a 0700 root script', 'test -x "$P/x700" && echo executable || echo not executable'],
    ['running a 0700 root script', '"$P/x700"'],
    ['running a 0744 root script', '"$P/x744"'],
    ['sh reading a 0711 script', 'sh "$P/x711"'],
    ['ls of a 0700 dir', 'ls "$P/d700"'],
    ['ls -l of a 0744 dir (names but no stat)', 'ls -l "$P/d744"'],
    ['ls of a 0711 dir', 'ls "$P/d711"'],
    ['cat of a known name in a 0711 dir', 'cat "$P/d711/known"'],
    ['stat through a 0700 dir', 'stat -c "%n %s" "$P/d700/inner"'],
    ['stat through a 0744 dir', 'stat -c "%n %s" "$P/d744/entry"'],
    ['cd into a 0700 dir', 'cd "$P/d700"'],
    ['cat of a 0000 file', 'cat "$P/f000"'],
    ['cat through a symlink to a 0600 file', 'cat "$P/l-f600"'],
    ['cat through a symlink into a 0700 dir', 'cat "$P/l-d700-inner"'],
    ['cat of a hard link of a 0600 file', 'cat "$P/hl-f600"'],
    ['find in a tree with closed dirs', 'find "$P" | sort'],
    ['grep -r over the tree', 'grep -r . "$P" 2>&1 | sort'],
    ['cat of an ACL-denied 0644 file', 'cat "$P/acl-deny"'],
    ['cat of an ACL-allowed 0600 file', 'cat "$P/acl-allow"'],
    ['ls of an ACL-denied dir', 'ls "$P/dacl-deny"'],
    ['cat of a 0066 file owned by the caller', 'cat "$P/f066-nobody"'],
    ['open of a 0600 fifo', 'timeout 2 sh -c "exec 3<$P/fifo600" ; echo rc=$?'],
    ['getfattr-like read of user.k on a 0600 file', `${PY} -c "import os,sys; print(os.getxattr(sys.argv[1]+'/f600','user.k'))" "$P"`],
  ];
  for (const [what, script] of cases) await sameOnBoth(t, what, script, src, mnt, { ...who, timeoutMs: 15_000 });
}

t.test('needs setpriv and python3', async (t) => {
  await needTools(t, ['setpriv', PY, 'find', 'grep', 'stat']);
});

t.test('API allowOther: every user gets the source\'s answers, not root\'s', async (t) => {
  const src = scratch(t, 'ao-src');
  populate(src);
  await decorate(t, src);
  // The source answers as expected at all (else the comparison below proves nothing).
  const ref = await sh('cat "$1/f600"', [src], { uid: NOBODY });
  t.not(ref.code, 0, 'sanity: nobody cannot read f600 on the source');
  t.match(ref.stderr.toString(), /Permission denied/, 'sanity: EACCES on the source');
  const acl = await sh('cat "$1/acl-deny"', [src], { uid: NOBODY });
  t.not(acl.code, 0, 'sanity: the ACL denies nobody on the source');

  await withMount(t, { allowOther: true }, { source: src }, async ({ mnt }) => {
    await t.test('the commands users ran, as nobody', (t) => commands(t, src, mnt));
    await t.test('the commands, as nobody with group adm', (t) => commands(t, src, mnt, { uid: NOBODY, groups: [NOBODY, ADM] }));
    await t.test('every call on every path, per user', (t) => compareAll(t, src, mnt));
    await t.test('open for writing is refused for nobody (EACCES on the source, EACCES or EROFS here)', async (t) => {
      for (const name of ['f600', 'f644', 'd700/inner']) {
        const r = await onBoth(`${PY} -c "import os,sys; os.open(sys.argv[1], os.O_WRONLY)" "$P/${name}" 2>&1 | tail -1`, src, mnt, { uid: NOBODY });
        t.match(r.src.stdout, /PermissionError|Errno 13/, `${name}: the source refuses a write open with EACCES`);
        t.match(r.mnt.stdout, /PermissionError|Errno 13|Errno 30|Read-only/, `${name}: the mount refuses it too`);
      }
    });
  });
});

t.test('CLI -o allow_other: the same answers as the source for nobody', async (t) => {
  const src = scratch(t, 'ao-cli-src');
  const mnt = scratch(t, 'ao-cli-mnt');
  populate(src);
  await decorate(t, src);
  await startMounted(t, src, mnt, { args: ['-o', 'allow_other'] });
  await commands(t, src, mnt);
});

t.test('CLI -o allow_other,default_permissions: ACLs still decide, as on the source', async (t) => {
  // default_permissions makes the kernel check the mode bits: the naive fix. The ACL files
  // show whether the mirror still answers as the source does.
  const src = scratch(t, 'ao-dp-src');
  const mnt = scratch(t, 'ao-dp-mnt');
  populate(src);
  await decorate(t, src);
  await startMounted(t, src, mnt, { args: ['-o', 'allow_other,default_permissions'] });
  await commands(t, src, mnt);
});

leftoverCheck(t);
