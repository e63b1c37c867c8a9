// The emulator as a long-running service, shared by `node dist/testing/replica/main.js` and
// `agentvault replica`: listens on 127.0.0.1, writes a fresh Ed25519 identity PEM (dfx layout),
// creates one demo canister controlled by it with canister-like memory, prints one JSON line
// `{ "url", "canisterId", "identityPem", "rootKey" }` (also written to the state file), and
// serves until SIGINT/SIGTERM.
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateEd25519Pem } from '../../ic/pem.js';
import { startReplica, type RunningReplica } from './index.js';

export interface ReplicaStartupInfo {
  readonly url: string;
  readonly canisterId: string;
  /** Path of the PEM file of the identity that controls the demo canister. */
  readonly identityPem: string;
  /** Hex of the DER root key. */
  readonly rootKey: string;
}

export interface StandaloneReplicaOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly heapBytes: number;
  readonly stableBytes: number;
  readonly moduleBytes: number;
  readonly seed: string;
  /** Where to write the identity PEM (default: a new temporary directory). */
  readonly identityPem?: string;
  /** Also write the startup line here (atomically), for scripts that start the process in the background. */
  readonly stateFile?: string;
  /** Certificates carry an NNS delegation, as on a mainnet application subnet (ReplicaOptions). */
  readonly nnsDelegation?: boolean;
}

export const STANDALONE_DEFAULTS = { port: 0, heapMib: 64, stableMib: 8, moduleKib: 256, seed: 'demo' } as const;

/** Starts the emulator and its demo canister. */
export async function startStandaloneReplica(options: StandaloneReplicaOptions): Promise<{ info: ReplicaStartupInfo; replica: RunningReplica }> {
  const replica = await startReplica({ port: options.port, ...(options.nnsDelegation ? { nnsDelegation: true } : {}) });
  const { identity, pem } = generateEd25519Pem();
  const pemPath = options.identityPem ?? path.join(await mkdtemp(path.join(tmpdir(), 'agentvault-replica-')), 'identity.pem');
  await writeFile(pemPath, pem, { mode: 0o600 });

  const canisterId = replica.createCanister({
    controllers: [identity.getPrincipal()],
    moduleBytes: options.moduleBytes,
    heap: { bytes: options.heapBytes, content: 'canister-like', seed: `${options.seed}:heap` },
    stable: { bytes: options.stableBytes, content: 'canister-like', seed: `${options.seed}:stable` },
  });

  const info: ReplicaStartupInfo = {
    url: replica.url,
    canisterId: canisterId.toText(),
    identityPem: pemPath,
    rootKey: Buffer.from(replica.rootKey).toString('hex'),
  };
  if (options.stateFile) {
    const temporary = `${options.stateFile}.tmp`;
    await writeFile(temporary, `${JSON.stringify(info)}\n`);
    await rename(temporary, options.stateFile);
  }
  return { info, replica };
}

/** Starts, prints the startup line to `out`, and resolves once SIGINT or SIGTERM stopped the server. */
export async function serveStandaloneReplica(
  options: StandaloneReplicaOptions,
  out: NodeJS.WritableStream = process.stdout,
  onStarted?: (info: ReplicaStartupInfo) => void,
): Promise<ReplicaStartupInfo> {
  const { info, replica } = await startStandaloneReplica(options);
  out.write(`${JSON.stringify(info)}\n`);
  onStarted?.(info);
  await new Promise<void>((resolve, reject) => {
    const shutdown = (): void => {
      process.off('SIGINT', shutdown);
      process.off('SIGTERM', shutdown);
      replica.stop().then(resolve, reject);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  return info;
}
