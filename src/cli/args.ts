// Command-line scanning, getopt style, with splicefs's own one-line messages. Node's parseArgs
// would do the scanning, but its errors are written for programmers ("To specify a positional
// argument starting with a '-', place it at the end of the command after '--', as in '--
// "-z"'") and cannot all be reworded reliably; this scanner is small enough to own instead.
//
// Conventions (those of getopt_long and libfuse's fuse_opt, which FUSE users know):
//   --name VALUE, --name=VALUE   a long option with a value (the next argument is the value,
//                                whatever it starts with, as getopt takes it)
//   --flag                       a long flag (--flag=x is an error)
//   -x, -xyz                     short flags, bundled; a short option with a value takes the rest
//                                of the argument (-oro) or the next one (-o ro)
//   --                           everything after it is a positional argument
//   -                            a positional argument (as in getopt)
// Positional arguments may come anywhere, before or after options (mount.fuse3 passes
// `SOURCE MOUNTPOINT -o OPTS`, people write `-o OPTS SOURCE MOUNTPOINT`).
import { SplicefsError } from '../errors.js';
import { showPath } from '../paths.js';

/** One option a command accepts. */
export interface OptionDef {
  /** Long name without the dashes ('read-mode'); at least one of long and short. */
  long?: string;
  /** One character ('o'). */
  short?: string;
  /** Name of the value in messages ('MODE'); absent for a flag. */
  value?: string;
  /** What the value may be, for messages ('one of auto, splice, copy'; see api/options.ts Rule). */
  takes?: string;
}

/** One option as given, in command-line order. */
export interface Occurrence<D extends OptionDef = OptionDef> {
  def: D;
  /** The value (undefined for a flag). */
  value?: string;
  /** How the user spelled the option ('--read-mode', '-o'), for messages. */
  spelled: string;
}

export interface Scanned<D extends OptionDef = OptionDef> {
  options: Array<Occurrence<D>>;
  /** Indices into the scanned arguments of the positional ones (the caller keeps their bytes). */
  positionals: number[];
}

/** A usage error: one line, exit code 2, pointing at --help. */
export function usageError(msg: string): never {
  throw new SplicefsError(`${msg} (see splicefs --help)`, 2);
}

/**
 * The usage error of a value an option does not take, in the one style of every such message:
 * the option as typed, what it takes, the value given ("--threads takes a whole number from 0
 * to 64, not '-1' (see splicefs --help)").
 */
export function badValue(spelled: string, takes: string, value: string): never {
  usageError(`${spelled} takes ${takes}, not '${shown(value)}'`);
}

/** "--threads needs a value: N, a whole number from 0 to 64": `value` names the value, `def` says what it takes. */
export function needsValue(spelled: string, value: string, def: OptionDef): never {
  usageError(`${spelled} needs a value: ${value}${def.takes ? `, ${def.takes}` : ''}`);
}

/** An argument as it may be shown in a message: control and non-UTF-8 bytes escaped, cut short. */
export function shown(arg: string | Buffer): string {
  const s = showPath(typeof arg === 'string' ? Buffer.from(arg) : arg);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Scan `args` (the bytes given; decoded as UTF-8 to be matched against `defs`). Throws a usage
 * error (SplicefsError, exit code 2) for an unknown option, a missing value or a value given
 * to a flag. Never decides what the positionals mean.
 */
export function scanArgs<D extends OptionDef>(args: readonly Buffer[], defs: readonly D[]): Scanned<D> {
  const strs = args.map((b) => b.toString('utf8'));
  const out: Scanned<D> = { options: [], positionals: [] };
  for (let i = 0; i < strs.length; i++) {
    const a = strs[i]!;
    if (a === '--') {
      for (let j = i + 1; j < strs.length; j++) out.positionals.push(j);
      break;
    }
    if (a.startsWith('--')) i = scanLong(strs, i, defs, out);
    else if (a.startsWith('-') && a.length > 1) i = scanShort(strs, i, defs, out);
    else out.positionals.push(i);
  }
  return out;
}

/** `--name`, `--name=value`, `--name value`; returns the index of the last argument used. */
function scanLong<D extends OptionDef>(strs: string[], i: number, defs: readonly D[], out: Scanned<D>): number {
  const a = strs[i]!;
  const eq = a.indexOf('=');
  const name = a.slice(2, eq < 0 ? undefined : eq);
  const def = name ? defs.find((d) => d.long === name) : undefined;
  if (!def) usageError(`unknown option '${shown(eq < 0 ? a : a.slice(0, eq))}'`);
  const spelled = `--${name}`;
  if (!def.value) {
    if (eq >= 0) usageError(`${spelled} takes no value, not '${shown(a.slice(eq + 1))}'`);
    out.options.push({ def, spelled });
    return i;
  }
  if (eq >= 0) {
    out.options.push({ def, spelled, value: a.slice(eq + 1) });
    return i;
  }
  if (i + 1 >= strs.length) needsValue(spelled, def.value, def);
  out.options.push({ def, spelled, value: strs[i + 1] });
  return i + 1;
}

/** `-x`, `-xyz`, `-oVALUE`, `-o VALUE`; returns the index of the last argument used. */
function scanShort<D extends OptionDef>(strs: string[], i: number, defs: readonly D[], out: Scanned<D>): number {
  const a = strs[i]!;
  for (let k = 1; k < a.length; k++) {
    const ch = a[k]!;
    const def = defs.find((d) => d.short === ch);
    if (!def) usageError(`unknown option '-${shown(ch)}'${a.length > 2 ? ` in '${shown(a)}'` : ''}`);
    const spelled = `-${ch}`;
    if (!def.value) {
      out.options.push({ def, spelled });
      continue;
    }
    if (k + 1 < a.length) {
      out.options.push({ def, spelled, value: a.slice(k + 1) });
      return i;
    }
    if (i + 1 >= strs.length) needsValue(spelled, def.value, def);
    out.options.push({ def, spelled, value: strs[i + 1] });
    return i + 1;
  }
  return i;
}

/**
 * `v` as a whole number if it is digits alone, else NaN (which no range takes): no sign, point,
 * exponent, hex prefix or blanks, all of which Number() would accept.
 */
export function wholeNumber(v: string): number {
  return /^\d+$/.test(v) ? Number(v) : NaN;
}
