// The native module, which `npm install` (and `npm test`) builds: a test of it fails, not skips,
// when it is missing.
import assert from 'node:assert/strict';
import { nativeModule, nativeUnavailable, type NativeModule } from '../../src/native.js';

export function loadedNativeModule(): NativeModule {
  assert.ok(nativeModule, `the native module is not loaded: ${nativeUnavailable} (npm install builds it; npm run build:native)`);
  return nativeModule;
}
