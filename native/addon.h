// The parts of agentvault's native module (addon.c registers them).
#ifndef AGENTVAULT_ADDON_H
#define AGENTVAULT_ADDON_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

// A typed array's bytes and its length in elements.
typedef struct {
  uint8_t *data;
  size_t length;
} View;

// Argument checks (args.c): these throw and return NULL, or 0 for the two that fill a View.
napi_value fail_range(napi_env env, const char *message);
napi_value fail_type(napi_env env, const char *message);
int typed_array(napi_env env, napi_value value, napi_typedarray_type want, const char *what, View *out);
int bytes(napi_env env, napi_value value, const char *what, View *out);
// A JavaScript number, for results (args.c too).
napi_value number(napi_env env, double value);

// sealInPlace, openInPlace, xxh64 (chunk-cipher.c)
void chunk_cipher_register(napi_env env, napi_value exports);
// scrypt (scrypt.c)
void scrypt_register(napi_env env, napi_value exports);
// zeroRange (zero-range.c)
void zero_range_register(napi_env env, napi_value exports);
// blake3KeyedIds, blake3KeyedFirstMismatch (chunk-id.c)
void chunk_id_register(napi_env env, napi_value exports);

#endif
