// Where the server's time goes on workload a: perf record of the server process during one
// extra run (not counted), then the top symbols, kernel and user, by self time.

import { spawn } from 'node:child_process'
import path from 'node:path'
import { WORK, MNT, sleep, log, tail } from './common.js'
import { runChild, dropCaches } from './proc.js'
import { fioArgs, runFio } from './fio.js'

export async function profileServer (srv, cfg) {
  const data = path.join(WORK, 'perf.data')
  const perf = spawn('perf', ['record', '-q', '-g', '-p', String(srv.pid), '-o', data], { stdio: 'ignore' })
  await sleep(300)
  dropCaches()
  try {
    await runFio('a', fioArgs('a', MNT, cfg, false), cfg)
  } finally {
    perf.kill('SIGINT')
    await new Promise((resolve) => perf.once('exit', resolve))
  }
  const rep = await runChild('perf', ['report', '-i', data, '--no-children', '--sort', 'symbol', '--stdio', '-g', 'none', '--percent-limit', '1'], { timeoutMs: 60000 })
  const rows = rep.stdout.split('\n').filter((l) => /^\s+[0-9.]+%/.test(l)).slice(0, 15).map((l) => l.trim().replace(/\s+/g, ' '))
  log(`profile: ${rows.length} entries`)
  return rows.length ? rows : [`perf report gave nothing (${tail(rep.stderr, 1)})`]
}
