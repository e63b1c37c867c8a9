#!/usr/bin/env node
// Runs the replica emulator as a process for the demo and for tests in other processes
// (`agentvault replica` does the same; see standalone.ts):
//
//   node dist/testing/replica/main.js [--port N] [--identity-pem PATH] [--heap-mib N]
//        [--stable-mib N] [--module-kib N] [--seed S] [--state-file PATH] [--nns-delegation]
//
// --nns-delegation: certificates signed by a subnet key the root key delegated to, as on a
// mainnet application subnet (the root key printed is then the NNS one).
//
// Prints one JSON line `{ "url", "canisterId", "identityPem", "rootKey" }` (also written to
// --state-file) and serves until SIGINT/SIGTERM. The control API is under `<url>/_/`.
import { parseArgs } from 'node:util';
import { serveStandaloneReplica, STANDALONE_DEFAULTS } from './standalone.js';

export type { ReplicaStartupInfo } from './standalone.js';

const MIB = 1024 * 1024;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(STANDALONE_DEFAULTS.port) },
      'identity-pem': { type: 'string' },
      'heap-mib': { type: 'string', default: String(STANDALONE_DEFAULTS.heapMib) },
      'stable-mib': { type: 'string', default: String(STANDALONE_DEFAULTS.stableMib) },
      'module-kib': { type: 'string', default: String(STANDALONE_DEFAULTS.moduleKib) },
      seed: { type: 'string', default: STANDALONE_DEFAULTS.seed },
      'state-file': { type: 'string' },
      'nns-delegation': { type: 'boolean', default: false },
    },
    strict: true,
  });

  await serveStandaloneReplica({
    port: wholeNumber(values.port, '--port'),
    heapBytes: wholeNumber(values['heap-mib'], '--heap-mib') * MIB,
    stableBytes: wholeNumber(values['stable-mib'], '--stable-mib') * MIB,
    moduleBytes: wholeNumber(values['module-kib'], '--module-kib') * 1024,
    seed: values.seed ?? STANDALONE_DEFAULTS.seed,
    ...(values['identity-pem'] !== undefined ? { identityPem: values['identity-pem'] } : {}),
    ...(values['state-file'] !== undefined ? { stateFile: values['state-file'] } : {}),
    nnsDelegation: values['nns-delegation'] === true,
  });
}

function wholeNumber(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return value;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`replica emulator: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
