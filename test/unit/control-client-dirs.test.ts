// Where `stats` and `set` look for a mount's control socket (socket-path.ts: clientDirs), by
// who runs them and whose mount it is (a FUSE mount's user_id=, mountinfo.ts: fuseOwner).
import t from 'tap';
import { clientDirs, ownerDirs } from '../../src/control/socket-path.js';
import { fuseOwner, type MountEntry } from '../../src/mnt/mountinfo.js';

const XDG = { XDG_RUNTIME_DIR: '/home/u/run' };

t.test('clientDirs: the owner\'s directories only, ours first where the mount is ours', async (t) => {
  t.same(clientDirs(0, 0, {}), ['/run/splicefs'], "root, root's mount: /run/splicefs");
  t.same(clientDirs(undefined, 0, XDG), ['/run/splicefs'], 'root, no mount: its own only');
  t.same(clientDirs(1000, 0, XDG), ['/run/user/1000/splicefs', '/tmp/splicefs-1000'], "root, a user's mount: that user's dirs (never root's XDG_RUNTIME_DIR)");
  t.same(clientDirs(1000, 1000, XDG, () => true), ['/home/u/run/splicefs', '/run/user/1000/splicefs', '/tmp/splicefs-1000'], "a user, their mount: XDG_RUNTIME_DIR first");
  t.same(clientDirs(undefined, 1000, {}, () => true), ['/run/user/1000/splicefs', '/tmp/splicefs-1000'], 'a user, no mount: their own dirs, not /run/splicefs');
  t.same(clientDirs(0, 1000, XDG), ['/run/splicefs'], "a user, root's mount: root's (which refuses them)");
  t.same(clientDirs(2000, 1000, XDG), ['/run/user/2000/splicefs', '/tmp/splicefs-2000'], "a user, another's mount: the other's");
  t.same(ownerDirs(0), ['/run/splicefs'], 'ownerDirs(0)');
});

t.test('fuseOwner: user_id= of a FUSE mount only', async (t) => {
  const entry = (fstype: string, superOptions: string): MountEntry =>
    ({ major: 0, minor: 1, mountpoint: '/m', mountpointBytes: Buffer.from('/m'), fstype, source: 's', superOptions });
  t.equal(fuseOwner(entry('fuse.splicefs', 'rw,fd=5,rootmode=40000,user_id=65534,group_id=65534')), 65534);
  t.equal(fuseOwner(entry('fuse.splicefs', 'rw,user_id=0,group_id=0')), 0);
  t.equal(fuseOwner(entry('fuse', 'rw,xuser_id=5,group_id=0')), undefined, 'not a look-alike');
  t.equal(fuseOwner(entry('ext4', 'rw,user_id=5')), undefined, 'not a FUSE mount');
});
