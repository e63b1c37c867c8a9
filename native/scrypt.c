// scrypt (RFC 7914) with its large array in transparent huge pages, on a libuv thread.
//
// Why: a repository's password key takes scrypt with N = 2^17, r = 8 (128 MiB), once per command.
// node:crypto's (OpenSSL's) allocates that with malloc in 4 KiB pages: ~32,000 page faults, and a
// TLB miss on nearly every one of ROMix's random reads. Here the array is mapped with
// MADV_HUGEPAGE: measured 0.24-0.47 s against node:crypto's 0.74 s, ~0.3 s less user CPU. The
// derived key is the same (tests check it against RFC 7914's vectors and against node:crypto);
// PBKDF2-HMAC-SHA-256 is OpenSSL's.
#define _GNU_SOURCE
#include "addon.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "scrypt.c reads words as little-endian: little-endian hosts only"
#endif

#define HUGE_PAGE (2u << 20)

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// Salsa20/8's core on one 64-byte block, in place: B = B + rounds(B).
static void salsa20_8(uint32_t b[16]) {
  uint32_t x[16];
  memcpy(x, b, 64);
  for (int i = 0; i < 8; i += 2) {
    // Columns.
    x[4] ^= rotl32(x[0] + x[12], 7), x[8] ^= rotl32(x[4] + x[0], 9);
    x[12] ^= rotl32(x[8] + x[4], 13), x[0] ^= rotl32(x[12] + x[8], 18);
    x[9] ^= rotl32(x[5] + x[1], 7), x[13] ^= rotl32(x[9] + x[5], 9);
    x[1] ^= rotl32(x[13] + x[9], 13), x[5] ^= rotl32(x[1] + x[13], 18);
    x[14] ^= rotl32(x[10] + x[6], 7), x[2] ^= rotl32(x[14] + x[10], 9);
    x[6] ^= rotl32(x[2] + x[14], 13), x[10] ^= rotl32(x[6] + x[2], 18);
    x[3] ^= rotl32(x[15] + x[11], 7), x[7] ^= rotl32(x[3] + x[15], 9);
    x[11] ^= rotl32(x[7] + x[3], 13), x[15] ^= rotl32(x[11] + x[7], 18);
    // Rows.
    x[1] ^= rotl32(x[0] + x[3], 7), x[2] ^= rotl32(x[1] + x[0], 9);
    x[3] ^= rotl32(x[2] + x[1], 13), x[0] ^= rotl32(x[3] + x[2], 18);
    x[6] ^= rotl32(x[5] + x[4], 7), x[7] ^= rotl32(x[6] + x[5], 9);
    x[4] ^= rotl32(x[7] + x[6], 13), x[5] ^= rotl32(x[4] + x[7], 18);
    x[11] ^= rotl32(x[10] + x[9], 7), x[8] ^= rotl32(x[11] + x[10], 9);
    x[9] ^= rotl32(x[8] + x[11], 13), x[10] ^= rotl32(x[9] + x[8], 18);
    x[12] ^= rotl32(x[15] + x[14], 7), x[13] ^= rotl32(x[12] + x[15], 9);
    x[14] ^= rotl32(x[13] + x[12], 13), x[15] ^= rotl32(x[14] + x[13], 18);
  }
  for (int i = 0; i < 16; i++) b[i] += x[i];
}

// scryptBlockMix: `in` (2r blocks of 16 words) → `out`, even blocks first, then odd ones.
static void block_mix(const uint32_t *in, uint32_t *out, uint32_t r) {
  uint32_t x[16];
  memcpy(x, in + (2 * r - 1) * 16, 64);
  for (uint32_t i = 0; i < 2 * r; i++) {
    for (int k = 0; k < 16; k++) x[k] ^= in[i * 16 + k];
    salsa20_8(x);
    memcpy(out + ((i & 1) * r + i / 2) * 16, x, 64);
  }
}

// scryptROMix on one 128r-byte block `b` (in place), with `v` room for N blocks and `t` for two.
static void ro_mix(uint32_t *b, uint32_t r, uint64_t n, uint32_t *v, uint32_t *t) {
  const size_t words = 32 * (size_t)r;
  uint32_t *x = t, *y = t + words;
  memcpy(x, b, words * 4);
  for (uint64_t i = 0; i < n; i++) {
    memcpy(v + i * words, x, words * 4);
    block_mix(x, y, r);
    uint32_t *swap = x;
    x = y, y = swap;
  }
  for (uint64_t i = 0; i < n; i++) {
    // Integerify: the first 64 bits of the last 64-byte block, mod N (a power of two).
    uint64_t j = (((uint64_t)x[words - 15] << 32) | x[words - 16]) & (n - 1);
    const uint32_t *vj = v + j * words;
    for (size_t k = 0; k < words; k++) x[k] ^= vj[k];
    block_mix(x, y, r);
    uint32_t *swap = x;
    x = y, y = swap;
  }
  memcpy(b, x, words * 4);
}

typedef struct {
  void *base;
  size_t mapped;
  uint32_t *array;
} Mapping;

