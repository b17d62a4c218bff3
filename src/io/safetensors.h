// safetensors reading (memory-mapped, validated) and writing (atomic), single files and shards.
// Not a model loader: it knows tensors, dtypes and bytes, not what the tensors mean.
//
// Format (https://huggingface.co/docs/safetensors): 8-byte little-endian header length N, N bytes
// of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the data buffer; offsets are relative to the start of the buffer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/status.h"

namespace embtune {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType t);              // "F32", ...
bool dtype_from_name(const std::string& s, DType* out);
// Weight storage as the --dtype / --save-dtype flags spell it: "f16", "bf16", else F32.
DType storage_dtype_from_flag(const std::string& flag);
size_t dtype_size(DType t);

// A tensor inside a mapped file. `data` stays valid while the owning file is open.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const;
};

// One .safetensors file, mapped read-only. open() validates the whole header: its length
// against the file size, JSON syntax, known dtypes, shape x dtype size == byte length, offsets
// inside the data buffer, and no two tensors overlapping. Like the Rust safetensors crate, it also
// requires the tensors, in offset order, to cover the data buffer exactly (no gaps, no trailing
// bytes), so every file accepted here loads in Python too. Errors name the file and the tensor.
class SafetensorsFile {
 public:
  Status open(const std::string& path);
  const std::string& path() const { return file_.path(); }
  // In the order of their data in the file.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;  // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MappedFile file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model: either one `model.safetensors` or the shards listed by
// `model.safetensors.index.json` ({"weight_map": {name: shard file}}). Every name in the index
// must exist in the shard it points to.
class SafetensorsSet {
 public:
  // `path` is a .safetensors file, an index .json file, or a directory holding either.
  Status open(const std::string& path);
  const TensorView* find(const std::string& name) const;
  std::vector<const TensorView*> all() const;
  // The file a tensor came from, for error messages.
  std::string file_of(const std::string& name) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorView*>> by_name_;
};

// Converts a F32, F16 or BF16 tensor to fp32 into `out` (numel floats). Other dtypes are an error.
Status tensor_to_f32(const TensorView& t, float* out);

// A tensor to write: fp32 source data, stored as `dtype` (F32, F16 or BF16).
struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
  DType dtype = DType::F32;
};

// Writes a safetensors file atomically, tensors sorted by name, header padded with spaces to a
// multiple of 8 bytes (as the safetensors library does).
Status safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace embtune
