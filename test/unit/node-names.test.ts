// Node names for the debug log (src/passthrough/node-names.ts): the path of a node in the mount,
// from the names lookups found, the last one winning; never a loop, never an unbounded line.
import t from 'tap';
import type { Node } from '../../src/passthrough/inodes.js';
import { NodeNames } from '../../src/passthrough/node-names.js';

/** Only identity matters to the table. */
const node = (nodeid: number) => ({ nodeid }) as unknown as Node;

t.test('paths from the names lookups found', async (t) => {
  const root = node(1);
  const [dir, file, lost, other] = [node(2), node(3), node(4), node(5)];
  const names = new NodeNames(root);
  names.learn(dir, root, Buffer.from('dir'));
  names.learn(file, dir, Buffer.from('f.txt'));
  t.equal(names.pathOf(root), '/');
  t.equal(names.pathOf(dir), '/dir');
  t.equal(names.pathOf(file), '/dir/f.txt');
  t.equal(names.nameOf(file), 'f.txt');
  names.learn(file, root, Buffer.from('link'));
  t.equal(names.pathOf(file), '/link', 'a hard link found under another name: the last name wins');
  names.learn(other, lost, Buffer.from([0x62, 0xff]));
  t.equal(names.pathOf(other), '?/b\\xff', 'a parent never named: "?"; bytes that are not UTF-8: \\xNN');
  t.equal(names.pathOf(lost), '?', 'a node never named');
});

t.test('a cycle of stale names ends', async (t) => {
  const root = node(1);
  const [a, b] = [node(2), node(3)];
  const names = new NodeNames(root);
  names.learn(a, b, Buffer.from('a'));
  names.learn(b, a, Buffer.from('b'));
  const p = names.pathOf(a);
  t.match(p, /^…\//, 'cut, not an endless walk');
  t.ok(p.length < 400, 'a short line');
});
