// Paths as Linux has them: bytes. A source or mountpoint need not be UTF-8, so the API takes
// Buffers (or strings, encoded as UTF-8), the kernel gets the bytes, and messages show a path
// escaped instead of decoding it lossily (U+FFFD would name a different, usually missing, path).
import { isUtf8 } from 'node:buffer';

/** A path as the API takes it: raw bytes, or a string that stands for its UTF-8 encoding. */
export type PathArg = string | Uint8Array;

/** The bytes of a path (a string is encoded as UTF-8; a Buffer is returned as is, not copied). */
export function pathBytes(p: PathArg): Buffer {
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/** Same bytes: the way to compare paths (two strings can differ and name one path, never here). */
export function samePath(a: PathArg, b: PathArg): boolean {
  return pathBytes(a).equals(pathBytes(b));
}

/**
 * A path for a message or a log line: the path itself where it is UTF-8, with every byte that
 * is not part of a valid UTF-8 sequence, and every control character (so a message stays one
 * line), written as `\xNN` (two lower-case hex digits). Never contains U+FFFD unless the path
 * does. A backslash is left as is, so a path that holds the text `\xff` reads the same as one
 * holding the byte 0xff: the escape is for people, `pathBytes` is for programs.
 */
export function showPath(p: PathArg): string {
  const b = pathBytes(p);
  if (isUtf8(b) && !/[\x00-\x1f\x7f]/.test(b.toString('utf8'))) return b.toString('utf8');
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = utf8SequenceLength(b, i);
    if (n === 0 || (n === 1 && (b[i] < 0x20 || b[i] === 0x7f))) {
      out += `\\x${b[i].toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += b.toString('utf8', i, i + n);
      i += n;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at b[i] (1 to 4), or 0 if none starts there. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  let n: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) [n, min] = [2, 0x80];
  else if (c >= 0xe0 && c <= 0xef) [n, min] = [3, 0x800];
  else if (c >= 0xf0 && c <= 0xf4) [n, min] = [4, 0x10000];
  else return 0;
  if (i + n > b.length) return 0;
  let cp = c & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const d = b[i + k];
    if ((d & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
  return n;
}
