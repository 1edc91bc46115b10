// The N-API edge: JS errors that carry a code, and strict reading of the plain objects JS passes in.
// Native code holds no defaults: every field it needs must be present and of its type, or the call is
// refused (BAD_INPUT) naming the field.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "common.h"

namespace moodaxis {

const char* errorCodeName(ErrorCode code);
// An Error with `code` set (NATIVE when the status carries none).
Napi::Error jsError(Napi::Env env, const Status& status);
// A promise already rejected with that error.
Napi::Promise rejectedPromise(Napi::Env env, const Status& status);

// A missing or mistyped argument field (BAD_INPUT), thrown by Fields.
struct BadArgument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The fields of one JS object; `where` names it in errors ("generate requests[2]").
class Fields {
 public:
  Fields(const Napi::Value& value, std::string where);
  bool has(const char* key) const;  // present, not undefined or null
  bool isNull(const char* key) const;  // present and null
  double number(const char* key) const;  // finite
  int32_t int32(const char* key) const;
  uint32_t uint32(const char* key) const;
  bool boolean(const char* key) const;
  std::string string(const char* key) const;
  std::vector<std::string> strings(const char* key) const;  // an array of strings
  std::vector<int32_t> int32Array(const char* key) const;
  std::vector<float> float32Array(const char* key) const;
  Fields object(const char* key) const;
  std::vector<Fields> objects(const char* key) const;  // an array of objects

 private:
  [[noreturn]] void fail(const char* key, const char* expected) const;
  Napi::Value get(const char* key) const;
  Napi::Object object_;
  std::string where_;
};

// A JS array value of integers (e.g. a positional argument), `what` naming it in errors.
std::vector<int32_t> int32ArrayArgument(const Napi::Value& value, const std::string& what);

}  // namespace moodaxis
