// A disk that fills up mid-backup, on a real (tiny) file system: a 2 MiB tmpfs mounted in a private
// mount namespace (`unshare -rm`, no privileges needed). The tmpfs vanishes with the namespace, so
// every step runs in one shell script; it prints `STEP <name> exit=<n>` lines and leaves each
// command's output in files outside the tmpfs, which the test then checks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, cliEnv } from './helpers/cli.js';
import { seededBytes, tempDir } from './helpers/tmp.js';

const PASSWORD = 'correct horse battery staple';

const SCRIPT = String.raw`
set -u
step() { name=$1; shift; "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"; echo "STEP $name exit=$?"; }
av() { "$NODE" "$CLI" "$@"; }
sha256() { "$NODE" -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1"; }

step mount mount -t tmpfs -o size=2m tmpfs "$MNT"
grep -q " $MNT tmpfs " /proc/mounts || { echo "STEP mounted exit=1"; exit 0; }
echo "STEP mounted exit=0"
step first av backup create --file "$SMALL" --destination "$MNT/repo"
step full av backup create --file "$BIG" --destination "$MNT/repo"
step list av backup list --json --destination "$MNT/repo"
step verify av backup verify --all --read-data --destination "$MNT/repo"
step restore av backup restore "$(cat "$OUT/first.out")" --target "$MNT/restored.bin" --destination "$MNT/repo"
step hash sha256 "$MNT/restored.bin"
step tmp ls -A "$MNT/repo/tmp"
step locks ls -A "$MNT/repo/locks"
step df df -k "$MNT"
`;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

test('a disk that fills up mid-backup: one-line "disk full", no new backup, no temp files, earlier backups intact', async (t) => {
  const home = tempDir(t);
  const mnt = path.join(home, 'mnt');
  const out = path.join(home, 'out');
  fs.mkdirSync(mnt);
  fs.mkdirSync(out);
  const small = path.join(home, 'small.bin');
  const big = path.join(home, 'big.bin');
  fs.writeFileSync(small, seededBytes(100_000, 61));
  fs.writeFileSync(big, seededBytes(6_000_000, 62)); // random: compresses to ~6 MB, three times the disk
  const script = path.join(home, 'steps.sh');
  fs.writeFileSync(script, SCRIPT);

  const run = spawnSync('unshare', ['-rm', 'sh', script], {
    env: cliEnv(home, { AGENTVAULT_PASSWORD: PASSWORD, NODE: process.execPath, CLI, MNT: mnt, OUT: out, SMALL: small, BIG: big }),
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.error, undefined, `cannot run unshare: ${run.error?.message}`);
  assert.equal(run.status, 0, `unshare -rm failed (${run.status}): ${run.stderr}`);

  const exits = new Map<string, number>();
  for (const m of run.stdout.matchAll(/^STEP (\S+) exit=(\d+)$/gm)) exits.set(m[1]!, Number(m[2]));
  const output = (name: string, stream: 'out' | 'err'): string => fs.readFileSync(path.join(out, `${name}.${stream}`), 'utf8');
  const step = (name: string): { exit: number | undefined; stdout: string; stderr: string } => ({
    exit: exits.get(name),
    stdout: fs.existsSync(path.join(out, `${name}.out`)) ? output(name, 'out') : '',
    stderr: fs.existsSync(path.join(out, `${name}.err`)) ? output(name, 'err') : '',
  });
  const ok = (name: string) => {
    const s = step(name);
    assert.equal(s.exit, 0, `step ${name} exited ${s.exit}\nstdout: ${s.stdout}\nstderr: ${s.stderr}\nscript: ${run.stdout}${run.stderr}`);
    return s;
  };

  ok('mount');
  ok('mounted');
  const first = ok('first');
  const firstId = first.stdout.trim();
  assert.match(firstId, /^[0-9a-z]{12}$/);

  const full = step('full');
  assert.equal(full.exit, 1, `the backup that does not fit exited ${full.exit}; stderr: ${full.stderr}`);
  assert.match(full.stderr, /^agentvault: disk full while [^\n]+\n$/, `not one "disk full" line: ${JSON.stringify(full.stderr)}`);
  assert.match(full.stderr, /nothing was committed/);
  assert.ok(!full.stderr.includes(PASSWORD) && !full.stdout.includes(PASSWORD));
  assert.equal(full.stdout, '', 'a failed backup printed an id');

  const listed = JSON.parse(ok('list').stdout) as Array<{ id: string }>;
  assert.deepEqual(
    listed.map((b) => b.id),
    [firstId],
    'the failed backup left a backup behind',
  );

  const verified = ok('verify');
  assert.match(verified.stdout, /^ok: 1 backup\(s\)/);

  ok('restore');
  assert.equal(ok('hash').stdout, sha256(fs.readFileSync(small)), 'the first backup did not restore byte-identical');

  assert.equal(ok('tmp').stdout, '', "temp files were left in the repository's tmp/");
  assert.equal(ok('locks').stdout, '', 'a lock was left behind');
  // The file system really was tiny (so the failure was a real ENOSPC, not something else).
  assert.match(ok('df').stdout, /\s2048\s/);
});
