// Labeled hash trees as the IC certifies them (interface spec, "Certificate" / "Hash trees").
//
// The emulator never keeps a full state tree: for every response it collects the leaves that were
// asked for and builds a small tree from exactly those. Siblings are sorted by label and joined
// into balanced forks, which is what `@dfinity/agent`'s `find_label` expects.
import { createHash } from 'node:crypto';
import type { HashTree } from '@dfinity/agent';

/** One certified value and the labels leading to it. */
export interface CertifiedLeaf {
  readonly path: readonly Uint8Array[];
  readonly value: Uint8Array;
}

const textEncoder = new TextEncoder();

/** UTF-8 bytes of a label such as `time` or `request_status`. */
export function label(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Unsigned LEB128, the encoding of `time`, `reject_code` and every other number leaf. */
export function encodeLeb128(value: bigint | number): Uint8Array {
  let remaining = BigInt(value);
  if (remaining < 0n) throw new RangeError('LEB128 values must be unsigned');
  const bytes: number[] = [];
  do {
    let byte = Number(remaining & 0x7fn);
    remaining >>= 7n;
    if (remaining !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (remaining !== 0n);
  return Uint8Array.from(bytes);
}

export function decodeLeb128(bytes: Uint8Array): bigint {
  let result = 0n;
  let shift = 0n;
  for (const byte of bytes) {
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
  throw new RangeError('Truncated LEB128 value');
}

function domainSeparator(name: string): Uint8Array {
  const text = textEncoder.encode(name);
  const out = new Uint8Array(text.length + 1);
  out[0] = text.length;
  out.set(text, 1);
  return out;
}

const EMPTY_DOMAIN = domainSeparator('ic-hashtree-empty');
const FORK_DOMAIN = domainSeparator('ic-hashtree-fork');
const LABELED_DOMAIN = domainSeparator('ic-hashtree-labeled');
const LEAF_DOMAIN = domainSeparator('ic-hashtree-leaf');

// node:crypto rather than a JS hash: leaves hold up to 2 MB snapshot slices, hashed per reply.
function hashParts(...parts: Uint8Array[]): Uint8Array {
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return new Uint8Array(hasher.digest());
}

/** The root hash of a tree: what the subnet signs (after the `ic-state-root` separator). */
export function reconstruct(tree: HashTree): Uint8Array {
  switch (tree[0]) {
    case 0:
      return hashParts(EMPTY_DOMAIN);
    case 1:
      return hashParts(FORK_DOMAIN, reconstruct(tree[1]), reconstruct(tree[2]));
    case 2:
      return hashParts(LABELED_DOMAIN, tree[1], reconstruct(tree[2]));
    case 3:
      return hashParts(LEAF_DOMAIN, tree[1]);
    case 4:
      return tree[1];
    default:
      throw new Error(`Unknown hash tree node type ${String((tree as unknown[])[0])}`);
  }
}

/** Byte-wise lexicographic order, shorter prefix first: the order the spec requires. */
export function compareLabels(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

interface BranchNode {
  readonly children: Map<string, { readonly label: Uint8Array; node: TreeNode }>;
}
type TreeNode = BranchNode | { readonly value: Uint8Array };

function isBranch(node: TreeNode): node is BranchNode {
  return 'children' in node;
}

function hexKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Builds the certified tree holding exactly `leaves`. Paths that are absent from the state are
 * simply not passed in; the agent then finds them `Absent`, as it would with a real proof of
 * absence.
 */
export function hashTreeFromLeaves(leaves: readonly CertifiedLeaf[]): HashTree {
  const root: BranchNode = { children: new Map() };
  for (const leaf of leaves) {
    if (leaf.path.length === 0) throw new Error('A certified leaf needs a non-empty path');
    let branch = root;
    leaf.path.forEach((segment, depth) => {
      const key = hexKey(segment);
      const last = depth === leaf.path.length - 1;
      const existing = branch.children.get(key);
      if (last) {
        if (existing && isBranch(existing.node)) {
          throw new Error(`Certified path ${describePath(leaf.path)} is both a leaf and a subtree`);
        }
        branch.children.set(key, { label: segment, node: { value: leaf.value } });
        return;
      }
      if (existing) {
        if (!isBranch(existing.node)) {
          throw new Error(`Certified path ${describePath(leaf.path)} is both a leaf and a subtree`);
        }
        branch = existing.node;
      } else {
        const next: BranchNode = { children: new Map() };
        branch.children.set(key, { label: segment, node: next });
        branch = next;
      }
    });
  }
  return branchToHashTree(root);
}

function branchToHashTree(branch: BranchNode): HashTree {
  const sorted = [...branch.children.values()].sort((a, b) => compareLabels(a.label, b.label));
  // agent-js compares labels with "is any byte greater", so a label that is a prefix of its right
  // neighbour (`canister` / `canister_ranges`) makes the longer one unfindable. Refuse to build
  // such a tree rather than hand the agent a certificate it misreads.
  for (let i = 1; i < sorted.length; i++) {
    if (startsWith(sorted[i]!.label, sorted[i - 1]!.label)) {
      throw new Error(
        `Sibling labels ${describeLabel(sorted[i - 1]!.label)} and ${describeLabel(sorted[i]!.label)} ` +
          'would be misread by @dfinity/agent (one is a prefix of the other)',
      );
    }
  }
  const labeled = sorted.map(({ label: nodeLabel, node }) =>
    labeledNode(nodeLabel, isBranch(node) ? branchToHashTree(node) : leafNode(node.value)),
  );
  return balancedForks(labeled);
}

function balancedForks(nodes: readonly HashTree[]): HashTree {
  if (nodes.length === 0) return emptyNode();
  if (nodes.length === 1) return nodes[0]!;
  const middle = Math.ceil(nodes.length / 2);
  return forkNode(balancedForks(nodes.slice(0, middle)), balancedForks(nodes.slice(middle)));
}

// The agent brands labels, values and hashes (`NodeLabel`, ...) as nominal types; plain byte
// arrays are what goes over the wire, so the constructors below are the one place that casts.
function emptyNode(): HashTree {
  return [0] as HashTree;
}
function forkNode(left: HashTree, right: HashTree): HashTree {
  return [1, left, right] as HashTree;
}
function labeledNode(nodeLabel: Uint8Array, subtree: HashTree): HashTree {
  return [2, nodeLabel, subtree] as unknown as HashTree;
}
function leafNode(value: Uint8Array): HashTree {
  return [3, value] as unknown as HashTree;
}

function describeLabel(bytes: Uint8Array): string {
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? JSON.stringify(Buffer.from(bytes).toString('latin1')) : `0x${hexKey(bytes)}`;
}

function describePath(path: readonly Uint8Array[]): string {
  return path.map(describeLabel).join('/');
}
