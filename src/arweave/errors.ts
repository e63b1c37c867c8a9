// Errors from talking to Arweave gateways. Kept apart from AgentvaultError because what a caller
// does differs: retryable ones are retried (client.ts), the rest end the command with a one-line
// message that names the gateway and, where there is one, the command that resumes.

export type ArweaveErrorCode =
  /** No answer within the request timeout. */
  | 'TIMEOUT'
  /** Connection refused, reset, DNS failure. */
  | 'NETWORK'
  /** A status the call does not accept (429 and 5xx are retryable). */
  | 'HTTP'
  /** The gateway refused a transaction or chunk for good (bad proof, bad anchor, …). */
  | 'REJECTED'
  | 'INSUFFICIENT_FUNDS'
  | 'NOT_FOUND'
  /** An answer that does not parse as what the API promises. */
  | 'BAD_RESPONSE';

export class ArweaveError extends Error {
  readonly code: ArweaveErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  /** From a Retry-After header. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ArweaveErrorCode, message: string, options: { retryable?: boolean; status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ArweaveError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
