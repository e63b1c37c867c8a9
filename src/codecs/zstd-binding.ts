// zstd-napi's context classes (CCtx, DCtx): calls that write into the caller's buffer, where its
// high-level API allocates a result per call. The package has no ESM entry for them.
import { createRequire } from 'node:module';

export const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');
