// The ingress history: every call the replica accepted, keyed by request id, with its status and
// result. It is what makes calls idempotent (a resent body has the same request id and gets the
// same answer) and what `read_state` certifies under `/request_status/<id>`.
import type { Principal } from '@dfinity/principal';
import { encodeLeb128, label, type CertifiedLeaf } from './hash-tree.js';
import { ErrorCode, ReplicaReject } from './errors.js';

export type RequestStatus = 'processing' | 'replied' | 'rejected' | 'done';

export interface IngressEntry {
  readonly requestId: Uint8Array;
  readonly sender: Principal;
  readonly expiryNs: bigint;
  status: RequestStatus;
  reply?: Uint8Array;
  reject?: ReplicaReject;
  /** Settles when execution has finished (never rejects). */
  readonly completion: Promise<void>;
  completedAtMs?: number;
}

/** How long after its expiry an entry is still answered; the IC keeps them for the expiry window. */
const RETENTION_AFTER_EXPIRY_NS = 60n * 1_000_000_000n;

export class IngressHistory {
  readonly #entries = new Map<string, IngressEntry>();
  #replyBytes = 0;

  /**
   * @param replyBudgetBytes reply bodies kept at most; beyond it the oldest completed replies are
   *   dropped and their status becomes `done`, as the IC does under memory pressure.
   */
  constructor(private readonly replyBudgetBytes: number) {}

  get(requestId: Uint8Array): IngressEntry | undefined {
    return this.#entries.get(key(requestId));
  }

  /** Records a new call and runs it; `execute` resolves with the reply or throws a reject. */
  start(requestId: Uint8Array, sender: Principal, expiryNs: bigint, execute: () => Promise<Uint8Array>): IngressEntry {
    let entry!: IngressEntry;
    const completion = (async () => {
      // Let the caller register the entry before anything can complete.
      await Promise.resolve();
      try {
        entry.reply = await execute();
        entry.status = 'replied';
        this.#replyBytes += entry.reply.length;
      } catch (error) {
        // Anything else is a bug in the emulator; report it as a trap rather than hang the call.
        entry.reject =
          error instanceof ReplicaReject
            ? error
            : new ReplicaReject(ErrorCode.CanisterTrapped, `Replica emulator error: ${(error as Error).message}`);
        entry.status = 'rejected';
      }
      entry.completedAtMs = Date.now();
      this.#enforceReplyBudget();
    })();
    entry = { requestId, sender, expiryNs, status: 'processing', completion };
    this.#entries.set(key(requestId), entry);
    return entry;
  }

  /** The certified leaves of `/request_status/<id>` for an entry. */
  leaves(entry: IngressEntry): CertifiedLeaf[] {
    const base = [label('request_status'), entry.requestId];
    const leaves: CertifiedLeaf[] = [{ path: [...base, label('status')], value: label(entry.status) }];
    if (entry.status === 'replied' && entry.reply) {
      leaves.push({ path: [...base, label('reply')], value: entry.reply });
    }
    if (entry.status === 'rejected' && entry.reject) {
      leaves.push(
        { path: [...base, label('reject_code')], value: encodeLeb128(entry.reject.rejectCode) },
        { path: [...base, label('reject_message')], value: label(entry.reject.message) },
        { path: [...base, label('error_code')], value: label(entry.reject.errorCodeText) },
      );
    }
    return leaves;
  }

  /** Forgets entries whose expiry has long passed. */
  prune(nowNs: bigint): void {
    for (const [id, entry] of this.#entries) {
      if (entry.status !== 'processing' && entry.expiryNs + RETENTION_AFTER_EXPIRY_NS < nowNs) {
        if (entry.reply) this.#replyBytes -= entry.reply.length;
        this.#entries.delete(id);
      }
    }
  }

  #enforceReplyBudget(): void {
    if (this.#replyBytes <= this.replyBudgetBytes) return;
    // Map iteration is insertion order: oldest calls first.
    for (const entry of this.#entries.values()) {
      if (this.#replyBytes <= this.replyBudgetBytes) return;
      if (entry.status === 'replied' && entry.reply) {
        this.#replyBytes -= entry.reply.length;
        delete entry.reply;
        entry.status = 'done';
      }
    }
  }
}

function key(requestId: Uint8Array): string {
  return Buffer.from(requestId).toString('hex');
}
