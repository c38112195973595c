// Open file and directory handles: the fh numbers the kernel echoes back. One owner: the
// handle is closed on RELEASE/RELEASEDIR or at shutdown, whichever comes first.
import { addon } from '../addon.js';
import type { Node } from './inodes.js';

export interface FileHandle {
  /** The fh number the kernel knows this handle by (set when added to the table). */
  fh: number;
  readonly fd: number;
  readonly node: Node;
  /** The READ plan the data path made for this handle (datapath/read.ts owns it). */
  plan: Int32Array | null;
  /** Opened for writing (O_WRONLY or O_RDWR): its WRITEs may be served by the worker threads. */
  readonly writable: boolean;
  /** Opened with O_APPEND: the backing fd places every write at the end (splice refuses such fds). */
  readonly append: boolean;
}

export interface DirEntry {
  /** d_ino as the source reports it */
  ino: bigint;
  type: number;
  /** Raw bytes: names need not be UTF-8. */
  name: Buffer;
}

export interface DirHandle {
  readonly fd: number;
  readonly node: Node;
  /** Snapshot taken at offset 0; READDIR offsets index into it (offset = index + 1). */
  entries: DirEntry[] | null;
}

export class HandleTable<H extends { readonly fd: number }> {
  private readonly handles = new Map<number, H>();
  private next = 1;

  /** closeFd: how a handle's fd is closed (addon.closeLater where a close may wait on the source). */
  constructor(private readonly closeFd: (fd: number) => unknown = addon.close) {}

  add(h: H): number {
    const fh = this.next++;
    this.handles.set(fh, h);
    return fh;
  }
  get(fh: number): H | undefined {
    return this.handles.get(fh);
  }
  /** Remove and close; false if the fh was unknown. */
  release(fh: number): boolean {
    const h = this.handles.get(fh);
    if (!h) return false;
    this.handles.delete(fh);
    this.closeFd(h.fd);
    return true;
  }
  get size(): number {
    return this.handles.size;
  }
  closeAll(): void {
    for (const h of this.handles.values()) this.closeFd(h.fd);
    this.handles.clear();
  }
}
