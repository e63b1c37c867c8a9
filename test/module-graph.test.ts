// No top-level await anywhere in the built CLI's or library's module graphs. An async module graph
// is what V8 crashes on now and then while evaluating it ("Check failed: (location_) != nullptr"
// in SourceTextModule::ExecuteAsyncModule, nodejs/node#53238), taking a CLI run down at start-up.
// `require()` of ES modules (--experimental-require-module) refuses exactly the graphs that
// contain a top-level await, with ERR_REQUIRE_ASYNC_MODULE.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const dist = path.resolve(import.meta.dirname, '../dist');
const entries = ['index.js', 'cli.js', ...['backup', 'archive', 'wallet', 'status', 'health', 'canister', 'list', 'config', 'deploy', 'replica'].map((c) => `cli/commands/${c}.js`)];

test('the built entry points and every CLI command load without a top-level await', () => {
  const script = `for (const f of ${JSON.stringify(entries.map((e) => path.join(dist, e)))}) {
    try { require(f); } catch (e) { if (e.code === 'ERR_REQUIRE_ASYNC_MODULE') { console.log('async: ' + f); process.exitCode = 1; } else throw e; }
  }`;
  const run = spawnSync(process.execPath, ['--experimental-require-module', '--no-warnings', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
});
