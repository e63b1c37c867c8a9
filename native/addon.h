// The parts of agentvault's native module (addon.c registers them).
#ifndef AGENTVAULT_ADDON_H
#define AGENTVAULT_ADDON_H
#include <node_api.h>

// sealInPlace, openInPlace, xxh64 (chunk-cipher.c)
void chunk_cipher_register(napi_env env, napi_value exports);
// scrypt (scrypt.c)
void scrypt_register(napi_env env, napi_value exports);
// zeroRange (zero-range.c)
void zero_range_register(napi_env env, napi_value exports);

#endif
