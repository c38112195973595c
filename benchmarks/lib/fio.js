// fio: the command line of a cell and one run of it, read from fio's JSON output.

import path from 'node:path'
import { MNT, MiB, tail } from './common.js'
import { runChild, HangError } from './proc.js'
import { abortMntConnection } from './mounts.js'
import { WORKLOADS } from './workloads.js'

/** fio's arguments for workload `wid` on the files in `dir` (SRC for raw, else MNT). */
export function fioArgs (wid, dir, cfg, warmup) {
  const w = WORKLOADS[wid]
  const args = ['--output-format=json', `--name=${wid}`, '--group_reporting', ...w.fio(cfg)]
  if (w.file === 'big') args.push(`--filename=${path.join(dir, 'big.bin')}`)
  if (w.file === 'c') args.push(`--directory=${dir}`, '--filename_format=c.$jobnum')
  if (w.file === 'f') args.push(`--filename=${path.join(dir, 'f.bin')}`)
  if (w.file === 'sw') args.push(`--directory=${dir}`, '--filename_format=sw.$jobnum')
  if (!w.write) args.push('--readonly')
  if (w.timeBased) args.push('--time_based', `--runtime=${warmup ? cfg.warmupRuntime : w.seed ? cfg.seedRuntime : cfg.runtime}`)
  return args
}

/** One fio run: {bwBytes, ioBytes, runtimeMs}. Throws HangError when fio had to be killed. */
export async function runFio (wid, args, cfg) {
  const w = WORKLOADS[wid]
  // Generous: a cell moving less than ~20 MiB/s for minutes is a hang, not a result.
  const timeoutMs = w.timeBased ? (Math.max(cfg.runtime, cfg.seedRuntime) + 60) * 1000 : Math.max(180000, ((w.file === 'c' ? 4 * cfg.cSize : cfg.bigSize) / (20 * MiB)) * 1000)
  const r = await runChild('fio', args, { timeoutMs, onStuck: args.some((a) => a.includes(MNT)) ? abortMntConnection : null })
  if (r.timedOut) throw new HangError(`fio did not finish in ${Math.round(timeoutMs / 1000)} s (killed)`)
  let j = null
  const i = r.stdout.indexOf('{')
  if (i >= 0) try { j = JSON.parse(r.stdout.slice(i)) } catch {}
  const job = j && j.jobs && j.jobs[0]
  if (!job) throw new Error(`fio exit ${r.code ?? r.signal}, no JSON: ${tail(r.stderr || r.stdout, 3)}`)
  if (job.error) throw new Error(`fio error ${job.error}: ${tail(r.stderr, 3)}`)
  if (r.code !== 0) throw new Error(`fio exit ${r.code}: ${tail(r.stderr, 3)}`)
  const side = w.write ? job.write : job.read
  if (!side || !side.io_bytes) throw new Error(`fio moved no bytes: ${tail(r.stderr, 3)}`)
  return { bwBytes: side.bw_bytes, ioBytes: side.io_bytes, runtimeMs: side.runtime }
}
