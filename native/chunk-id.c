// Keyed BLAKE3 chunk ids for a batch of chunks in one call (the `blake3-keyed` chunk id of
// src/crypto/chunk-id.ts), on the SIMD kernels of the official BLAKE3 C implementation, which
// binding.gyp compiles from the @c4312/blake3-native package.
//
// Why native: @napi-rs/blake-hash costs ~5 µs per chunk in calls (reset, update, digest, a Buffer
// for the result), as much as hashing a 14 KiB chunk, and a GiB is ~75,000 chunks. And why not the
// library's own hasher per chunk: it fills the SIMD lanes (16 with AVX-512) only with the 1 KiB
// pieces (BLAKE3's "chunks") of one input, and a 14 KiB chunk leaves most of them empty. Here the
// lanes are filled across the batch (whole_chunk_cvs), then the parent nodes of every chunk's tree
// are merged level by level, all in one call per level. The ids are those of the BLAKE3
// specification: test/chunk-id.test.ts holds them to @noble/hashes and @napi-rs/blake-hash at
// every length that changes a tree. Measured here: see native/README.md.
//
// Offsets and lengths come from JavaScript, and on restore from the repository's index: each is
// checked against the buffer before any byte is read.
#include "addon.h"
#include "blake3.h"
#include "blake3_impl.h"
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "chunk-id.c stores chaining values as their words' bytes: little-endian hosts only"
#endif

#define ID_LENGTH 32

typedef struct {
  View key, data, offsets, lengths, ids;
} Batch;

// The five arguments every call takes: (key, data, offsets: Int32Array, lengths: Int32Array, ids).
static int batch_args(napi_env env, napi_callback_info info, const char *name, Batch *b) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) {
    fail_range(env, name);
    return 0;
  }
  if (!bytes(env, argv[0], "key must be a Uint8Array", &b->key)) return 0;
  if (!bytes(env, argv[1], "data must be a Uint8Array", &b->data)) return 0;
  if (!typed_array(env, argv[2], napi_int32_array, "offsets must be an Int32Array", &b->offsets)) return 0;
  if (!typed_array(env, argv[3], napi_int32_array, "lengths must be an Int32Array", &b->lengths)) return 0;
  if (!bytes(env, argv[4], "ids must be a Uint8Array", &b->ids)) return 0;
  if (b->key.length != BLAKE3_KEY_LEN) {
    fail_range(env, "the chunk id key must be 32 bytes");
    return 0;
  }
  size_t n = b->lengths.length;
  if (b->offsets.length != n || b->ids.length != n * ID_LENGTH) {
    fail_range(env, "offsets and ids must match lengths");
    return 0;
  }
  const int32_t *offsets = (const int32_t *)b->offsets.data, *lengths = (const int32_t *)b->lengths.data;
  for (size_t i = 0; i < n; i++) {
    if (offsets[i] < 0 || lengths[i] < 0 || (size_t)offsets[i] + (size_t)lengths[i] > b->data.length) {
      fail_range(env, "a chunk lies outside data");
      return 0;
    }
  }
  return 1;
}

// A long input and its number of whole 1 KiB chunks.
typedef struct {
  size_t input, whole;
} Row;

// Chaining values of the 1 KiB chunks of inputs longer than one, and work lists, for one batch.
typedef struct {
  uint8_t *cvs;              // every long input's chunk CVs, 32 bytes each, from cv_base[i]
  size_t *cv_base;           // per input: its first CV's index in cvs
  size_t *cv_count;          // per input: CVs left to merge (0: not a long input, or done)
  Row *rows;                 // the long inputs, most whole 1 KiB chunks first
  size_t *covered;           // per column j: the rows hashed across, a multiple of LANES
  const uint8_t **pointers;  // inputs to one blake3_hash_many call
  size_t *owners;            // per pointer: the CV slot its output goes to
  uint8_t *out;              // blake3_hash_many's output
} Work;

