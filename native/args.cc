#include "args.h"

#include <cmath>
#include <limits>

namespace moodaxis {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadInput: return "BAD_INPUT";
    case ErrorCode::Resource: return "RESOURCE";
    case ErrorCode::Cancelled: return "CANCELLED";
    default: return "NATIVE";
  }
}

Napi::Error jsError(Napi::Env env, const Status& status) {
  Napi::Error error = Napi::Error::New(env, status.message);
  error.Set("code", errorCodeName(status.code));
  return error;
}

Napi::Promise rejectedPromise(Napi::Env env, const Status& status) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(jsError(env, status).Value());
  return deferred.Promise();
}

Fields::Fields(const Napi::Value& value, std::string where) : where_(std::move(where)) {
  if (!value.IsObject() || value.IsArray()) throw BadArgument(where_ + " must be an object");
  object_ = value.As<Napi::Object>();
}

Napi::Value Fields::get(const char* key) const { return object_.Get(key); }

bool Fields::has(const char* key) const {
  Napi::Value v = get(key);
  return !v.IsUndefined() && !v.IsNull();
}

bool Fields::isNull(const char* key) const { return get(key).IsNull(); }

void Fields::fail(const char* key, const char* expected) const {
  throw BadArgument(where_ + "." + key + " must be " + expected);
}

double Fields::number(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsNumber()) fail(key, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) fail(key, "a finite number");
  return d;
}

int32_t Fields::int32(const char* key) const {
  Napi::Value v = get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d == std::floor(d) && d >= std::numeric_limits<int32_t>::min() && d <= std::numeric_limits<int32_t>::max()))
    fail(key, "a 32-bit integer");
  return static_cast<int32_t>(d);
}

uint32_t Fields::uint32(const char* key) const {
  Napi::Value v = get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d == std::floor(d) && d >= 0 && d <= std::numeric_limits<uint32_t>::max())) fail(key, "an unsigned 32-bit integer");
  return static_cast<uint32_t>(d);
}

bool Fields::boolean(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsBoolean()) fail(key, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string Fields::string(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsString()) fail(key, "a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<std::string> Fields::strings(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsArray()) fail(key, "an array of strings");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsString()) fail(key, "an array of strings");
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::vector<int32_t> Fields::int32Array(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) fail(key, "an Int32Array");
  auto arr = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(arr.Data(), arr.Data() + arr.ElementLength());
}

std::vector<float> Fields::float32Array(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) fail(key, "a Float32Array");
  auto arr = v.As<Napi::Float32Array>();
  return std::vector<float>(arr.Data(), arr.Data() + arr.ElementLength());
}

Fields Fields::object(const char* key) const {
  if (!get(key).IsObject()) fail(key, "an object");
  return Fields(get(key), where_ + "." + key);
}

std::vector<Fields> Fields::objects(const char* key) const {
  Napi::Value v = get(key);
  if (!v.IsArray()) fail(key, "an array");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<Fields> out;
  for (uint32_t i = 0; i < arr.Length(); i++) out.emplace_back(arr.Get(i), where_ + "." + key + "[" + std::to_string(i) + "]");
  return out;
}

std::vector<int32_t> int32ArrayArgument(const Napi::Value& value, const std::string& what) {
  if (!value.IsArray()) throw BadArgument(what + " must be an array of integers");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<int32_t> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!(d == std::floor(d) && d >= std::numeric_limits<int32_t>::min() && d <= std::numeric_limits<int32_t>::max()))
      throw BadArgument(what + "[" + std::to_string(i) + "] must be a 32-bit integer");
    out.push_back(static_cast<int32_t>(d));
  }
  return out;
}

}  // namespace moodaxis
