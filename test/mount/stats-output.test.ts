// The output of `stats` and `set` when it cannot be written. A reader that goes away (`--watch |
// head -1`, `--watch --json | head -c 600`) ends --watch quietly with exit 0, as a closed pipe
// ends any Node CLI (no EPIPE stack trace). Output to a full device (`> /dev/full`) is one line
// naming ENOSPC, exit 1, never a silent exit 0; `set` says the mode was set all the same.
import t from 'tap';
import { CLEAN_NODE, CLI, oneLineError } from '../helpers/cli.js';
import { populateFile } from '../helpers/control.js';
import { leftoverCheck, run, type RunResult } from '../helpers/mount.js';
import { withMount } from '../helpers/mount.js';

/** `splicefs ARGS... | READER` in bash: what the reader printed, and splicefs's exit status. */
async function piped(args: string[], reader: string): Promise<{ r: RunResult; out: string; status: number }> {
  const script = `"$@" | ${reader}; echo "status=\${PIPESTATUS[0]}"`;
  const r = await run('bash', ['-c', script, 'bash', ...CLEAN_NODE, CLI, ...args], { timeoutMs: 20_000 });
  const text = r.stdout.toString();
  const m = /status=(\d+)\n$/.exec(text);
  return { r, out: m ? text.slice(0, m.index) : text, status: m ? Number(m[1]) : -1 };
}

/** `splicefs ARGS... > /dev/full`. */
function toFull(args: string[]): Promise<RunResult> {
  return run('bash', ['-c', '"$@" > /dev/full', 'bash', ...CLEAN_NODE, CLI, ...args], { timeoutMs: 20_000 });
}

t.test('--watch into a pipe whose reader is gone: exit 0, nothing on stderr', async (t) => {
  await withMount(t, {}, { populate: (s) => populateFile(s) }, async ({ mnt }) => {
    const table = await piped(['stats', mnt, '--watch'], 'head -1');
    t.notOk(table.r.timedOut, 'table: ended (did not watch on)');
    t.equal(table.status, 0, 'table | head -1: splicefs exits 0', { stderr: table.r.stderr.toString() });
    t.equal(table.r.stderr.toString(), '', 'table | head -1: nothing on stderr (no EPIPE stack trace)');
    t.match(table.out, new RegExp(`^splicefs on ${mnt} \\(pid \\d+\\), every second`), 'head got the first line');

    const json = await piped(['stats', mnt, '--watch', '--json'], 'head -c 600');
    t.notOk(json.r.timedOut, 'json: ended (did not watch on)');
    t.equal(json.status, 0, '--json | head -c 600: splicefs exits 0', { stderr: json.r.stderr.toString() });
    t.equal(json.r.stderr.toString(), '', '--json | head -c 600: nothing on stderr');
    t.equal(json.out.length, 600, 'head got its 600 bytes');
    t.match(json.out, /^\{"/, 'of JSON lines');
  });
});

t.test('output to a full device: one line naming ENOSPC, exit 1', async (t) => {
  await withMount(t, {}, {}, async ({ mnt, handle }) => {
    oneLineError(t, 'stats > /dev/full', await toFull(['stats', mnt]), /^splicefs: cannot write the output: no space left on device \(ENOSPC\)$/, 1);
    oneLineError(t, 'stats --json > /dev/full', await toFull(['stats', mnt, '--json']), /\(ENOSPC\)$/, 1);
    const set = await toFull(['set', mnt, 'read-mode', 'copy']);
    oneLineError(t, 'set > /dev/full', set, /^splicefs: read-mode copy is set, but cannot write the output: .*\(ENOSPC\)$/, 1);
    t.equal(handle.readMode, 'copy', 'the mode was set all the same (as the line says)');
    // And where the output can be written, nothing changed.
    const ok = await piped(['set', mnt, 'read-mode', 'splice'], 'cat');
    t.equal(ok.status, 0, 'set into a pipe that reads it all: exit 0');
    t.match(ok.out, /^read-mode splice \(was copy\)/, 'its line');
  });
});

leftoverCheck(t);
