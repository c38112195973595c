// Read-write (issue 10): real programs end to end through the mount, each compared with the same
// run on a plain reference directory: git (init, add, commit, branch, checkout, mv, rm, merge,
// gc, fsck) with fixed dates, so every commit id must come out the same; and a tar round trip
// (a tree with sizes from 0 to 3 MiB, a sparse file, symlinks, hard links, modes, user.*
// xattrs and mtimes, extracted onto the mount, archived from it, extracted elsewhere: the three
// trees agree). Building splicefs on the mount (npm ci, tsc, node-gyp) is slow and needs the
// registry: test/scripts/rw-build-on-mount.sh, not part of npm test.
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { needTools, sameOnBoth, scratch, sh } from '../helpers/mirror.js';
import { withRw } from '../helpers/rw.js';

const GIT = `
set -e
export GIT_AUTHOR_NAME=splicefs GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=splicefs GIT_COMMITTER_EMAIL=t@example.com
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' HOME=/nonexistent GIT_CONFIG_NOSYSTEM=1
cd "$P"
git init -q -b main repo
cd repo
for i in $(seq 1 60); do printf 'file %d\\n' $i > f$i.txt; done
mkdir -p sub/deep && echo deep > sub/deep/x && head -c 300000 /dev/zero | tr '\\0' 'z' > big.bin
chmod 755 f10.txt
git add -A && git commit -q -m first
git checkout -q -b feature
echo change >> f1.txt && git rm -q f2.txt && git mv f3.txt sub/f3.txt && git commit -q -am second
git checkout -q main
echo main >> f4.txt && git commit -q -am third
git merge -q --no-edit feature
git branch topic HEAD~1 && git checkout -q topic && git checkout -q main
git gc -q
git fsck --full --strict 2>&1
echo "--- log"; git log --format='%H %P %s' --all
echo "--- status"; git status --porcelain
echo "--- tree"; git ls-tree -r HEAD
echo "--- files"; find . -path ./.git -prune -o -printf '%P %y %m %s\\n' | sort
echo "--- content"; find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum
echo "--- refs"; git for-each-ref --format='%(refname) %(objectname)'
`;

t.test('git through the mount, as on a plain directory', async (t) => {
  if (!(await needTools(t, ['git']))) return;
  await withRw(t, {}, {}, async (f) => {
    const r = await sameOnBoth(t, 'git init/add/commit/branch/checkout/merge/gc/fsck', GIT, f.ref, f.mnt, { timeoutMs: 120_000 });
    t.equal(r.src.code, 0, 'the script runs clean on the reference', { stderr: r.src.stderr });
    t.match(r.src.stdout, /--- log\n[0-9a-f]{40} /, 'commit ids are in the output (compared above)');
  });
});

const TREE = `
set -e
mkdir -p "$1/t/dir/sub" "$1/t/empty"
cd "$1/t"
printf '' > zero
printf 'a' > one
head -c 4095 /dev/urandom > page-1
head -c 4097 /dev/urandom > page+1
head -c 3145728 /dev/urandom > three-mib
truncate -s 10M sparse && printf 'middle' | dd of=sparse bs=1 seek=5000000 conv=notrunc status=none
printf 'link me\\n' > dir/target && ln dir/target dir/hard && ln dir/target hard-top
ln -s dir/target rel-link && ln -s /nowhere dangling
chmod 600 one && chmod 751 dir && chmod 1777 empty && chmod 4755 page-1
setfattr -n user.k -v value one && setfattr -n user.big -v "$(head -c 2000 /dev/zero | tr '\\0' v)" dir/target
touch -h -d '2001-02-03 04:05:06.123456789' rel-link
touch -d '2002-03-04 05:06:07.987654321' one dir/sub dir
`;

const LIST = `cd "$1" && find . -printf '%P %y %m %n %T@ %l\\n' | sort && find . -type f -printf '%P %s\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum && getfattr -R -h -d -m '^user\\.' . 2>/dev/null | sort`;

t.test('tar round trip through the mount', async (t) => {
  if (!(await needTools(t, ['tar', 'setfattr', 'getfattr']))) return;
  await withRw(t, {}, {}, async (f) => {
    const work = scratch(t, 'tar-work');
    const made = await sh(TREE, [work]);
    t.equal(made.code, 0, 'the tree is made on a plain directory', { stderr: made.stderr.toString() });
    const c1 = await sh('tar --xattrs --xattrs-include="user.*" -cpSf "$2/a.tar" -C "$1/t" .', [work, work]);
    t.equal(c1.code, 0, 'archived', { stderr: c1.stderr.toString() });
    const x1 = await sh('mkdir "$1/t" && tar --xattrs --xattrs-include="user.*" -xpf "$2/a.tar" -C "$1/t"', [f.mnt, work], { timeoutMs: 120_000 });
    t.equal(x1.code, 0, 'extracted onto the mount', { stderr: x1.stderr.toString() });
    const c2 = await sh('tar --xattrs --xattrs-include="user.*" -cpSf "$2/b.tar" -C "$1/t" .', [f.mnt, work], { timeoutMs: 120_000 });
    t.equal(c2.code, 0, 'archived from the mount', { stderr: c2.stderr.toString() });
    const x2 = await sh('mkdir "$1/back" && tar --xattrs --xattrs-include="user.*" -xpf "$1/b.tar" -C "$1/back"', [work]);
    t.equal(x2.code, 0, 'extracted elsewhere', { stderr: x2.stderr.toString() });
    const [orig, onMount, back] = await Promise.all([sh(LIST, [`${work}/t`]), sh(LIST, [`${f.mnt}/t`]), sh(LIST, [`${work}/back`])]);
    t.equal(orig.code, 0, 'the listing runs', { stderr: orig.stderr.toString() });
    t.equal(onMount.stdout.toString(), orig.stdout.toString(), 'the tree on the mount is the original (modes, links, mtimes, sizes, contents, xattrs)');
    t.equal(back.stdout.toString(), orig.stdout.toString(), 'the tree archived from the mount and extracted elsewhere is the original');
    const inSource = await sh(LIST, [`${f.src}/t`]);
    t.equal(inSource.stdout.toString(), orig.stdout.toString(), 'the source holds the same tree');
  });
});

leftoverCheck(t);
