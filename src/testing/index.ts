// `agentvault/testing`: test support shipped with the package, currently the local IC replica
// emulator (see src/testing/replica/index.ts).
export * from './replica/index.js';
