// Running the command line as a user runs it: `node dist/cli.js` in a child process (run `npm
// run build` first; `npm test` does it in pretest). tap's processinfo hook adds its loader to
// NODE_OPTIONS of every child; the CLI must run as a user runs it (and the unprivileged one
// cannot write tap's .tap/ directory), so every run here drops it.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks that
// promise: the child sees no NODE_OPTIONS, and does see the variables a test sets.
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { run, type RunResult } from './mount.js';

export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const NODE = process.execPath;
/** `env -u NODE_OPTIONS node`: argv[0] and the arguments before the script. */
export const CLEAN_NODE = ['env', '-u', 'NODE_OPTIONS', NODE];

export interface CliOptions {
  timeoutMs?: number;
  /** Run as uid/gid 65534 with no groups (setpriv). */
  asNobody?: boolean;
  /** Variables to set in the child's environment (VAR=value, by env(1)). */
  env?: Record<string, string>;
  /** The child's working directory (relative paths in `args` resolve from it). */
  cwd?: string;
}

/** `env -u NODE_OPTIONS [VAR=value...] node`: the command that runs a script as a user does. */
export function cleanNode(env: Record<string, string> = {}): string[] {
  return [...CLEAN_NODE.slice(0, 3), ...Object.entries(env).map(([k, v]) => `${k}=${v}`), NODE];
}

/** `splicefs ARGS...` (15 s at most unless told). */
export function cli(args: string[], opts: CliOptions = {}): Promise<RunResult> {
  const node = cleanNode(opts.env);
  const argv = [CLI, ...args];
  const timeoutMs = opts.timeoutMs ?? 15_000;
  if (opts.asNobody) return run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...node, ...argv], { timeoutMs });
  return run(node[0]!, [...node.slice(1), ...argv], { timeoutMs, cwd: opts.cwd });
}

/** Asserts the shape every bad input must have; returns the one line. */
export function oneLineError(t: Test, what: string, r: RunResult, pattern: RegExp, exitCode?: number): string {
  const err = r.stderr.toString();
  const lines = err.split('\n').filter((l) => l.length > 0);
  t.notOk(r.timedOut, `${what}: did not hang`);
  t.not(r.code, 0, `${what}: non-zero exit (${r.code})`);
  if (exitCode !== undefined) t.equal(r.code, exitCode, `${what}: exit ${exitCode}`);
  t.equal(lines.length, 1, `${what}: exactly one line on stderr`, { stderr: err });
  t.match(lines[0] ?? '', /^splicefs: /, `${what}: the line starts with "splicefs:"`);
  t.notOk(/^\s+at /m.test(err), `${what}: no stack trace`);
  t.match(lines[0] ?? '', pattern, `${what}: says what is wrong`);
  return lines[0] ?? '';
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('the CLI runs without NODE_OPTIONS, with the variables asked for', async (t) => {
    const probe = ['-e', 'process.stdout.write(JSON.stringify([process.env.NODE_OPTIONS ?? null, process.env.SPLICEFS_PROBE ?? null]))'];
    const env = { ...process.env, NODE_OPTIONS: '--no-warnings' };
    const plain = await run(CLEAN_NODE[0]!, [...CLEAN_NODE.slice(1), ...probe], { env });
    t.same(JSON.parse(plain.stdout.toString()), [null, null], 'CLEAN_NODE drops NODE_OPTIONS');
    const withVar = cleanNode({ SPLICEFS_PROBE: 'yes' });
    const r = await run(withVar[0]!, [...withVar.slice(1), ...probe], { env });
    t.same(JSON.parse(r.stdout.toString()), [null, 'yes'], 'cleanNode drops NODE_OPTIONS and sets the variables asked for');
    t.match(CLI, /\/dist\/cli\.js$/, `CLI is ${CLI}`);
  });
}
