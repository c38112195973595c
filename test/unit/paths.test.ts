// How a path reads in messages (showPath), without a mount: valid UTF-8 as is, every byte that
// is not part of a valid sequence (stray continuation, truncated, overlong, surrogate, past
// U+10FFFF) and every control character as \xNN; never U+FFFD unless the path holds it. And
// the CLI's argument recovery (argv.ts) falls back to Node's strings when cmdline disagrees.
import t from 'tap';
import { rawArgs } from '../../src/argv.js';
import { pathBytes, samePath, showPath } from '../../src/paths.js';

const b = (...x: number[]) => Buffer.from(x);
const cat = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => Buffer.from(p)));

t.test('showPath', async (t) => {
  const cases: Array<[string, Buffer | string, string]> = [
    ['plain ASCII', '/srv/data', '/srv/data'],
    ['valid UTF-8, 2 to 4 bytes', '/tmp/é€😀', '/tmp/é€😀'],
    ['a lone 0xff', cat('/tmp/src', b(0xff)), '/tmp/src\\xff'],
    ['a stray continuation byte', cat('a', b(0x80), 'b'), 'a\\x80b'],
    ['a truncated 3-byte sequence', cat('a', b(0xe2, 0x82)), 'a\\xe2\\x82'],
    ['a lead byte followed by ASCII', cat(b(0xc3), '('), '\\xc3('],
    ['an overlong /', b(0xc0, 0xaf), '\\xc0\\xaf'],
    ['an overlong 3-byte form', b(0xe0, 0x80, 0xaf), '\\xe0\\x80\\xaf'],
    ['a UTF-16 surrogate', b(0xed, 0xa0, 0x80), '\\xed\\xa0\\x80'],
    ['past U+10FFFF', b(0xf4, 0x90, 0x80, 0x80), '\\xf4\\x90\\x80\\x80'],
    ['valid next to invalid', cat('é', b(0xff), '€'), 'é\\xff€'],
    ['control characters', 'a\nb\tc\x7f', 'a\\x0ab\\x09c\\x7f'],
    ['a real U+FFFD is kept', '\ufffd', '\ufffd'],
    ['backslash kept as is', 'a\\b', 'a\\b'],
  ];
  for (const [what, input, want] of cases) t.equal(showPath(input), want, what);
  t.ok(pathBytes('é').equals(b(0xc3, 0xa9)), 'a string stands for its UTF-8 bytes');
  t.ok(samePath('/x/é', cat('/x/', b(0xc3, 0xa9))), 'string and bytes of one path are the same path');
  t.notOk(samePath(cat('/x', b(0xff)), '/x\ufffd'), 'a lossy decoding is another path');
});

t.test('rawArgs', async (t) => {
  // This process was started without user arguments; cmdline ends with the script's path.
  t.same(rawArgs([]), [], 'no arguments');
  const script = process.argv[1];
  t.same(rawArgs([script]).map(String), [script], 'the last cmdline entries, when they match');
  t.same(rawArgs(['not-in-cmdline']).map(String), ['not-in-cmdline'], 'the strings, when cmdline disagrees');
});
