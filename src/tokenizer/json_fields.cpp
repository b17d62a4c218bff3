// Implementation of the typed tokenizer.json field reads.
// Not a schema: each stage decides which fields it needs and their defaults.
#include "tokenizer/json_fields.h"

namespace embtune {

static bool present(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && !j.at(key).is_null();
}

Status json_read_bool(const nlohmann::json& j, const char* key, bool* out) {
  if (!present(j, key)) return Status();
  const nlohmann::json& v = j.at(key);
  if (!v.is_boolean()) return make_error("field \"%s\" must be true or false", key);
  *out = v.get<bool>();
  return Status();
}

Status json_read_int(const nlohmann::json& j, const char* key, int64_t* out) {
  if (!present(j, key)) return Status();
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer()) return make_error("field \"%s\" must be an integer", key);
  *out = v.get<int64_t>();
  return Status();
}

Status json_read_string(const nlohmann::json& j, const char* key, std::string* out) {
  if (!present(j, key)) return Status();
  const nlohmann::json& v = j.at(key);
  if (!v.is_string()) return make_error("field \"%s\" must be a string", key);
  *out = v.get<std::string>();
  return Status();
}

Status json_read_type(const nlohmann::json& j, const char* stage, std::string* out) {
  if (!j.is_object()) return make_error("%s must be an object or null", stage);
  if (!j.contains("type") || !j.at("type").is_string()) {
    return make_error("%s has no \"type\" string", stage);
  }
  *out = j.at("type").get<std::string>();
  return Status();
}

}  // namespace embtune
