// Errors a user sees. Each has a one-line message that says what went wrong and, where there is
// one, what to do; the CLI prints `agentvault: <message>` and exits 1 (2 for usage errors).
// Messages never contain secrets.

export type ErrorCode =
  | 'USAGE'
  | 'NOT_FOUND'
  | 'AMBIGUOUS'
  | 'EXISTS'
  | 'NO_REPOSITORY'
  | 'WRONG_PASSWORD'
  | 'WRONG_KEY'
  | 'NEED_KEY'
  | 'READ_ONLY_KEY'
  | 'CORRUPT'
  | 'MISSING_DATA'
  | 'NEWER_FORMAT'
  | 'LOCKED'
  | 'STALE_LOCK'
  | 'DISK_FULL'
  | 'INPUT'
  | 'ABORTED'
  | 'NOT_CONTROLLER'
  | 'CANISTER_NOT_FOUND'
  | 'NETWORK'
  | 'REJECTED'
  | 'SNAPSHOT_LIMIT'
  | 'STOP_TIMEOUT'
  | 'UNHEALTHY';

export class AgentvaultError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentvaultError';
    this.code = code;
  }

  get exitCode(): number {
    return this.code === 'USAGE' ? 2 : 1;
  }
}

export class UsageError extends AgentvaultError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Maps low-level I/O errors to messages a user can act on; other errors pass through. */
export function describeIoError(err: unknown, what: string): Error {
  if (err instanceof AgentvaultError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
      return new AgentvaultError('DISK_FULL', `disk full while ${what}; nothing was committed, free some space and run it again`, { cause: err });
    case 'EDQUOT':
      return new AgentvaultError('DISK_FULL', `disk quota exceeded while ${what}; nothing was committed`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new AgentvaultError('INPUT', `permission denied while ${what}: ${(err as NodeJS.ErrnoException).path ?? ''}`.trimEnd(), { cause: err });
    case 'EROFS':
      return new AgentvaultError('INPUT', `read-only file system while ${what}`, { cause: err });
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}
