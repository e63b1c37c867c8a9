// Reject codes and user-facing error codes, numbered as in dfinity/ic
// `rs/types/error_types/src/lib.rs`: the first digit of an error code is its reject code, and the
// agent sees it as `IC0` + number (`IC0512`).

export const RejectCode = {
  SysFatal: 1,
  SysTransient: 2,
  DestinationInvalid: 3,
  CanisterReject: 4,
  CanisterError: 5,
} as const;
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode];

export const ErrorCode = {
  CanisterIdAlreadyExists: 205,
  StopCanisterRequestTimeout: 206,
  CanisterOutOfCycles: 207,
  CanisterHeapDeltaRateLimited: 210,
  CanisterNotFound: 301,
  CanisterSnapshotNotFound: 305,
  CanisterRejectedMessage: 406,
  InvalidManagementPayload: 408,
  CanisterSnapshotImmutable: 409,
  CanisterTrapped: 502,
  CanisterContractViolation: 504,
  CanisterInvalidWasm: 505,
  CanisterStopped: 508,
  CanisterNotStopped: 510,
  CanisterStoppingCancelled: 511,
  CanisterInvalidController: 512,
  CanisterNonEmpty: 514,
  CanisterMethodNotFound: 536,
  CanisterWasmModuleNotFound: 537,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A rejection as the replica reports it: reject code, message and `IC0…` error code. */
export class ReplicaReject extends Error {
  override readonly name = 'ReplicaReject';

  constructor(
    readonly errorCode: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  get rejectCode(): RejectCode {
    return Math.floor(this.errorCode / 100) as RejectCode;
  }

  /** The `error_code` field: `IC0512` for 512. */
  get errorCodeText(): string {
    return `IC${String(this.errorCode).padStart(4, '0')}`;
  }
}

/**
 * A request the HTTP layer refuses before it reaches execution (bad envelope, expiry, unknown
 * canister range). The agent retries every status except 200/202 (and a v3 404), so only
 * protocol errors end up here; execution failures are certified rejects instead.
 */
export class HttpProtocolError extends Error {
  override readonly name = 'HttpProtocolError';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
