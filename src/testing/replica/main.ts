#!/usr/bin/env node
// Runs the replica emulator as a process for the demo and for tests in other processes:
//
//   node dist/testing/replica/main.js [--port N] [--identity-pem PATH] [--heap-mib N]
//        [--stable-mib N] [--module-kib N] [--seed S] [--state-file PATH]
//
// It listens on 127.0.0.1, writes a fresh Ed25519 identity PEM (dfx layout), creates one demo
// canister controlled by that identity with canister-like memory, prints one JSON line
// `{ "url", "canisterId", "identityPem", "rootKey" }` (also written to --state-file), and serves
// until SIGINT/SIGTERM. The control API is under `<url>/_/`.
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateEd25519Pem } from '../../ic/pem.js';
import { startReplica } from './index.js';

const MIB = 1024 * 1024;

export interface ReplicaStartupInfo {
  readonly url: string;
  readonly canisterId: string;
  /** Path of the PEM file of the identity that controls the demo canister. */
  readonly identityPem: string;
  /** Hex of the DER root key. */
  readonly rootKey: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'identity-pem': { type: 'string' },
      'heap-mib': { type: 'string', default: '64' },
      'stable-mib': { type: 'string', default: '8' },
      'module-kib': { type: 'string', default: '256' },
      seed: { type: 'string', default: 'demo' },
      'state-file': { type: 'string' },
    },
    strict: true,
  });

  const port = wholeNumber(values.port, '--port');
  const heapBytes = wholeNumber(values['heap-mib'], '--heap-mib') * MIB;
  const stableBytes = wholeNumber(values['stable-mib'], '--stable-mib') * MIB;
  const moduleBytes = wholeNumber(values['module-kib'], '--module-kib') * 1024;

  const replica = await startReplica({ port });
  const { identity, pem } = generateEd25519Pem();
  const pemPath = values['identity-pem'] ?? path.join(await mkdtemp(path.join(tmpdir(), 'agentvault-replica-')), 'identity.pem');
  await writeFile(pemPath, pem, { mode: 0o600 });

  const canisterId = replica.createCanister({
    controllers: [identity.getPrincipal()],
    moduleBytes,
    heap: { bytes: heapBytes, content: 'canister-like', seed: `${values.seed}:heap` },
    stable: { bytes: stableBytes, content: 'canister-like', seed: `${values.seed}:stable` },
  });

  const info: ReplicaStartupInfo = {
    url: replica.url,
    canisterId: canisterId.toText(),
    identityPem: pemPath,
    rootKey: Buffer.from(replica.rootKey).toString('hex'),
  };
  const line = JSON.stringify(info);
  if (values['state-file']) {
    const temporary = `${values['state-file']}.tmp`;
    await writeFile(temporary, `${line}\n`);
    await rename(temporary, values['state-file']);
  }
  process.stdout.write(`${line}\n`);

  const shutdown = (): void => {
    replica.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function wholeNumber(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(`replica emulator: ${(error as Error).message}\n`);
  process.exit(1);
});
