// Checked arguments for every part of the native module: a wrong type throws TypeError, a wrong
// size or range RangeError, in one line that names the argument. And the number results they return.
#include "addon.h"

napi_value fail_range(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

napi_value fail_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

int typed_array(napi_env env, napi_value value, napi_typedarray_type want, const char *what, View *out) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok || type != want) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  out->data = data;
  out->length = length;
  return 1;
}

int bytes(napi_env env, napi_value value, const char *what, View *out) {
  return typed_array(env, value, napi_uint8_array, what, out);
}

napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}