static void work_free(Work *w) {
  free(w->cvs);
  free(w->cv_base);
  free(w->cv_count);
  free(w->rows);
  free(w->covered);
  free(w->pointers);
  free(w->owners);
  free(w->out);
}

// Hashes the pointers gathered so far in one call, and moves each output to its CV slot.
static void hash_gathered(Work *w, size_t count, size_t blocks, const uint32_t key[8], uint64_t counter, uint8_t flags,
                          uint8_t flags_start, uint8_t flags_end) {
  if (count == 0) return;
  blake3_hash_many(w->pointers, count, blocks, key, counter, false, flags, flags_start, flags_end, w->out);
  for (size_t k = 0; k < count; k++) memcpy(w->cvs + w->owners[k] * BLAKE3_OUT_LEN, w->out + k * BLAKE3_OUT_LEN, BLAKE3_OUT_LEN);
}

// The chaining value of an input's last 1 KiB piece when it is partial (0 < `length` < 1024 bytes).
static void partial_chunk_cv(const uint32_t key[8], const uint8_t *input, size_t length, uint64_t counter, uint8_t cv_bytes[32]) {
  uint32_t cv[8];
  memcpy(cv, key, sizeof cv);
  size_t blocks = (length + BLAKE3_BLOCK_LEN - 1) / BLAKE3_BLOCK_LEN;
  for (size_t b = 0; b < blocks; b++) {
    size_t block_len = b + 1 < blocks ? BLAKE3_BLOCK_LEN : length - b * BLAKE3_BLOCK_LEN;
    uint8_t block[BLAKE3_BLOCK_LEN] = {0};
    memcpy(block, input + b * BLAKE3_BLOCK_LEN, block_len);
    uint8_t flags = KEYED_HASH | (b == 0 ? CHUNK_START : 0) | (b + 1 == blocks ? CHUNK_END : 0);
    blake3_compress_in_place(cv, block, (uint8_t)block_len, counter, flags);
  }
  memcpy(cv_bytes, cv, 32);
}

// Lanes filled per call across inputs: AVX-512's 16 (a multiple of AVX2's 8 and SSE4.1's 4).
#define LANES 16

// For qsort: rows by their number of whole 1 KiB chunks, most first. (No state outside the rows:
// both backup workers call this at once.)
static int by_whole_chunks_descending(const void *a, const void *b) {
  size_t x = ((const Row *)a)->whole, y = ((const Row *)b)->whole;
  return (y > x) - (y < x);
}

// The CVs of every long input's whole 1 KiB chunks. They form a grid: a row per input (most chunks
// first), a column per chunk index j (BLAKE3's chunk counter). Each column's rows go LANES at a
// time with one counter; what is left of each row, in fewer than LANES rows, goes along the row,
// its consecutive chunks with counters counting up. So a batch of many chunks fills the lanes
// across chunks, and a batch of few within each one, as the library's own hasher does.
static void whole_chunk_cvs(const Batch *b, const uint32_t key[8], size_t rows, Work *w) {
  const int32_t *offsets = (const int32_t *)b->offsets.data;
  qsort(w->rows, rows, sizeof(Row), by_whole_chunks_descending);
  const size_t columns = rows > 0 ? w->rows[0].whole : 0;
  size_t deep = rows;  // rows with a whole chunk j: never more as j grows
  for (size_t j = 0; j < columns; j++) {
    while (deep > 0 && w->rows[deep - 1].whole <= j) deep--;
    w->covered[j] = deep - deep % LANES;
    for (size_t r = 0; r < w->covered[j]; r++) {
      size_t i = w->rows[r].input;
      w->pointers[r] = b->data.data + offsets[i] + j * BLAKE3_CHUNK_LEN;
      w->owners[r] = w->cv_base[i] + j;
    }
    hash_gathered(w, w->covered[j], BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN, key, j, KEYED_HASH, CHUNK_START, CHUNK_END);
  }
  // Row r is covered by the columns before the first whose covered rows do not reach it.
  for (size_t r = 0; r < rows; r++) {
    size_t i = w->rows[r].input, whole = w->rows[r].whole, from = 0;
    while (from < whole && r < w->covered[from]) from++;
    if (from == whole) continue;
    for (size_t j = from; j < whole; j++) w->pointers[j - from] = b->data.data + offsets[i] + j * BLAKE3_CHUNK_LEN;
    blake3_hash_many(w->pointers, whole - from, BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN, key, from, true, KEYED_HASH, CHUNK_START, CHUNK_END,
                     w->cvs + (w->cv_base[i] + from) * BLAKE3_OUT_LEN);
  }
}

