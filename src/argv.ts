// The command line's arguments as the bytes the process was given. Node decodes argv as UTF-8
// and replaces what is not UTF-8 with U+FFFD, so a path like $'/tmp/src\xff' would arrive as a
// different path that does not exist. The kernel keeps the original bytes in /proc/self/cmdline.
import { readFileSync } from 'node:fs';

/**
 * The user's arguments (process.argv.slice(2)) as raw bytes, one Buffer each, in order.
 *
 * /proc/self/cmdline holds node's own argv: the executable, node's options (execArgv), the
 * script, then the user's arguments; options from NODE_OPTIONS are not in it. The user's
 * arguments are therefore its last N entries. Each entry is checked against what Node decoded
 * (the same UTF-8 decoder gives the same string); if anything does not match (cmdline
 * rewritten, e.g. by a process.title change, or unreadable), the decoded strings are used as
 * they are, which is only lossy for arguments that are not UTF-8.
 */
export function rawArgs(argv: readonly string[] = process.argv.slice(2)): Buffer[] {
  const fallback = () => argv.map((a) => Buffer.from(a, 'utf8'));
  let cmdline: Buffer;
  try {
    cmdline = readFileSync('/proc/self/cmdline');
  } catch {
    return fallback();
  }
  const entries = splitNul(cmdline);
  if (entries.length < argv.length + 2) return fallback();
  const mine = entries.slice(entries.length - argv.length);
  const agrees = mine.every((raw, i) => raw.toString('utf8') === argv[i]);
  return agrees ? mine : fallback();
}

/** NUL-terminated entries (the last NUL ends the last entry, it does not start an empty one). */
function splitNul(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < b.length) {
    let end = b.indexOf(0, start);
    if (end < 0) end = b.length;
    out.push(Buffer.from(b.subarray(start, end)));
    start = end + 1;
  }
  return out;
}
