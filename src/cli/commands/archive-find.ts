// agentvault archive find [--owner <address>] [--backup <id>] [--repository <id>] [--wallet f]
// Finds archive manifest transactions on the gateway by their tags (GraphQL): the way back to a
// backup when its transaction id is lost.
import path from 'node:path';
import { GatewayClient } from '../../arweave/client.js';
import { APP_NAME, TAG } from '../../arweave/tags.js';
import { ArweaveWallet } from '../../arweave/wallet.js';
import { UsageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import type { CommandGroup } from '../command-group.js';
import { formatBytes } from '../format.js';
import { arweaveSettings, clientOptions, primaryGateway, withGatewayOptions } from './archive-options.js';

export function registerArchiveFind(group: CommandGroup): void {
  const cmd = group
    .command('find', 'Find archive manifests on the gateway by wallet, backup id or repository id')
    .option('--owner <address>', 'Wallet address that paid (default: the configured wallet, when no other filter is given)')
    .option('--wallet <jwk-file>', 'Use this wallet’s address as --owner')
    .option('--backup <id>', 'Only archives of this backup')
    .option('--repository <id>', 'Only archives of this repository (its 32-hex id)')
    .option('--limit <n>', 'At most this many (default 100)')
    .option('--json', 'Machine-readable output');
  withGatewayOptions(cmd).action(group.action(archiveFind));
}

interface Edge {
  node: { id: string; owner: { address: string }; tags: Array<{ name: string; value: string }>; data: { size: string }; block: { height: number; timestamp: number } | null };
  cursor: string;
}

const QUERY = `query($owners: [String!], $tags: [TagFilter!], $first: Int, $after: String) {
  transactions(owners: $owners, tags: $tags, first: $first, after: $after) {
    pageInfo { hasNextPage }
    edges { cursor node { id owner { address } tags { name value } data { size } block { height timestamp } } }
  }
}`;

async function archiveFind(ctx: CommandContext): Promise<void> {
  const o = ctx.opts;
  let owner = o.string('owner');
  const walletFile = o.string('wallet') ?? (owner === undefined && o.string('backup') === undefined && o.string('repository') === undefined ? (await arweaveSettings(ctx)).wallet : undefined);
  if (owner === undefined && walletFile !== undefined) owner = (await ArweaveWallet.load(path.resolve(walletFile))).wallet.address;
  const tags = [
    { name: TAG.app, values: [APP_NAME] },
    { name: TAG.type, values: ['manifest'] },
    ...(o.string('backup') !== undefined ? [{ name: TAG.backup, values: [o.string('backup')!] }] : []),
    ...(o.string('repository') !== undefined ? [{ name: TAG.repository, values: [o.string('repository')!] }] : []),
  ];
  if (owner === undefined && tags.length === 2) throw new UsageError('give --owner, --wallet, --backup or --repository (or configure a wallet)');
  const limit = o.int('limit', { min: 1, max: 10_000 }) ?? 100;
  const client = new GatewayClient(await primaryGateway(ctx), await clientOptions(ctx));
  const found: Edge['node'][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.graphql<{ transactions: { pageInfo: { hasNextPage: boolean }; edges: Edge[] } }>(QUERY, {
      ...(owner !== undefined ? { owners: [owner] } : {}),
      tags,
      first: Math.min(100, limit - found.length),
      ...(after !== undefined ? { after } : {}),
    });
    found.push(...page.transactions.edges.map((e) => e.node));
    after = page.transactions.edges.at(-1)?.cursor;
    if (!page.transactions.pageInfo.hasNextPage || found.length >= limit || after === undefined) break;
  }
  const rows = found.map((n) => ({
    tx: n.id,
    backup: n.tags.find((t) => t.name === TAG.backup)?.value ?? null,
    repository: n.tags.find((t) => t.name === TAG.repository)?.value ?? null,
    owner: n.owner.address,
    size: Number(n.data.size),
    block: n.block?.height ?? null,
  }));
  if (ctx.json) {
    ctx.outJson(rows);
    return;
  }
  if (rows.length === 0) ctx.info(`no archive manifests found at ${client.url}`);
  for (const r of rows) ctx.out(`${r.tx}  backup ${r.backup}  ${r.block === null ? 'pending' : `block ${r.block}`}  ${formatBytes(r.size)}  repository ${r.repository}  owner ${r.owner}`);
}
