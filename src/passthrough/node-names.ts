// Names of nodes, for the debug log only: the path of the node a request is about (relative to
// the mount's root, "/dir/file"). The server itself never needs a path (every operation goes
// through the node's fd), and nodes that re-open by file handle keep no name at all, so this
// table exists only while the log is at debug level: the inode table tells it each name a
// lookup found (InodeTable.names), and it costs nothing when debug is off.
//
// A node is known by the last name a lookup found it under (a hard link has several; a rename
// in the source is seen at the next lookup). Entries are weak: a node the table dropped and
// nobody references goes, with its name.
import { showPath } from '../paths.js';
import type { Node } from './inodes.js';

/** Deeper paths are shown with their leading components cut ("…/x/y"): a log line stays short. */
const MAX_DEPTH = 64;

interface Name {
  parent: Node;
  /** The name as shown (showPath: bytes that are not UTF-8 as \xNN). */
  shown: string;
}

export class NodeNames {
  private readonly names = new WeakMap<Node, Name>();

  constructor(private readonly root: Node) {}

  /** A lookup found `node` as `name` (raw bytes, copied here) in `parent`. */
  learn(node: Node, parent: Node, name: Uint8Array): void {
    if (node === this.root) return;
    const known = this.names.get(node);
    const shown = showPath(name);
    if (known && known.parent === parent && known.shown === shown) return;
    this.names.set(node, { parent, shown });
  }

  /** The last name `node` was found under, or undefined (the root, or a node never named). */
  nameOf(node: Node): string | undefined {
    return this.names.get(node)?.shown;
  }

  /** "/" for the root, "/a/b" for a node found as b in a; "?/b" where a parent's name is unknown. */
  pathOf(node: Node): string {
    const parts: string[] = [];
    let n: Node = node;
    while (n !== this.root) {
      if (parts.length === MAX_DEPTH) return `…/${parts.reverse().join('/')}`;
      const name = this.names.get(n);
      if (!name) {
        parts.push('?');
        break;
      }
      parts.push(name.shown);
      n = name.parent;
    }
    return n === this.root && parts.length === 0 ? '/' : `${n === this.root ? '/' : ''}${parts.reverse().join('/')}`;
  }
}
