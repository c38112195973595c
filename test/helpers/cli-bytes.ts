// Running the CLI (dist/cli.js) as a user runs it, with arguments that may be any bytes.
// Node's spawn takes strings and encodes them as UTF-8, so an argument such as $'/tmp/src\xff'
// cannot be passed directly: python3 (a test requirement) execs the command with the bytes,
// given to it in hex.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks that the
// bytes arrive unchanged.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { run, within, type RunResult } from './mount.js';

export const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const CLI = join(REPO, 'dist', 'cli.js');
/**
 * node running the CLI as a user does: tap's processinfo hook adds its loader to NODE_OPTIONS
 * of every child, so it is dropped.
 */
export const CLI_CMD: string[] = ['env', '-u', 'NODE_OPTIONS', process.execPath, CLI];

export type Arg = string | Buffer;

const EXEC_PY = 'import os, sys; a = [bytes.fromhex(h) for h in sys.argv[1:]]; os.execvp(a[0], a)';

/** [file, args] for spawn/execFile that run `argv` with each argument's exact bytes. */
export function bytesCommand(argv: readonly Arg[]): [string, string[]] {
  return ['python3', ['-c', EXEC_PY, ...argv.map((a) => Buffer.from(a).toString('hex'))]];
}

/** Run a command whose arguments are bytes, to completion (never rejects, see run()). */
export function runBytes(argv: readonly Arg[], timeoutMs = 15_000): Promise<RunResult> {
  const [file, args] = bytesCommand(argv);
  return run(file, args, { timeoutMs });
}

/** `splicefs ARGS...` to completion. */
export function runCli(args: readonly Arg[], timeoutMs = 15_000): Promise<RunResult> {
  return runBytes([...CLI_CMD, ...args], timeoutMs);
}

export interface CliServer {
  child: ChildProcess;
  /** The "mounted" log line, parsed. */
  mounted: Record<string, unknown>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the server wrote on stderr so far, as bytes. */
  stderr(): Buffer;
}

/**
 * Start `splicefs ARGS...` (by `cmd`, CLI_CMD unless given) in the background and wait for its
 * "mounted" line. On teardown the server is killed if it still runs; `cleanup` (unmounting,
 * removing dirs) runs after that.
 */
export async function startCli(t: Test, args: readonly Arg[], cleanup: () => Promise<void>, cmd: readonly Arg[] = CLI_CMD): Promise<CliServer> {
  const [file, argv] = bytesCommand([...cmd, ...args]);
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  const chunks: Buffer[] = [];
  const stderr = () => Buffer.concat(chunks);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await cleanup();
  });
  const mounted = await within(
    20_000,
    'the mounted line',
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stderr!.on('data', (b: Buffer) => {
        chunks.push(b);
        for (const line of stderr().toString().split('\n')) {
          try {
            const j = JSON.parse(line) as Record<string, unknown>;
            if (j.msg === 'mounted') resolve(j);
          } catch {
            /* not a whole JSON line yet */
          }
        }
      });
      void exited.then(({ code }) => reject(new Error(`server exited (${code}) before mounting: ${stderr().toString()}`)));
    }),
  );
  return { child, mounted, exited, stderr };
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('arguments arrive as the exact bytes given', async (t) => {
    const odd = Buffer.from([0x61, 0xff, 0x20, 0xc3, 0x28, 0x0a, 0x62]);
    const r = await runBytes(['printf', '%s|%s', odd, 'plain']);
    t.equal(r.code, 0);
    t.same(r.stdout, Buffer.concat([odd, Buffer.from('|plain')]), 'printf got the bytes');
  });
}
