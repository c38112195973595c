// The stat array the addon fills (addon/fsops.cc Fstatat): one Float64Array per caller.
// Indices: 0 dev, 1 ino, 2 mode, 3 nlink, 4 uid, 5 gid, 6 rdev, 7 size, 8 blksize, 9 blocks,
// 10/11 atime s/ns, 12/13 mtime s/ns, 14/15 ctime s/ns.
export type StatArray = Float64Array;
export const ST_DEV = 0;
export const ST_INO = 1;
export const ST_MODE = 2;
export const ST_SIZE = 7;
export function newStat(): StatArray {
  return new Float64Array(16);
}