// Every chunk's keyed BLAKE3 into ids (32 bytes each). Returns 0 when out of memory.
static int hash_batch(const Batch *b, uint8_t *ids) {
  const int32_t *offsets = (const int32_t *)b->offsets.data, *lengths = (const int32_t *)b->lengths.data;
  const size_t n = b->lengths.length;
  uint32_t key[8];
  load_key_words(b->key.data, key);

  // Inputs of one 1 KiB chunk or less are their own root: the library's hasher does them.
  blake3_hasher hasher;
  blake3_hasher_init_keyed(&hasher, b->key.data);
  size_t total_cvs = 0, long_inputs = 0, most_whole = 0;
  for (size_t i = 0; i < n; i++) {
    size_t length = (size_t)lengths[i];
    if (length > BLAKE3_CHUNK_LEN) {
      total_cvs += (length + BLAKE3_CHUNK_LEN - 1) / BLAKE3_CHUNK_LEN;
      if (length / BLAKE3_CHUNK_LEN > most_whole) most_whole = length / BLAKE3_CHUNK_LEN;
      long_inputs++;
      continue;
    }
    blake3_hasher_update(&hasher, b->data.data + offsets[i], length);
    blake3_hasher_finalize(&hasher, ids + i * ID_LENGTH, ID_LENGTH);
    blake3_hasher_reset(&hasher);
  }
  if (long_inputs == 0) return 1;

  Work w = {
      .cvs = malloc(total_cvs * BLAKE3_OUT_LEN),
      .cv_base = malloc(n * sizeof(size_t)),
      .cv_count = calloc(n, sizeof(size_t)),
      .rows = malloc(long_inputs * sizeof(Row)),
      .covered = malloc(most_whole * sizeof(size_t)),
      .pointers = malloc(total_cvs * sizeof(uint8_t *)),
      .owners = malloc(total_cvs * sizeof(size_t)),
      .out = malloc(total_cvs * BLAKE3_OUT_LEN),
  };
  if (!w.cvs || !w.cv_base || !w.cv_count || !w.rows || !w.covered || !w.pointers || !w.owners || !w.out) {
    work_free(&w);
    return 0;
  }
  size_t next = 0, rows = 0;
  for (size_t i = 0; i < n; i++) {
    size_t length = (size_t)lengths[i];
    if (length <= BLAKE3_CHUNK_LEN) continue;
    w.cv_base[i] = next;
    w.cv_count[i] = (length + BLAKE3_CHUNK_LEN - 1) / BLAKE3_CHUNK_LEN;
    next += w.cv_count[i];
    w.rows[rows++] = (Row){.input = i, .whole = length / BLAKE3_CHUNK_LEN};
  }
  whole_chunk_cvs(b, key, rows, &w);
  // The partial last chunk of each input, block by block.
  for (size_t i = 0; i < n; i++) {
    size_t length = (size_t)lengths[i], whole = length / BLAKE3_CHUNK_LEN, rest = length % BLAKE3_CHUNK_LEN;
    if (w.cv_count[i] == 0 || rest == 0) continue;
    partial_chunk_cv(key, b->data.data + offsets[i] + whole * BLAKE3_CHUNK_LEN, rest, whole, w.cvs + (w.cv_base[i] + whole) * BLAKE3_OUT_LEN);
  }
  // The tree, level by level: adjacent pairs become their parent and an odd last CV moves up as it
  // is (the spec's left-filled tree). Two CVs left are the root's children. Parents all have
  // counter 0, so one call takes every pair of every input.
  for (size_t remaining = long_inputs; remaining > 0;) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
      size_t c = w.cv_count[i];
      uint8_t *cv = w.cvs + w.cv_base[i] * BLAKE3_OUT_LEN;
      if (c == 2) {
        uint32_t root[8];
        memcpy(root, key, sizeof root);
        blake3_compress_in_place(root, cv, BLAKE3_BLOCK_LEN, 0, KEYED_HASH | PARENT | ROOT);
        memcpy(ids + i * ID_LENGTH, root, ID_LENGTH);
        w.cv_count[i] = 0;
        remaining--;
        continue;
      }
      for (size_t k = 0; k + 1 < c; k += 2) {
        w.pointers[count] = cv + k * BLAKE3_OUT_LEN;
        w.owners[count++] = w.cv_base[i] + k / 2;
      }
    }
    // Each parent goes to slot k/2 of its input, below any pair not yet read: pointers were read
    // in full by blake3_hash_many before the outputs are copied.
    hash_gathered(&w, count, 1, key, 0, KEYED_HASH | PARENT, 0, 0);
    for (size_t i = 0; i < n; i++) {
      size_t c = w.cv_count[i];
      if (c < 3) continue;
      uint8_t *cv = w.cvs + w.cv_base[i] * BLAKE3_OUT_LEN;
      if (c % 2 == 1) memmove(cv + (c / 2) * BLAKE3_OUT_LEN, cv + (c - 1) * BLAKE3_OUT_LEN, BLAKE3_OUT_LEN);
      w.cv_count[i] = (c + 1) / 2;
    }
  }
  work_free(&w);
  return 1;
}

