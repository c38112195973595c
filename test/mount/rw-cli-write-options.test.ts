// Read-write (issue 10): the write options on the command line reach the server: the default
// (auto), `--write-mode splice` and `--write-mode copy`, with and without `-o writeback_cache`: the "mounted" line
// names the write mode and the cache, a file written through the mount (dd, by a child process)
// is in the source, and the counters printed by --stats at exit show the WRITEs went the
// mode's way. `-o no_writeback_cache` after `-o writeback_cache` wins (the last option wins).
// Each names read mode splice (the default, auto, hands the file to the kernel: FUSE passthrough,
// and no WRITE would reach the server); a last case, --read-mode passthrough, shows the kernel
// writing the source itself whatever the write mode: opens passed through, no WRITE counted.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freshDir, leftoverCheck, run } from '../helpers/mount.js';
import { scratch, sh, startMounted } from '../helpers/mirror.js';

// [arguments, the write mode the mounted line names, writeback cache, the read mode]
const CASES: Array<[string[], 'splice' | 'copy' | 'auto', boolean, 'splice' | 'passthrough']> = [
  [['--read-mode', 'splice'], 'auto', false, 'splice'],
  [['--read-mode', 'splice', '--write-mode', 'splice'], 'splice', false, 'splice'],
  [['--read-mode', 'splice', '--write-mode', 'copy'], 'copy', false, 'splice'],
  [['--read-mode=splice', '--write-mode=splice', '-o', 'writeback_cache'], 'splice', true, 'splice'],
  [['-o', 'read_mode=splice,write_mode=copy,writeback_cache,no_writeback_cache'], 'copy', false, 'splice'],
  [['--read-mode', 'passthrough', '--write-mode', 'splice'], 'splice', false, 'passthrough'],
];

for (const [args, mode, wb, readMode] of CASES) {
  t.test(`splicefs SRC MNT ${args.join(' ')}`, async (t) => {
    const src = scratch(t, 'cliw-src');
    const mnt = freshDir('cliw-mnt');
    t.teardown(() => run('rmdir', [mnt]).then(() => undefined));
    const s = await startMounted(t, src, mnt, { args: [...args, '--log-format', 'json', '--stats'] });
    const line = JSON.parse(s.stderr().split('\n').find((l) => l.includes('"msg":"mounted"')) ?? '{}') as Record<string, unknown>;
    t.equal(line.writeMode, mode, `the mounted line: writeMode ${mode}`);
    t.equal(line.writebackCache, wb, `the mounted line: writebackCache ${wb}`);
    t.equal(line.readMode, readMode, `the mounted line: readMode ${readMode}`);
    const w = await sh('head -c 3000000 /dev/urandom > "$1/in" && dd if="$1/in" of="$2/out" bs=256k status=none && sync "$2/out" && cmp "$1/in" "$2/out"', [src, mnt]);
    t.equal(w.code, 0, 'dd wrote 3 MB through the mount and it reads back the same', { stderr: w.stderr.toString() });
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    t.equal(sha(join(src, 'out')), sha(join(src, 'in')), 'the source holds what was written');
    t.ok(await s.stop(), 'the server stops on SIGTERM');
    const stats = JSON.parse(s.stdout().trim().split('\n').pop() ?? '{}') as {
      write?: { spliceReplies: number; copyReplies: number; spliceBytes: number; copyBytes: number };
      passthrough?: { opens: number };
    };
    const wr = stats.write;
    t.ok(wr !== undefined, '--stats printed the write counters');
    if (readMode === 'passthrough') {
      t.ok((stats.passthrough?.opens ?? 0) > 0, `passthrough: opens passed through (${stats.passthrough?.opens})`);
      t.same([wr?.spliceReplies, wr?.copyReplies], [0, 0], 'passthrough: no WRITE reached the server (the kernel wrote the source)');
      return;
    }
    t.equal(stats.passthrough?.opens, 0, 'read mode splice: no open passed through');
    if (mode === 'splice') t.ok((wr?.spliceReplies ?? 0) > 0, `splice: WRITEs by splice (${wr?.spliceReplies})`);
    else if (mode === 'copy') t.equal(wr?.spliceReplies, 0, 'copy: no WRITE by splice');
    t.ok((wr?.spliceBytes ?? 0) + (wr?.copyBytes ?? 0) >= 3_000_000, `every byte went through a WRITE (${(wr?.spliceBytes ?? 0) + (wr?.copyBytes ?? 0)})`);
  });
}

leftoverCheck(t);
