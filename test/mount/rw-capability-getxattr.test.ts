// The GETXATTR of security.capability that the kernel sends before each buffered write and
// fallocate is answered by the worker threads when the node has a writable handle open
// (addon/write.h; slow-backing-getxattr.test.ts shows why). Their answer must be the source's, as
// the event loop's is: a file's capability value, ENODATA for a file without one, ERANGE for a
// buffer too small; stats().write.capabilityGetxattrs proves which path answered. Checked in
// both write modes, and again once the handles are closed (then the event loop answers).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

// A v2 file capability (VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE): cap_net_raw permitted.
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex');

// Through a child process: this process serves the mount. Prints one line per file.
const PY = `import os,sys
for p in sys.argv[1:]:
  out = []
  try: out.append(os.getxattr(p, 'security.capability').hex())
  except OSError as e: out.append('errno %d' % e.errno)
  try:
    import ctypes; libc = ctypes.CDLL(None, use_errno=True); buf = ctypes.create_string_buffer(4)
    n = libc.getxattr(p.encode(), b'security.capability', buf, 4); out.append(str(n) if n >= 0 else 'errno %d' % ctypes.get_errno())
    n = libc.getxattr(p.encode(), b'security.capability', None, 0); out.append(str(n) if n >= 0 else 'errno %d' % ctypes.get_errno())
  except OSError as e: out.append('errno %d' % e.errno)
  print(' '.join(out))`;

async function answers(paths: string[]): Promise<string> {
  const r = await run('python3', ['-c', PY, ...paths]);
  return r.stdout.toString().trim() + r.stderr.toString().trim();
}

for (const writeMode of ['copy', 'splice'] as const) {
  t.test(`write mode ${writeMode}`, async (t) => {
    await withMount(t, { readOnly: false, readMode: 'splice', writeMode }, {
      populate: (src) => {
        for (const f of ['capped', 'plain']) writeFileSync(join(src, f), 'x');
      },
    }, async (m) => {
      const set = await run('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "security.capability", bytes.fromhex(sys.argv[2]))', join(m.src, 'capped'), CAP.toString('hex')]);
      t.equal(set.code, 0, 'security.capability set on the source', { stderr: set.stderr.toString() });
      const expected = await answers([join(m.src, 'capped'), join(m.src, 'plain')]);
      t.match(expected, /^01000002[0-9a-f]{32} errno 34 20\nerrno 61 errno 61 errno 61$/, 'the source: the value, ERANGE, its size; ENODATA');
      const cap = () => (m.stats().write as { capabilityGetxattrs: number }).capabilityGetxattrs;
      const handles: FileHandle[] = [];
      for (const f of ['capped', 'plain']) handles.push(await open(join(m.mnt, f), 'r+'));
      const c0 = cap();
      t.equal(await answers([join(m.mnt, 'capped'), join(m.mnt, 'plain')]), expected, 'handles open: the same answers through the mount');
      t.ok(cap() - c0 >= 6, `handles open: the workers answered the 6 GETXATTRs (and any the kernel made: ${cap() - c0})`);
      for (const h of handles) await h.close();
      const c1 = cap();
      t.equal(await answers([join(m.mnt, 'capped'), join(m.mnt, 'plain')]), expected, 'handles closed: the same answers');
      t.equal(cap(), c1, 'handles closed: the event loop answered them');
    });
  });
}

leftoverCheck(t);
