// Issue 9, fault 6: a mountpoint inside its own source must never hang. `splicefs S S/mnt` may
// either refuse (one clear "splicefs:" line, a non-zero exit, nothing mounted), or serve, and then
// every lookup answers without hanging and the inner mnt shows as the source shows it (an empty
// directory, as bindfs does). Either way the server stops on SIGTERM and leaves no mount.
//
// The reference is the source as it was before the mount: each tool's output on the source
// then must be its output through the mount now. Every tool runs in a child with a hard timeout;
// after the first hang the rest of a case is not run (the server is wedged), and the teardown
// aborts the connection through fusectl so nothing is left behind.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck, within } from '../helpers/mount.js';
import { isMountedBytes, needTools, scratch, seen, sh, startCli, type Seen } from '../helpers/mirror.js';

const HANG_MS = 3_000;

const TOOLS: Array<[string, string]> = [
  ['ls', 'ls "$P"'],
  ['cat of a file', 'cat "$P/f"'],
  ['stat of every entry', 'find "$P" -mindepth 1 | sort | xargs -r -d "\\n" stat -c "%n %F %s"'],
  ['find', 'find "$P" | sort; exit ${PIPESTATUS[0]}'],
  ['ls -lR', 'ls -lR "$P" | grep -v "^total"'],
  ['du -s', 'du -s "$P"'],
];

interface Case {
  name: string;
  /** Make the tree; return [source arg, mountpoint arg, directory the tools run on after mounting, reference dir before]. */
  setup(base: string): { src: string; mnt: string; view: string; ref: string; extra?: Array<[string, string]> };
}

const CASES: Case[] = [
  {
    name: 'S/mnt inside S (the issue\'s case)',
    setup(base) {
      const S = join(base, 'S');
      mkdirSync(join(S, 'mnt'), { recursive: true });
      writeFileSync(join(S, 'f'), 'in the source\n');
      return {
        src: S,
        mnt: join(S, 'mnt'),
        view: join(S, 'mnt'),
        ref: S,
        extra: [
          ['ls S/mnt/mnt (empty, as on the source)', 'ls -A "$P/mnt"; echo "rc=$?"'],
          ['stat S/mnt/mnt', 'stat -c "%F %h" "$P/mnt"'],
        ],
      };
    },
  },
  {
    name: 'S/a/b/mnt, deeper inside S',
    setup(base) {
      const S = join(base, 'S');
      mkdirSync(join(S, 'a', 'b', 'mnt'), { recursive: true });
      writeFileSync(join(S, 'f'), 'in the source\n');
      writeFileSync(join(S, 'a', 'b', 'g'), 'next to the mountpoint\n');
      return {
        src: S,
        mnt: join(S, 'a', 'b', 'mnt'),
        view: join(S, 'a', 'b', 'mnt'),
        ref: S,
        extra: [['ls S/a/b/mnt/a/b/mnt', 'ls -A "$P/a/b/mnt"; echo "rc=$?"']],
      };
    },
  },
  {
    name: 'the mountpoint given through a symlink into S',
    setup(base) {
      const S = join(base, 'S');
      mkdirSync(join(S, 'mnt'), { recursive: true });
      writeFileSync(join(S, 'f'), 'in the source\n');
      symlinkSync(join(S, 'mnt'), join(base, 'link'));
      return { src: S, mnt: join(base, 'link'), view: join(S, 'mnt'), ref: S, extra: [['ls S/mnt/mnt', 'ls -A "$P/mnt"; echo "rc=$?"']] };
    },
  },
  {
    name: 'the mountpoint is the source (splicefs S S)',
    setup(base) {
      const S = join(base, 'S');
      mkdirSync(join(S, 'd'), { recursive: true });
      writeFileSync(join(S, 'f'), 'in the source\n');
      return { src: S, mnt: S, view: S, ref: S };
    },
  },
  {
    name: 'the source inside the mountpoint (splicefs M/sub M)',
    setup(base) {
      const M = join(base, 'M');
      mkdirSync(join(M, 'sub', 'd'), { recursive: true });
      writeFileSync(join(M, 'sub', 'f'), 'in the source\n');
      return { src: join(M, 'sub'), mnt: M, view: M, ref: join(M, 'sub') };
    },
  },
];

/** The one-line refusal: "splicefs: ...", non-zero exit, no stack trace. */
function checkRefusal(t: Test, code: number | null, stderr: string): void {
  const lines = stderr.split('\n').filter(Boolean);
  t.not(code, 0, `refused with a non-zero exit (${code})`);
  t.equal(lines.length, 1, 'exactly one line on stderr', { stderr });
  t.match(lines[0] ?? '', /^splicefs: /, 'the line starts with "splicefs:"');
  t.notMatch(stderr, /^\s+at /m, 'no stack trace');
}

t.test('needs ls, find, du, stat', async (t) => {
  await needTools(t, ['ls', 'find', 'du', 'stat', 'xargs']);
});

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const base = scratch(t, 'nest');
    const { src, mnt, view, ref, extra = [] } = c.setup(base);
    const tools = [...TOOLS, ...extra];
    // The reference: what each tool says on the source before anything is mounted.
    const before = new Map<string, Seen>();
    for (const [what, script] of tools) before.set(what, seen(await sh(script, [], { env: { P: ref } }), ref));

    const s = startCli(t, src, mnt);
    const outcome = await within(
      20_000,
      'mounted or refused',
      s.mounted.then(
        () => 'mounted' as const,
        () => 'refused' as const,
      ),
    ).catch(() => 'neither' as const);
    t.not(outcome, 'neither', 'the server mounted or refused within 20 s');

    if (outcome === 'refused') {
      const { code } = await s.exited;
      checkRefusal(t, code, s.stderr());
      t.notOk(isMountedBytes(view), 'nothing mounted');
      return;
    }
    if (outcome !== 'mounted') return;

    for (const [what, script] of tools) {
      const r = seen(await sh(script, [], { env: { P: view }, timeoutMs: HANG_MS }), view);
      t.notOk(r.timedOut, `${what}: answered within ${HANG_MS} ms (no hang)`);
      if (r.timedOut) break; // the server is wedged: the rest would only hang too
      t.same(r, before.get(what), `${what}: through the mount as on the source before the mount`);
    }
    const exited = await s.stop(3_000);
    t.ok(exited, 'the server exits on SIGTERM within 3 s (not wedged)');
    if (exited) {
      const { code, signal } = await s.exited;
      t.equal(code, 0, `exit 0 (signal ${signal})`);
    }
    t.notOk(isMountedBytes(view), 'no mount (stale or live) left at the mountpoint');
  });
}

leftoverCheck(t);