static napi_value out_of_memory(napi_env env) {
  napi_throw_error(env, NULL, "out of memory hashing a batch of chunks");
  return NULL;
}

// blake3KeyedIds(key, data, offsets, lengths, ids) -> undefined. Writes the keyed BLAKE3 of
//   data[offsets[i], offsets[i] + lengths[i]) into ids[32 i, 32 i + 32), for every i.
static napi_value keyed_ids(napi_env env, napi_callback_info info) {
  Batch b;
  if (!batch_args(env, info, "blake3KeyedIds takes 5 arguments", &b)) return NULL;
  if (!hash_batch(&b, b.ids.data)) return out_of_memory(env);
  return NULL;
}

// blake3KeyedFirstMismatch(key, data, offsets, lengths, ids) -> -1 when every chunk's keyed BLAKE3
//   is its id in ids, else the index of the first that is not.
static napi_value keyed_first_mismatch(napi_env env, napi_callback_info info) {
  Batch b;
  if (!batch_args(env, info, "blake3KeyedFirstMismatch takes 5 arguments", &b)) return NULL;
  size_t n = b.lengths.length;
  uint8_t *computed = malloc(n * ID_LENGTH + 1);
  if (!computed || !hash_batch(&b, computed)) {
    free(computed);
    return out_of_memory(env);
  }
  double first = -1;
  for (size_t i = 0; i < n && first < 0; i++) {
    if (memcmp(computed + i * ID_LENGTH, b.ids.data + i * ID_LENGTH, ID_LENGTH) != 0) first = (double)i;
  }
  free(computed);
  return number(env, first);
}

void chunk_id_register(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"blake3KeyedIds", NULL, keyed_ids, NULL, NULL, NULL, napi_enumerable, NULL},
      {"blake3KeyedFirstMismatch", NULL, keyed_first_mismatch, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
}
