// BLS verification that remembers the signatures it has verified. On a mainnet application subnet
// every certificate carries the same NNS delegation (the root key's signature over the subnet's
// key and canister ranges), and the agent checks that signature again for every reply: with
// @dfinity/agent's pure-JavaScript pairing, ~26 ms a call, half of a snapshot read's BLS work.
// A verification is a pure function of (key, signature, message), so a success seen before is
// still one; failures are not remembered, and the memo is bounded.
import { createHash } from 'node:crypto';
import { blsVerify } from '@dfinity/agent';

const REMEMBERED = 16;

export interface BlsMemoStats {
  /** Signatures checked by the pairing. */
  computed: number;
  /** Signatures found verified before. */
  remembered: number;
}

export function memoizedBlsVerify(verify: (pk: Uint8Array, sig: Uint8Array, msg: Uint8Array) => boolean | Promise<boolean> = blsVerify): {
  verify: (pk: Uint8Array, sig: Uint8Array, msg: Uint8Array) => Promise<boolean>;
  stats: BlsMemoStats;
} {
  const verified = new Set<string>();
  const stats: BlsMemoStats = { computed: 0, remembered: 0 };
  return {
    stats,
    async verify(pk, sig, msg) {
      // Lengths first, so that no two different triples hash the same bytes.
      const key = createHash('sha256').update(Uint32Array.of(pk.length, sig.length, msg.length)).update(pk).update(sig).update(msg).digest('hex');
      if (verified.delete(key)) {
        // Least recently used goes first: the delegation, met on every call, stays.
        verified.add(key);
        stats.remembered++;
        return true;
      }
      stats.computed++;
      const ok = await verify(pk, sig, msg);
      if (ok) {
        if (verified.size >= REMEMBERED) verified.delete(verified.values().next().value!);
        verified.add(key);
      }
      return ok;
    },
  };
}
