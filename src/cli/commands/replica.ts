// agentvault replica [--port N] [--heap-mib N] …: the local IC replica emulator with one demo
// canister, until Ctrl-C. Same as `npm run replica` (src/testing/replica/main.ts).
import type { CommandGroup } from '../command-group.js';
import type { CommandContext } from '../context.js';

const MIB = 1024 * 1024;

export function registerReplicaCommand(group: CommandGroup): void {
  group
    .command('', 'Run the local IC replica emulator on 127.0.0.1 with one demo canister; prints {url, canisterId, identityPem, rootKey} and serves until Ctrl-C')
    .option('--port <n>', 'Port to listen on (default: a free one)')
    .option('--heap-mib <n>', 'Demo canister heap in MiB (default 64)')
    .option('--stable-mib <n>', 'Demo canister stable memory in MiB (default 8)')
    .option('--module-kib <n>', 'Demo canister module size in KiB (default 256)')
    .option('--seed <seed>', 'Seed of the demo canister content (default demo)')
    .option('--identity-pem <file>', 'Write the controlling identity PEM here (default: a new temp dir)')
    .option('--state-file <file>', 'Also write the startup line to this file')
    .option('--nns-delegation', 'Sign certificates with a subnet key the root key delegated to, as on a mainnet application subnet')
    .action(group.action(replica));
}

async function replica(ctx: CommandContext): Promise<void> {
  const o = ctx.opts;
  // Loaded only here: the emulator is test support, not needed by the other commands.
  const { serveStandaloneReplica, STANDALONE_DEFAULTS } = await import('../../testing/replica/standalone.js');
  const identityPem = o.string('identity-pem');
  const stateFile = o.string('state-file');
  await serveStandaloneReplica(
    {
      port: o.int('port', { min: 0, max: 65535 }) ?? STANDALONE_DEFAULTS.port,
      heapBytes: (o.int('heap-mib', { min: 0 }) ?? STANDALONE_DEFAULTS.heapMib) * MIB,
      stableBytes: (o.int('stable-mib', { min: 0 }) ?? STANDALONE_DEFAULTS.stableMib) * MIB,
      moduleBytes: (o.int('module-kib', { min: 1 }) ?? STANDALONE_DEFAULTS.moduleKib) * 1024,
      seed: o.string('seed') ?? STANDALONE_DEFAULTS.seed,
      ...(identityPem !== undefined ? { identityPem } : {}),
      ...(stateFile !== undefined ? { stateFile } : {}),
      nnsDelegation: o.bool('nns-delegation') === true,
    },
    ctx.io.stdout,
    (info) => {
      ctx.info(`replica emulator at ${info.url}; canister ${info.canisterId} is controlled by ${info.identityPem}; Ctrl-C stops it`);
      ctx.info(`try: agentvault backup create ${info.canisterId} --network ${info.url} --identity-pem ${info.identityPem}`);
    },
  );
}
