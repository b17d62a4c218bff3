// Typed, error-reporting reads of optional fields from tokenizer.json objects.
// Not a JSON library: nlohmann::json parses; these only check types and name the bad field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace embtune {

// Each reads j[key] into *out when present and not null, keeping *out (the default) otherwise;
// a value of the wrong type is an error naming `key`.
Status json_read_bool(const nlohmann::json& j, const char* key, bool* out);
Status json_read_int(const nlohmann::json& j, const char* key, int64_t* out);
Status json_read_string(const nlohmann::json& j, const char* key, std::string* out);
// The "type" tag of a stage object, or an error when `j` is not an object or has no string type.
Status json_read_type(const nlohmann::json& j, const char* stage, std::string* out);

}  // namespace embtune
