// zeroRange: makes a range of a file read as zeros without writing them (fallocate's
// FALLOC_FL_ZERO_RANGE). A dense restore of a canister image is ~40% zero pages; writing them fills
// the page cache with zeros that must then go to disk. Zeroed this way the blocks stay allocated
// (the file is still dense, unlike --sparse) as extents the file system knows read as zeros.
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

// zeroRange(fd, offset, length) -> 0, or the errno (EOPNOTSUPP where the file system cannot).
static napi_value zero_range(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  int64_t offset, length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok || napi_get_value_int64(env, argv[2], &length) != napi_ok) {
    return fail_type(env, "zeroRange takes a file descriptor, an offset and a length");
  }
  if (fd < 0 || offset < 0 || length <= 0) {
    return fail_range(env, "zeroRange: a negative descriptor or offset, or an empty range");
  }
  int result = 0;
#ifdef __linux__
  while (fallocate(fd, FALLOC_FL_ZERO_RANGE, (off_t)offset, (off_t)length) != 0) {
    if (errno != EINTR) {
      result = errno;
      break;
    }
  }
#else
  result = EOPNOTSUPP;
#endif
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

void zero_range_register(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"zeroRange", NULL, zero_range, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
}
