// One test/scripts/opserver.py process on one root directory, driven over JSON lines: the
// rw tests' way to act on a mount from a child process (never from the test process, whose
// event loop may be serving that mount), as any uid. Also the tree entries its "tree" op gives
// and where two trees first differ. Pairs of them, mount against reference: rw.ts.
//
// When run as a test file itself (tap runs every .ts under test/), it checks its own promises
// on a plain directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { PY, scratch } from './mirror.js';

export const OPSERVER = fileURLToPath(new URL('../scripts/opserver.py', import.meta.url));

/** What an op answered: a value, or the errno's name. */
export type Result = { ok: unknown } | { err: string };

export interface OpServerOptions {
  uid?: number;
  gid?: number;
  groups?: number[];
  /** Per-request limit (the op server is killed and the request fails after it). */
  timeoutMs?: number;
}

/** One opserver.py process on one root; requests are answered in order. */
export class OpServer {
  readonly child: ChildProcess;
  private waiting: { resolve: (r: Result) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; what: string }[] = [];
  private stderr = '';
  private dead: string | null = null;
  private readonly timeoutMs: number;

  constructor(
    readonly root: string,
    opts: OpServerOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    let argv = [PY, OPSERVER, root];
    if (opts.uid !== undefined) {
      const gid = opts.gid ?? opts.uid;
      const groups = opts.groups && opts.groups.length > 0 ? [`--groups=${opts.groups.join(',')}`] : ['--clear-groups'];
      argv = ['setpriv', `--reuid=${opts.uid}`, `--regid=${gid}`, ...groups, ...argv];
    }
    const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
    delete env.NODE_OPTIONS;
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env, cwd: '/' });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const w = this.waiting.shift();
      if (!w) return;
      clearTimeout(w.timer);
      try {
        w.resolve(JSON.parse(line) as Result);
      } catch (e) {
        w.reject(new Error(`opserver: bad answer to ${w.what}: ${line}`));
      }
    });
    this.child.on('exit', (code, signal) => {
      this.dead = `opserver on ${root} exited (code ${code}, signal ${signal}): ${this.stderr.trim().slice(-2000)}`;
      for (const w of this.waiting.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`${w.what}: ${this.dead}`));
      }
    });
    this.child.stdin!.on('error', () => {});
  }

  call(op: string, ...args: unknown[]): Promise<Result> {
    const what = `${op}(${JSON.stringify(args).slice(1, -1)}) on ${this.root}`;
    if (this.dead) return Promise.reject(new Error(`${what}: ${this.dead}`));
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${what}: no answer within ${this.timeoutMs} ms (opserver killed)`));
        this.child.kill('SIGKILL');
      }, this.timeoutMs);
      this.waiting.push({ resolve, reject, timer, what });
      this.child.stdin!.write(JSON.stringify([op, ...args]) + '\n');
    });
  }

  /** The value of an op that must succeed (throws with the errno otherwise). */
  async value<V = unknown>(op: string, ...args: unknown[]): Promise<V> {
    const r = await this.call(op, ...args);
    if ('err' in r) throw new Error(`${op}(${JSON.stringify(args).slice(1, -1)}) on ${this.root}: ${r.err}`);
    return r.ok as V;
  }

  /** Ends the process (its open files close with it); waits for the exit. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((res) => this.child.once('exit', () => res()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A tree entry as opserver.py's "tree" gives it. */
export interface TreeEntry {
  path: string;
  type: string;
  mode: string;
  nlink: number;
  uid: number;
  gid: number;
  size?: number;
  sha?: string;
  target?: string;
  xattrs?: Record<string, string>;
  same?: string;
}

/** Where two trees first differ (a short diagnostic instead of a diff of thousands of entries). */
export function treeDifference(a: TreeEntry[], b: TreeEntry[]): { index: number; a: TreeEntry | undefined; b: TreeEntry | undefined } | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return { index: i, a: a[i], b: b[i] };
  }
  return null;
}


// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('an op server answers values and errno names, in order, and closes', async (t) => {
    const dir = scratch(t, 'opserver-self');
    const s = new OpServer(dir);
    try {
      t.same(await s.call('writefile', 'f', 'abc'), { ok: 3 }, 'a value');
      t.same(await s.call('unlink', 'missing'), { err: 'ENOENT' }, 'an errno name');
      const tree = await s.value<TreeEntry[]>('tree', '');
      t.ok(tree.some((e) => e.path.endsWith('f') && e.size === 3), 'the tree has the file');
      t.equal(treeDifference(tree, tree), null, 'a tree equals itself');
      t.equal(treeDifference(tree, [])?.index, 0, 'a difference is found at its first entry');
      await t.rejects(s.value('unlink', 'missing'), /ENOENT/, 'value() throws with the errno');
    } finally {
      await s.close();
    }
    t.not(s.child.exitCode ?? s.child.signalCode, null, 'the process has exited');
  });
}
