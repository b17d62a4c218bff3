// GGUF (ggml's model file format, v3) reading, validated and memory-mapped, and atomic writing:
// metadata key/values of every type, tensor infos, F32/F16/BF16/Q8_0 tensor data.
// Not a model loader or exporter: it knows keys, tensors and bytes (model/gguf_model.h maps BERT).
//
// Layout (ggml docs/gguf.md), all little-endian:
//   "GGUF" magic, u32 version (3), u64 tensor_count, u64 kv_count,
//   kv_count x { string key, u32 value type, value }     string = u64 length + UTF-8 bytes
//   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset }
//   padding to general.alignment (default 32), then the tensor data; each offset is relative to
//   the start of the data and a multiple of the alignment. ne[0] is the fastest-varying dimension,
//   so a PyTorch (out, in) matrix has ne = {in, out}.
//
//   GgufFile f;  ET_RETURN_IF_ERROR(f.open("model.gguf"));
//   const GgufValue* arch = f.find_kv("general.architecture");      // arch->str
//   std::vector<float> w;  ET_RETURN_IF_ERROR(f.tensor_f32(*f.find_tensor("token_embd.weight"), &w));
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/status.h"

namespace embtune {

// Metadata value types (gguf_type in ggml's gguf.h).
enum class GgufType : uint32_t {
  Uint8 = 0, Int8 = 1, Uint16 = 2, Int16 = 3, Uint32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
  String = 8, Array = 9, Uint64 = 10, Int64 = 11, Float64 = 12
};
const char* gguf_type_name(GgufType t);

// Tensor data types embtune reads and writes (ggml_type values in ggml.h).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };
const char* ggml_type_name(GgmlType t);
// Bytes of `n` elements (n a multiple of 32 for Q8_0: blocks of an fp16 scale + 32 int8).
size_t ggml_type_nbytes(GgmlType t, int64_t n);

// One metadata value. Scalars use the field of their kind (u: unsigned, i: signed, f: float,
// b: bool, str: string); an Array keeps its element type and elements (no nested arrays).
struct GgufValue {
  GgufType type = GgufType::Uint32;
  GgufType array_type = GgufType::Uint8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0.0;
  bool b = false;
  std::string str;
  std::vector<GgufValue> array;

  static GgufValue of(GgufType t);  // a zero value of type t
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue strings(const std::vector<std::string>& v);
  static GgufValue i32s(const std::vector<int32_t>& v);
  bool is_integer() const;
  // The value as an integer, for any integer type (bool excluded).
  int64_t as_int() const { return type == GgufType::Uint8 || type == GgufType::Uint16 || type == GgufType::Uint32 ||
                                          type == GgufType::Uint64 ? static_cast<int64_t>(u) : i; }
  bool operator==(const GgufValue& o) const;
};

struct GgufKV {
  std::string key;
  GgufValue value;
};

// A tensor inside a mapped file; `data` stays valid while the GgufFile is open.
struct GgufTensor {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] fastest
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;      // relative to the data section
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const;
};

// A GGUF file, mapped read-only. open() validates everything before returning: magic, version
// (2 or 3), every length and count against the file size, value types, duplicate keys and tensor
// names, general.alignment, tensor types (F32, F16, BF16, Q8_0), dims, offsets aligned and inside
// the file, tensors not overlapping. Errors name the file and the key or tensor at fault.
class GgufFile {
 public:
  Status open(const std::string& path);
  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::vector<GgufKV>& kvs() const { return kvs_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufValue* find_kv(const std::string& key) const;      // nullptr if absent
  const GgufTensor* find_tensor(const std::string& name) const;  // nullptr if absent
  // The tensor's values as fp32 (numel floats), dequantized from F16, BF16 or Q8_0.
  Status tensor_f32(const GgufTensor& t, std::vector<float>* out) const;

 private:
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::vector<GgufKV> kvs_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> kv_index_, tensor_index_;
};

// A tensor to write: fp32 source values stored as `type`.
struct GgufTensorToWrite {
  std::string name;
  std::vector<int64_t> ne;  // ggml order
  GgmlType type = GgmlType::F32;
  const float* data = nullptr;
};

// Writes a GGUF v3 file atomically (a temporary beside `path`, renamed at the end), tensors in the
// given order, each tensor's data padded to `alignment` (general.alignment is written only when it
// is not the default 32). Q8_0 needs ne[0] % 32 == 0 (an error otherwise).
Status gguf_write(const std::string& path, const std::vector<GgufKV>& kvs, const std::vector<GgufTensorToWrite>& tensors,
                  uint32_t alignment = 32);

// Q8_0 as ggml's quantize_row_q8_0_ref: per block of 32, d = max|x| / 127 stored as fp16,
// q = roundf(x / d) (round half away from zero), 0 when d is 0. n must be a multiple of 32;
// out holds n / 32 * 34 bytes.
void quantize_q8_0(const float* x, int64_t n, uint8_t* out);
void dequantize_q8_0(const uint8_t* in, int64_t n, float* out);

}  // namespace embtune