// Memory for N blocks, 2 MiB aligned and advised into huge pages (a hint: 4 KiB pages work too).
static int map_array(size_t size, Mapping *m) {
  m->mapped = size + HUGE_PAGE;
  m->base = mmap(NULL, m->mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m->base == MAP_FAILED) return 0;
  m->array = (uint32_t *)(((uintptr_t)m->base + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
  madvise(m->array, size, MADV_HUGEPAGE);
#endif
  return 1;
}

typedef struct {
  uint8_t *password;
  size_t password_length;
  uint8_t *salt;
  size_t salt_length;
  uint64_t n;
  uint32_t r, p, key_length;
  uint8_t key[64];
  const char *error;
  napi_deferred deferred;
  napi_async_work work;
} ScryptJob;

static void derive(napi_env env, void *data) {
  (void)env;
  ScryptJob *job = data;
  const size_t block = 128 * (size_t)job->r;
  const size_t b_length = block * job->p;
  uint8_t *b = malloc(b_length);
  uint32_t *t = malloc(2 * block);
  Mapping v;
  const int mapped = map_array(block * job->n, &v);
  if (!b || !t || !mapped) {
    job->error = "scrypt: out of memory";
  } else if (PKCS5_PBKDF2_HMAC((const char *)job->password, (int)job->password_length, job->salt, (int)job->salt_length, 1, EVP_sha256(), (int)b_length, b) != 1) {
    job->error = "scrypt: PBKDF2 failed";
  } else {
    for (uint32_t i = 0; i < job->p; i++) ro_mix((uint32_t *)(b + i * block), job->r, job->n, v.array, t);
    if (PKCS5_PBKDF2_HMAC((const char *)job->password, (int)job->password_length, b, (int)b_length, 1, EVP_sha256(), (int)job->key_length, job->key) != 1) {
      job->error = "scrypt: PBKDF2 failed";
    }
  }
  // Everything derived from the password is wiped before it is let go.
  if (b) OPENSSL_cleanse(b, b_length), free(b);
  if (t) OPENSSL_cleanse(t, 2 * block), free(t);
  // The big array is unmapped, not wiped: the kernel zeroes its pages before anyone else gets them.
  if (mapped) munmap(v.base, v.mapped);
  OPENSSL_cleanse(job->password, job->password_length);
}

static void settle(napi_env env, napi_status status, void *data) {
  ScryptJob *job = data;
  napi_value result;
  if (status != napi_ok || job->error) {
    napi_value message;
    napi_create_string_utf8(env, job->error ? job->error : "scrypt: cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  } else {
    void *out;
    napi_create_buffer_copy(env, job->key_length, job->key, &out, &result);
    napi_resolve_deferred(env, job->deferred, result);
  }
  OPENSSL_cleanse(job->key, sizeof job->key);
  napi_delete_async_work(env, job->work);
  free(job->password);
  free(job->salt);
  free(job);
}

static int uint32_arg(napi_env env, napi_value value, uint32_t *out) {
  return napi_get_value_uint32(env, value, out) == napi_ok;
}

// scrypt(password: Uint8Array, salt: Uint8Array, N, r, p, keyLength) -> Promise<Buffer>. The
// password bytes are copied (and the copy wiped); the caller wipes its own.
static napi_value scrypt_async(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6) return fail_range(env, "scrypt takes 6 arguments");
  View password, salt;
  if (!bytes(env, argv[0], "scrypt: password and salt must be Uint8Arrays", &password) ||
      !bytes(env, argv[1], "scrypt: password and salt must be Uint8Arrays", &salt)) {
    return NULL;
  }
  const size_t password_length = password.length, salt_length = salt.length;
  uint32_t n, r, p, key_length;
  if (!uint32_arg(env, argv[2], &n) || !uint32_arg(env, argv[3], &r) || !uint32_arg(env, argv[4], &p) || !uint32_arg(env, argv[5], &key_length)) {
    return fail_type(env, "scrypt: N, r, p and the key length must be numbers");
  }
  // The bounds kdf.ts accepts, and an array of at most 2 GiB.
  if (n < 2 || (n & (n - 1)) != 0 || r < 1 || r > 32 || p < 1 || p > 16 || key_length < 1 || key_length > 64 ||
      (uint64_t)n * 128 * r > ((uint64_t)2 << 30) || password_length > (1u << 20) || salt_length > (1u << 20)) {
    return fail_range(env, "scrypt: parameters out of range");
  }
  ScryptJob *job = calloc(1, sizeof *job);
  if (!job) return fail_range(env, "scrypt: out of memory");
  job->password = malloc(password_length ? password_length : 1);
  job->salt = malloc(salt_length ? salt_length : 1);
  if (!job->password || !job->salt) {
    free(job->password), free(job->salt), free(job);
    return fail_range(env, "scrypt: out of memory");
  }
  memcpy(job->password, password.data, password_length);
  memcpy(job->salt, salt.data, salt_length);
  job->password_length = password_length;
  job->salt_length = salt_length;
  job->n = n, job->r = r, job->p = p, job->key_length = key_length;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "agentvault:scrypt", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, derive, settle, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

void scrypt_register(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"scrypt", NULL, scrypt_async, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
}
