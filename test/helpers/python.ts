// Running the Python programs of test/scripts/ from a test. A test names its script by path,
// resolved from its own file:
//   const SEEK = fileURLToPath(new URL('../scripts/seek_data_hole.py', import.meta.url));
//   const out = await python(t, SEEK, [path]);
// Each script starts with a comment saying what it does and its arguments.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks that every
// script in test/scripts/ has that header and compiles.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { run } from './mount.js';

/** The folder of the Python programs. */
export const SCRIPTS = fileURLToPath(new URL('../scripts/', import.meta.url));

/**
 * Run `python3 SCRIPT ARGS...` and return its stdout. A non-zero exit or a timeout fails the
 * test (with the script's stderr) and returns ''.
 */
export async function python(t: Test, script: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await run('python3', [script, ...args], { timeoutMs });
  if (r.code !== 0 || r.timedOut) {
    t.fail(`python3 failed (code ${r.code}, timedOut ${r.timedOut})`, { stderr: r.stderr.toString() });
    return '';
  }
  return r.stdout.toString();
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('every script in test/scripts/ has its header and compiles', async (t) => {
    const scripts = readdirSync(SCRIPTS).filter((f) => f.endsWith('.py'));
    t.ok(scripts.length > 0, `${scripts.length} scripts`);
    for (const f of scripts) {
      const text = readFileSync(join(SCRIPTS, f), 'utf8');
      t.match(text, /^# \S/, `${f}: starts with a comment saying what it does`);
      t.match(text, new RegExp(`^# usage: python3 ${f.replace('.', '\\.')}\\b`, 'm'), `${f}: the header gives its usage`);
    }
    const paths = scripts.map((f) => join(SCRIPTS, f));
    const r = await run('python3', ['-c', 'import sys; [compile(open(p).read(), p, "exec") for p in sys.argv[1:]]', ...paths]);
    t.equal(r.code, 0, 'they all compile', { stderr: r.stderr.toString() });
  });

  t.test('python() returns what the script prints', async (t) => {
    const out = await python(t, join(SCRIPTS, 'access.py'), ['/']);
    t.same(JSON.parse(out), [[true, true, true, true]], 'access.py of / as root');
  });
}
