// Turns @dfinity/agent errors into one-line messages a user can act on. Errors are matched by
// shape, not by class: @dfinity/ic-management loads the agent's CommonJS build, so `instanceof`
// fails for errors thrown through it.
import { AgentvaultError } from '../errors.js';

interface RejectDetails {
  readonly rejectCode?: number;
  readonly rejectMessage?: string;
  readonly rejectErrorCode?: string;
}

function codeOf(err: unknown): (RejectDetails & { name?: string; status?: number }) | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = cause?.code as (RejectDetails & { name?: string; status?: number }) | undefined;
  return typeof code === 'object' && code !== null ? code : undefined;
}

/** Reject code 2 (SYS_TRANSIENT), HTTP 429/5xx and transport failures are worth retrying. */
export function isTransient(err: unknown): boolean {
  const code = codeOf(err);
  const name = (err as Error | undefined)?.name;
  if (code?.rejectCode === 2) return true;
  if (name === 'TransportError') return true;
  if (typeof code?.status === 'number' && (code.status === 429 || code.status >= 500)) return true;
  return /ECONNRESET|ECONNREFUSED|EPIPE|socket hang up|fetch failed|other side closed/i.test(String((err as Error)?.message ?? ''));
}

export interface IcContext {
  readonly method: string;
  readonly canisterId?: string;
  readonly principal?: string;
  readonly url?: string;
}

export function describeIcError(err: unknown, ctx: IcContext): Error {
  if (err instanceof AgentvaultError) return err;
  const code = codeOf(err);
  const canister = ctx.canisterId ? `canister ${ctx.canisterId}` : 'the canister';
  const reject = code?.rejectMessage;
  const icCode = code?.rejectErrorCode;
  if (reject !== undefined) {
    if (icCode === 'IC0512' || /only controllers/i.test(reject)) {
      return new AgentvaultError('NOT_CONTROLLER', `${ctx.principal ?? 'this identity'} is not a controller of ${canister}; use a controller's identity (--identity / --identity-pem)`, { cause: err });
    }
    if (icCode === 'IC0301' || /canister .* not found|not found/i.test(reject)) {
      return new AgentvaultError('CANISTER_NOT_FOUND', `${canister} was not found${ctx.url ? ` on ${ctx.url}` : ''}`, { cause: err });
    }
    // The replica says "has reached the maximum number of snapshots allowed: 10".
    if (/snapshot.*limit|too many snapshots|maximum number of snapshots|CanisterSnapshotLimitExceeded/i.test(reject)) {
      return new AgentvaultError('SNAPSHOT_LIMIT', `${canister} has reached its snapshot limit (${oneLine(reject)}); delete one of its snapshots and try again`, { cause: err });
    }
    return new AgentvaultError('REJECTED', `${ctx.method} on ${canister} was rejected: ${oneLine(reject)}${icCode ? ` (${icCode})` : ''}`, { cause: err });
  }
  const name = (err as Error | undefined)?.name;
  const message = oneLine(String((err as Error | undefined)?.message ?? err));
  if (name === 'TrustError') {
    return new AgentvaultError('NETWORK', `the replica at ${ctx.url ?? 'the network'} sent a response that does not verify (wrong network or root key?): ${message}`, { cause: err });
  }
  if (isTransient(err) || name === 'TransportError' || /fetch|ECONN|ENOTFOUND|EAI_AGAIN|network/i.test(message)) {
    return new AgentvaultError('NETWORK', `cannot reach the IC at ${ctx.url ?? 'the network'} (${ctx.method}): ${transportReason(err)}`, { cause: err });
  }
  return new AgentvaultError('REJECTED', `${ctx.method} on ${canister} failed: ${message}`, { cause: err });
}

/**
 * Why a request did not get through: the innermost cause ("connect ECONNREFUSED 127.0.0.1:4943")
 * rather than the agent's message, which embeds a stack trace.
 */
function transportReason(err: unknown): string {
  const firstLine = (text: string) => oneLine(text.split('\n')[0]!);
  let reason = firstLine(String((err as Error | undefined)?.message ?? err));
  let e: unknown = err;
  for (let depth = 0; depth < 8; depth++) {
    const cause = (e as { cause?: { code?: { error?: unknown } } } | undefined)?.cause;
    // The agent keeps the fetch error at cause.code.error; fetch keeps the socket error at cause.
    const next = cause?.code?.error instanceof Error ? cause.code.error : cause instanceof Error ? cause : undefined;
    if (!next) break;
    const text = next.message || String((next as NodeJS.ErrnoException).code ?? '');
    if (text && text !== 'fetch failed') reason = firstLine(text);
    e = next;
  }
  return reason;
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}…` : line;
}
