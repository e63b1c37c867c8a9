// agentvault's native module: the hot loops node:crypto makes dear per call, in C against Node's
// own OpenSSL (src/native.ts loads it; without it, the same work is done with node:crypto).
#include "addon.h"

NAPI_MODULE_INIT() {
  chunk_cipher_register(env, exports);
  scrypt_register(env, exports);
  zero_range_register(env, exports);
  chunk_id_register(env, exports);
  return exports;
}
