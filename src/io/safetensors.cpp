// safetensors reader (mmap + the same validation as the Rust safetensors crate) and atomic writer.
// Not a model loader and not a general JSON layer: tensor meaning and config files live elsewhere.
#include "io/safetensors.h"
#include "core/strings.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/half.h"

namespace embtune {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is read in place");

namespace {

// The Rust crate's MAX_HEADER_SIZE: a larger header is taken for a corrupt or hostile file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Below this many elements the threads cost more than the conversion.
constexpr int64_t kParallelMinElements = 1 << 16;

struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8},   {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& dtype_info(DType t) {
  for (const DTypeInfo& d : kDTypes)
    if (d.type == t) return d;
  check_fail(__FILE__, __LINE__, "DType missing from kDTypes");
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// numel x element size, or false on 64-bit overflow (a corrupt header can ask for anything).
bool checked_nbytes(const std::vector<int64_t>& shape, size_t elem_size, uint64_t* out) {
  uint64_t n = elem_size;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  *out = n;
  return true;
}

// A header entry after per-tensor checks; offsets are relative to the data buffer.
struct ParsedTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// Checks one tensor entry against its own declaration and the buffer size. `where` is
// "<path>: tensor '<name>'", the prefix of every message about this tensor.
Status parse_tensor_entry(const std::string& where, const std::string& name,
                          const nlohmann::json& entry, uint64_t buffer_size, ParsedTensor* out) {
  if (!entry.is_object()) return make_error("%s: entry is not a JSON object", where.c_str());
  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string())
    return make_error("%s: missing \"dtype\" string", where.c_str());
  const std::string dtype_str = dtype_it->get<std::string>();
  if (!dtype_from_name(dtype_str, &out->dtype))
    return make_error(
        "%s: unknown dtype '%s' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)",
        where.c_str(), dtype_str.c_str());

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array())
    return make_error("%s: \"shape\" is missing or not a list", where.c_str());
  out->shape.clear();
  for (size_t i = 0; i < shape_it->size(); ++i) {
    const nlohmann::json& d = (*shape_it)[i];
    if (!d.is_number_unsigned() ||
        d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return make_error("%s: shape dimension %zu is %s, not a non-negative integer", where.c_str(),
                        i, d.dump().c_str());
    out->shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
  }

  auto off_it = entry.find("data_offsets");
  if (off_it == entry.end() || !off_it->is_array() || off_it->size() != 2 ||
      !(*off_it)[0].is_number_unsigned() || !(*off_it)[1].is_number_unsigned())
    return make_error("%s: \"data_offsets\" must be [begin, end], two non-negative integers%s%s",
                      where.c_str(), off_it == entry.end() ? "" : ", got ",
                      off_it == entry.end() ? "" : off_it->dump().c_str());
  out->begin = (*off_it)[0].get<uint64_t>();
  out->end = (*off_it)[1].get<uint64_t>();
  const std::string offsets =
      "[" + std::to_string(out->begin) + ", " + std::to_string(out->end) + "]";
  if (out->end < out->begin)
    return make_error("%s: data_offsets %s end before they begin", where.c_str(), offsets.c_str());
  if (out->end > buffer_size)
    return make_error("%s: data_offsets %s run past the end of the data buffer (%llu bytes)",
                      where.c_str(), offsets.c_str(), static_cast<unsigned long long>(buffer_size));
  uint64_t expected;
  if (!checked_nbytes(out->shape, dtype_size(out->dtype), &expected))
    return make_error("%s: shape %s x %s overflows a 64-bit byte count", where.c_str(),
                      shape_string(out->shape).c_str(), dtype_name(out->dtype));
  if (out->end - out->begin != expected)
    return make_error("%s: data_offsets %s do not match shape %s x %s = %llu bytes", where.c_str(),
                      offsets.c_str(), shape_string(out->shape).c_str(), dtype_name(out->dtype),
                      static_cast<unsigned long long>(expected));
  out->name = name;
  return Status::ok_status();
}

Status parse_metadata(const std::string& path, const nlohmann::json& m,
                      std::map<std::string, std::string>* out) {
  if (m.is_null()) return Status::ok_status();  // serde reads null as an absent Option
  if (!m.is_object())
    return make_error("%s: \"__metadata__\" is not a JSON object of strings", path.c_str());
  for (const auto& [key, value] : m.items()) {
    if (!value.is_string())
      return make_error("%s: \"__metadata__\" value of '%s' is %s, not a string", path.c_str(),
                        key.c_str(), value.type_name());
    (*out)[key] = value.get<std::string>();
  }
  return Status::ok_status();
}

// The Rust crate sorts tensors by offsets and demands each begin where the previous ended,
// from 0 to the end of the file; a file with holes or overlaps is rejected there, so here too.
Status check_coverage(const std::string& path, std::vector<ParsedTensor>* tensors,
                      uint64_t buffer_size) {
  std::sort(tensors->begin(), tensors->end(), [](const ParsedTensor& a, const ParsedTensor& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  uint64_t covered = 0;
  const ParsedTensor* prev = nullptr;
  for (const ParsedTensor& t : *tensors) {
    if (t.begin < covered)
      return make_error(
          "%s: tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]",
          path.c_str(), t.name.c_str(), static_cast<unsigned long long>(t.begin),
          static_cast<unsigned long long>(t.end), prev->name.c_str(),
          static_cast<unsigned long long>(prev->begin), static_cast<unsigned long long>(prev->end));
    if (t.begin > covered) {
      std::string after =
          prev ? "after tensor '" + prev->name + "' ending at " + std::to_string(covered)
               : std::string("at the start of the data buffer");
      return make_error(
          "%s: tensor '%s': data_offsets [%llu, %llu] leave a gap of %llu bytes %s "
          "(safetensors requires tensors to cover the data buffer contiguously)",
          path.c_str(), t.name.c_str(), static_cast<unsigned long long>(t.begin),
          static_cast<unsigned long long>(t.end),
          static_cast<unsigned long long>(t.begin - covered), after.c_str());
    }
    covered = t.end;
    prev = &t;
  }
  if (covered != buffer_size) {
    std::string after = prev ? " after tensor '" + prev->name + "'" : std::string();
    return make_error(
        "%s: %llu trailing bytes%s: tensors end at %llu, the data buffer has %llu "
        "bytes (appended data, or offsets that stop short)",
        path.c_str(), static_cast<unsigned long long>(buffer_size - covered), after.c_str(),
        static_cast<unsigned long long>(covered), static_cast<unsigned long long>(buffer_size));
  }
  return Status::ok_status();
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace

const char* dtype_name(DType t) { return dtype_info(t).name; }

DType storage_dtype_from_flag(const std::string& flag) {
  return flag == "f16" ? DType::F16 : flag == "bf16" ? DType::BF16 : DType::F32;
}

bool dtype_from_name(const std::string& s, DType* out) {
  for (const DTypeInfo& d : kDTypes) {
    if (s == d.name) {
      *out = d.type;
      return true;
    }
  }
  return false;
}

size_t dtype_size(DType t) { return dtype_info(t).size; }

int64_t TensorView::numel() const {
  uint64_t n = 1;  // unsigned: a zero dimension after huge ones must give 0, not overflow UB
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

Status SafetensorsFile::open(const std::string& path) {
  tensors_.clear();
  index_.clear();
  metadata_.clear();
  ET_RETURN_IF_ERROR(file_.open(path));
  const char* p = path.c_str();
  const size_t size = file_.size();
  if (size == 0) return make_error("%s: file is empty, not a safetensors file", p);
  if (size < 8)
    return make_error("%s: file is %zu bytes, too short for the 8-byte header length", p, size);
  uint64_t header_len;
  std::memcpy(&header_len, file_.data(), 8);
  if (header_len > kMaxHeaderBytes)
    return make_error(
        "%s: header length %llu exceeds the %llu-byte limit (not a safetensors file?)", p,
        static_cast<unsigned long long>(header_len),
        static_cast<unsigned long long>(kMaxHeaderBytes));
  if (header_len > size - 8)
    return make_error(
        "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)", p,
        static_cast<unsigned long long>(header_len), size);
  const char* header = reinterpret_cast<const char*>(file_.data()) + 8;
  const uint64_t buffer_size = size - 8 - header_len;

  // nlohmann stops at a NUL and skips a byte-order mark; serde_json rejects both, so must we.
  if (std::memchr(header, 0, header_len))
    return make_error("%s: header contains a NUL byte, not valid JSON", p);
  if (header_len >= 3 && std::memcmp(header, "\xEF\xBB\xBF", 3) == 0)
    return make_error("%s: header starts with a UTF-8 byte-order mark, not valid JSON", p);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(header, header + header_len);
  } catch (const nlohmann::json::exception& e) {
    return make_error("%s: header is not valid UTF-8 JSON: %s", p, e.what());
  }
  if (!root.is_object())
    return make_error("%s: header is %s, not a JSON object", p, root.type_name());

  std::map<std::string, std::string> metadata;
  std::vector<ParsedTensor> parsed;
  parsed.reserve(root.size());
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") {
      ET_RETURN_IF_ERROR(parse_metadata(path, entry, &metadata));
      continue;
    }
    ParsedTensor t;
    ET_RETURN_IF_ERROR(
        parse_tensor_entry(path + ": tensor '" + name + "'", name, entry, buffer_size, &t));
    parsed.push_back(std::move(t));
  }
  ET_RETURN_IF_ERROR(check_coverage(path, &parsed, buffer_size));

  const uint8_t* buffer = file_.data() + 8 + header_len;
  tensors_.reserve(parsed.size());
  for (ParsedTensor& t : parsed) {
    index_[t.name] = tensors_.size();
    TensorView v;
    v.name = std::move(t.name);
    v.dtype = t.dtype;
    v.shape = std::move(t.shape);
    v.data = buffer + t.begin;
    v.nbytes = t.end - t.begin;
    tensors_.push_back(std::move(v));
  }
  metadata_ = std::move(metadata);
  return Status::ok_status();
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsSet::open(const std::string& path) {
  files_.clear();
  by_name_.clear();
  std::string target = path;
  if (dir_exists(path)) {
    // transformers prefers the single file when both exist; so do we.
    if (file_exists(path_join(path, "model.safetensors"))) {
      target = path_join(path, "model.safetensors");
    } else if (file_exists(path_join(path, "model.safetensors.index.json"))) {
      target = path_join(path, "model.safetensors.index.json");
    } else {
      return make_error(
          "%s: directory holds neither model.safetensors nor "
          "model.safetensors.index.json",
          path.c_str());
    }
  }

  // shard file name -> tensor names the index maps to it; one entry "" for a single file.
  std::map<std::string, std::vector<std::string>> shards;
  std::string index_path;
  if (ends_with(target, ".json")) {
    index_path = target;
    std::string text;
    ET_RETURN_IF_ERROR(read_file(index_path, &text));
    nlohmann::json root;
    try {
      root = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      return make_error("%s: not valid JSON: %s", index_path.c_str(), e.what());
    }
    if (!root.is_object() || !root.contains("weight_map") || !root["weight_map"].is_object())
      return make_error("%s: expected an object with a \"weight_map\" object {tensor: shard file}",
                        index_path.c_str());
    const nlohmann::json& weight_map = root["weight_map"];
    if (weight_map.empty()) return make_error("%s: \"weight_map\" is empty", index_path.c_str());
    for (const auto& [name, shard] : weight_map.items()) {
      if (!shard.is_string())
        return make_error("%s: weight_map entry for tensor '%s' is %s, not a shard file name",
                          index_path.c_str(), name.c_str(), shard.type_name());
      shards[shard.get<std::string>()].push_back(name);
    }
  } else {
    shards[""];
  }

  for (const auto& [shard, names] : shards) {
    auto file = std::make_unique<SafetensorsFile>();
    if (index_path.empty()) {
      ET_RETURN_IF_ERROR(file->open(target));
    } else {
      Status st = file->open(path_join(dir_of(index_path), shard));
      if (!st.ok()) return st.wrap(index_path + ": shard '" + shard + "'");
      for (const std::string& name : names) {
        if (!file->find(name))
          return make_error("%s: tensor '%s' is mapped to shard '%s', which does not contain it",
                            index_path.c_str(), name.c_str(), file->path().c_str());
      }
    }
    const size_t file_index = files_.size();
    for (const TensorView& t : file->tensors()) {
      auto [it, inserted] = by_name_.emplace(t.name, std::make_pair(file_index, &t));
      if (!inserted)
        return make_error("%s: tensor '%s' appears in two shards: %s and %s", index_path.c_str(),
                          t.name.c_str(), files_[it->second.first]->path().c_str(),
                          file->path().c_str());
    }
    files_.push_back(std::move(file));
  }
  return Status::ok_status();
}

const TensorView* SafetensorsSet::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.second;
}

std::vector<const TensorView*> SafetensorsSet::all() const {
  std::vector<const TensorView*> out;
  out.reserve(by_name_.size());
  for (const auto& [name, entry] : by_name_) out.push_back(entry.second);
  return out;
}

std::string SafetensorsSet::file_of(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? std::string() : files_[it->second.first]->path();
}

Status tensor_to_f32(const TensorView& t, float* out) {
  const int64_t n = t.numel();
  ET_CHECK(t.nbytes == static_cast<size_t>(n) * dtype_size(t.dtype));
  if (n == 0) return Status::ok_status();
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out, t.data, t.nbytes);  // the mapped data need not be 4-byte aligned
      return Status::ok_status();
    case DType::F16:
#pragma omp parallel for if (n >= kParallelMinElements)
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      return Status::ok_status();
    case DType::BF16:
#pragma omp parallel for if (n >= kParallelMinElements)
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      return Status::ok_status();
    default:
      return make_error(
          "tensor '%s': dtype %s cannot be read as floats (expected F32, F16 or BF16)",
          t.name.c_str(), dtype_name(t.dtype));
  }
}

Status safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  const char* p = path.c_str();
  std::vector<const TensorToWrite*> sorted;
  sorted.reserve(tensors.size());
  for (const TensorToWrite& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });

  // ordered_json keeps "__metadata__" first and tensors in data order, as the Rust writer does.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<uint64_t> numels;
  numels.reserve(sorted.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorToWrite& t = *sorted[i];
    const char* name = t.name.c_str();
    if (t.name.empty() || t.name == "__metadata__")
      return make_error("%s: invalid tensor name '%s'", p, name);
    if (i > 0 && sorted[i - 1]->name == t.name)
      return make_error("%s: tensor '%s' given twice", p, name);
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
      return make_error("%s: tensor '%s': cannot store as %s (only F32, F16 or BF16)", p, name,
                        dtype_name(t.dtype));
    for (int64_t d : t.shape)
      if (d < 0)
        return make_error("%s: tensor '%s': negative dimension in shape %s", p, name,
                          shape_string(t.shape).c_str());
    uint64_t numel, nbytes;
    if (!checked_nbytes(t.shape, 1, &numel) ||
        !checked_nbytes(t.shape, dtype_size(t.dtype), &nbytes))
      return make_error("%s: tensor '%s': shape %s is too large", p, name,
                        shape_string(t.shape).c_str());
    if (numel > 0 && t.data == nullptr)
      return make_error("%s: tensor '%s': no data for shape %s", p, name,
                        shape_string(t.shape).c_str());
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    numels.push_back(numel);
  }

  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {
    return make_error("%s: cannot encode header (tensor names and metadata must be UTF-8): %s", p,
                      e.what());
  }
  json.append((8 - json.size() % 8) % 8, ' ');  // so the data buffer starts 8-byte aligned
  if (json.size() > kMaxHeaderBytes)
    return make_error("%s: header of %zu bytes exceeds the %llu-byte limit readers accept", p,
                      json.size(), static_cast<unsigned long long>(kMaxHeaderBytes));

  AtomicFile out;
  ET_RETURN_IF_ERROR(out.open(path));
  const uint64_t header_len = json.size();
  ET_RETURN_IF_ERROR(out.write(&header_len, 8));
  ET_RETURN_IF_ERROR(out.write(json));

  constexpr uint64_t kChunk = 1 << 20;  // converted elements per write, to bound extra memory
  std::vector<uint16_t> half;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorToWrite& t = *sorted[i];
    if (t.dtype == DType::F32) {
      ET_RETURN_IF_ERROR(out.write(t.data, numels[i] * sizeof(float)));
      continue;
    }
    for (uint64_t start = 0; start < numels[i]; start += kChunk) {
      const int64_t count = static_cast<int64_t>(std::min(kChunk, numels[i] - start));
      half.resize(count);
      const float* src = t.data + start;
      if (t.dtype == DType::F16) {
#pragma omp parallel for if (count >= kParallelMinElements)
        for (int64_t j = 0; j < count; ++j) half[j] = f32_to_f16(src[j]);
      } else {
#pragma omp parallel for if (count >= kParallelMinElements)
        for (int64_t j = 0; j < count; ++j) half[j] = f32_to_bf16(src[j]);
      }
      ET_RETURN_IF_ERROR(out.write(half.data(), count * sizeof(uint16_t)));
    }
  }
  return out.commit();
}

}  // namespace embtune
