// The argument scanner (src/cli/args.ts), without a process: getopt conventions (bundled short
// flags, -oVALUE, --name=value, '--', a lone '-', positionals anywhere) and its one-line usage
// errors, in splicefs's words (never Node's parseArgs text).
import t, { type Test } from 'tap';
import { badValue, scanArgs, shown, wholeNumber, type OptionDef } from '../../src/cli/args.js';
import { SplicefsError } from '../../src/errors.js';

const DEFS: OptionDef[] = [
  { long: 'mode', value: 'MODE' },
  { long: 'flag' },
  { short: 'f' },
  { short: 'd', long: 'debug' },
  { short: 'o', value: 'OPTS' },
];
const B = (...a: string[]) => a.map((s) => Buffer.from(s));

/** [option as spelled, value] in order, and the positionals' texts. */
function scan(...args: string[]) {
  const raw = B(...args);
  const r = scanArgs(raw, DEFS);
  return { opts: r.options.map((o) => [o.spelled, o.value]), pos: r.positionals.map((i) => raw[i]!.toString()) };
}

function usage(t: Test, args: string[], pattern: RegExp): void {
  try {
    scanArgs(B(...args), DEFS);
    t.fail(`${JSON.stringify(args)}: no error`);
  } catch (err) {
    t.type(err, SplicefsError, `${JSON.stringify(args)}: a SplicefsError`);
    const e = err as SplicefsError;
    t.equal(e.exitCode, 2, `${JSON.stringify(args)}: exit code 2`);
    t.notMatch(e.message, /\n/, `${JSON.stringify(args)}: one line`);
    t.notMatch(e.message, /To specify a positional|ERR_PARSE_ARGS/, `${JSON.stringify(args)}: not Node's words`);
    t.match(e.message, pattern, `${JSON.stringify(args)}: ${e.message}`);
  }
}

t.test('conventions', async (t) => {
  t.same(scan('a', '--mode', 'x', 'b'), { opts: [['--mode', 'x']], pos: ['a', 'b'] }, 'positionals around an option');
  t.same(scan('--mode=x=y'), { opts: [['--mode', 'x=y']], pos: [] }, '--name=value keeps later =');
  t.same(scan('--mode', '-1'), { opts: [['--mode', '-1']], pos: [] }, 'the next argument is the value, even with a dash');
  t.same(scan('--mode='), { opts: [['--mode', '']], pos: [] }, 'an empty value given with =');
  t.same(scan('-fd'), { opts: [['-f', undefined], ['-d', undefined]], pos: [] }, 'bundled flags');
  t.same(scan('-oro,noexec'), { opts: [['-o', 'ro,noexec']], pos: [] }, '-oVALUE');
  t.same(scan('-fo', 'ro'), { opts: [['-f', undefined], ['-o', 'ro']], pos: [] }, 'a flag then -o VALUE in one bundle');
  t.same(scan('--debug', '-d'), { opts: [['--debug', undefined], ['-d', undefined]], pos: [] }, 'long and short of one option');
  t.same(scan('-', 'b'), { opts: [], pos: ['-', 'b'] }, "a lone '-' is positional");
  t.same(scan('a', '--', '--mode', '-f'), { opts: [], pos: ['a', '--mode', '-f'] }, "after '--' everything is positional");
  t.same(scan('--'), { opts: [], pos: [] }, "a lone '--'");
});

t.test('bad arguments: one line each, in our words', async (t) => {
  usage(t, ['--bogus'], /^unknown option '--bogus' \(see splicefs --help\)$/);
  usage(t, ['--bogus=1'], /unknown option '--bogus'/);
  usage(t, ['-z'], /unknown option '-z'/);
  usage(t, ['-fz'], /unknown option '-z' in '-fz'/);
  usage(t, ['---'], /unknown option '---'/);
  usage(t, ['--=x'], /unknown option '--'/);
  usage(t, ['--mode'], /^--mode needs a value: MODE \(see splicefs --help\)$/);
  usage(t, ['a', '-o'], /-o needs a value/);
  usage(t, ['--flag=yes'], /^--flag takes no value, not 'yes' \(see splicefs --help\)$/);
  usage(t, ['--\x1b[31m'], /unknown option '--\\x1b\[31m'/);
});

t.test('helpers', async (t) => {
  t.equal(wholeNumber('42'), 42, 'a whole number');
  t.equal(wholeNumber('007'), 7, 'leading zeros');
  for (const v of ['x', '-1', '1.5', '0x10', '1e3', '', ' 1', '+1']) t.ok(Number.isNaN(wholeNumber(v)), `'${v}': NaN, which no range takes`);
  t.throws(() => badValue('--threads', 'a whole number from 0 to 64', '-1'), {
    message: "--threads takes a whole number from 0 to 64, not '-1' (see splicefs --help)",
    exitCode: 2,
  });
  t.equal(shown(Buffer.from([0x61, 0xff])), 'a\\xff', 'non-UTF-8 bytes escaped');
  t.equal(shown('x'.repeat(100)).length, 60, 'a long argument is cut short');
});
