// What the commands that print (stats, set) write to stdout, and how a failed write ends them:
// a reader that went away (`| head`) ends them quietly; any other failure is one line, exit 1.
import { SplicefsError } from '../errors.js';
/** Whether the stdout error listener is on (once per process). */
let errorsHeard = false;

/**
 * Write `text` to stdout and wait until it is written: true, or false when the reader is gone
 * (EPIPE: `| head` read what it wanted; the caller ends quietly, exit 0, as Node CLIs do).
 * Any other failure (ENOSPC of `> /dev/full`, EIO) is a one-line SplicefsError, exit 1. Waiting
 * matters: the CLI calls process.exit() right after the command, before a failed write's
 * 'error' is emitted, so the failure would go unsaid (exit 0); and in --watch an 'error' with
 * no listener is an uncaught exception (a stack trace).
 */
export function writeOut(text: string): Promise<boolean> {
  if (!errorsHeard) {
    // The write's callback gets each error; the 'error' event only must not go unheard.
    process.stdout.on('error', () => {});
    errorsHeard = true;
  }
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => {
      const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
      if (!err) resolve(true);
      else if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') resolve(false);
      else {
        const why = /^[A-Z0-9]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message;
        reject(new SplicefsError(`cannot write the output: ${why}${code ? ` (${code})` : ''}`));
      }
    });
  });
}
