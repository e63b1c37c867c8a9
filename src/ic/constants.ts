// IC limits and names with no dependencies, so modules that need only these do not load the
// agent (whose BLS setup costs ~100 ms at startup).

/** Largest slice the IC returns or accepts per snapshot data call. */
export const SLICE_BYTES = 2_000_000;
/** Snapshots a canister may keep. */
export const MAX_SNAPSHOTS = 10;
/** How long a stop may take before agentvault gives up and starts the canister again. */
export const DEFAULT_STOP_TIMEOUT_MS = 60_000;

/** Entry names of a canister backup: the files of a `dfx canister snapshot download` directory. */
export const SNAPSHOT_ENTRY_NAMES = {
  metadata: 'metadata.json',
  wasm_module: 'wasm_module.bin',
  wasm_memory: 'wasm_memory.bin',
  stable_memory: 'stable_memory.bin',
  chunkDir: 'wasm_chunk_store',
} as const;
