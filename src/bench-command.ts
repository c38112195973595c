// `splicefs bench [options]`: the benchmark (benchmarks/bench.js, the same run as `npm run bench`)
// from the installed command. The package ships benchmarks/; this finds it next to dist/ and
// runs it in this process (so a signal to `splicefs` stops the benchmark and its mounts), with
// the report going to the current directory unless --out says otherwise: never into the
// package's own files (node_modules).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SplicefsError } from './errors.js';

interface BenchModule {
  runBench(argv: string[], opts: { prog: string; outDir: string }): Promise<number>;
}

/** benchmarks/bench.js of this installation (dist/../benchmarks). */
export const BENCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'benchmarks', 'bench.js');

/** Runs the benchmark with these options; resolves to its exit status. */
export async function bench(argv: string[]): Promise<number> {
  if (!existsSync(BENCH_SCRIPT)) {
    throw new SplicefsError(`bench: the benchmark is not part of this installation (${BENCH_SCRIPT} is missing)`);
  }
  const mod = (await import(pathToFileURL(BENCH_SCRIPT).href)) as BenchModule;
  return mod.runBench(argv, { prog: 'splicefs bench', outDir: process.cwd() });
}
