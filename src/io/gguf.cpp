// GGUF reading (bounds-checked parse of a mapped file) and writing (atomic), plus Q8_0 blocks.
// Not a model mapping: tensor and key names mean nothing here (see model/gguf_model.cpp).
#include "io/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"

namespace embtune {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int64_t kQ8Block = 32;
constexpr size_t kQ8BlockBytes = 2 + kQ8Block;

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::Uint8: case GgufType::Int8: case GgufType::Bool: return 1;
    case GgufType::Uint16: case GgufType::Int16: return 2;
    case GgufType::Uint32: case GgufType::Int32: case GgufType::Float32: return 4;
    case GgufType::Uint64: case GgufType::Int64: case GgufType::Float64: return 8;
    default: return 0;
  }
}

bool known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::Float64); }

bool known_ggml_type(uint32_t t) {
  return t == static_cast<uint32_t>(GgmlType::F32) || t == static_cast<uint32_t>(GgmlType::F16) ||
         t == static_cast<uint32_t>(GgmlType::Q8_0) || t == static_cast<uint32_t>(GgmlType::BF16);
}

// Names of ggml types embtune does not read, for the error message.
const char* other_ggml_type_name(uint32_t t) {
  static const char* const kNames[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2 (removed)", "Q4_3 (removed)", "Q5_0",
                                       "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K",
                                       "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
                                       "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
  return t < sizeof(kNames) / sizeof(kNames[0]) ? kNames[t] : "unknown";
}

// A cursor over the mapped bytes; every read checks the remaining length.
class Reader {
 public:
  Reader(const std::string& path, const uint8_t* p, size_t n) : path_(path), p_(p), n_(n) {}
  size_t pos() const { return pos_; }

  Status bytes(size_t n, const uint8_t** out, const char* what) {
    if (n > n_ - pos_)
      return make_error("%s: truncated: %s needs %zu bytes at byte %zu but the file has %zu", path_.c_str(), what, n,
                        pos_, n_);
    *out = p_ + pos_;
    pos_ += n;
    return Status::ok_status();
  }
  template <typename T>
  Status pod(T* out, const char* what) {
    const uint8_t* b = nullptr;
    ET_RETURN_IF_ERROR(bytes(sizeof(T), &b, what));
    std::memcpy(out, b, sizeof(T));
    return Status::ok_status();
  }
  Status string(std::string* out, const char* what) {
    uint64_t len;
    ET_RETURN_IF_ERROR(pod(&len, what));
    const uint8_t* b = nullptr;
    ET_RETURN_IF_ERROR(bytes(len, &b, what));
    out->assign(reinterpret_cast<const char*>(b), len);
    return Status::ok_status();
  }

 private:
  const std::string& path_;
  const uint8_t* p_;
  size_t n_, pos_ = 0;
};

Status read_scalar(Reader& r, GgufType t, GgufValue* v, const char* what) {
  v->type = t;
  switch (t) {
    case GgufType::Uint8: { uint8_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->u = x; break; }
    case GgufType::Int8: { int8_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->i = x; break; }
    case GgufType::Uint16: { uint16_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->u = x; break; }
    case GgufType::Int16: { int16_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->i = x; break; }
    case GgufType::Uint32: { uint32_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->u = x; break; }
    case GgufType::Int32: { int32_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->i = x; break; }
    case GgufType::Uint64: { uint64_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->u = x; break; }
    case GgufType::Int64: { int64_t x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->i = x; break; }
    case GgufType::Float32: { float x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->f = x; break; }
    case GgufType::Float64: { double x; ET_RETURN_IF_ERROR(r.pod(&x, what)); v->f = x; break; }
    case GgufType::Bool: {
      uint8_t x;
      ET_RETURN_IF_ERROR(r.pod(&x, what));
      v->b = x != 0;
      break;
    }
    case GgufType::String: return r.string(&v->str, what);
    case GgufType::Array: ET_CHECK(false);
  }
  return Status::ok_status();
}

void put_bytes(std::string* out, const void* p, size_t n) { out->append(static_cast<const char*>(p), n); }
template <typename T>
void put(std::string* out, T v) { put_bytes(out, &v, sizeof(T)); }
void put_string(std::string* out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out->append(s);
}

void put_scalar(std::string* out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::Uint8: put<uint8_t>(out, static_cast<uint8_t>(v.u)); break;
    case GgufType::Int8: put<int8_t>(out, static_cast<int8_t>(v.i)); break;
    case GgufType::Uint16: put<uint16_t>(out, static_cast<uint16_t>(v.u)); break;
    case GgufType::Int16: put<int16_t>(out, static_cast<int16_t>(v.i)); break;
    case GgufType::Uint32: put<uint32_t>(out, static_cast<uint32_t>(v.u)); break;
    case GgufType::Int32: put<int32_t>(out, static_cast<int32_t>(v.i)); break;
    case GgufType::Uint64: put<uint64_t>(out, v.u); break;
    case GgufType::Int64: put<int64_t>(out, v.i); break;
    case GgufType::Float32: put<float>(out, static_cast<float>(v.f)); break;
    case GgufType::Float64: put<double>(out, v.f); break;
    case GgufType::Bool: put<uint8_t>(out, v.b ? 1 : 0); break;
    case GgufType::String: put_string(out, v.str); break;
    case GgufType::Array: ET_CHECK(false);
  }
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* const kNames[] = {"UINT8", "INT8",   "UINT16", "INT16",  "UINT32", "INT32", "FLOAT32",
                                       "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64",  "FLOAT64"};
  return known_type(static_cast<uint32_t>(t)) ? kNames[static_cast<uint32_t>(t)] : "unknown";
}

const char* ggml_type_name(GgmlType t) { return other_ggml_type_name(static_cast<uint32_t>(t)); }

size_t ggml_type_nbytes(GgmlType t, int64_t n) {
  switch (t) {
    case GgmlType::F32: return static_cast<size_t>(n) * 4;
    case GgmlType::F16: case GgmlType::BF16: return static_cast<size_t>(n) * 2;
    case GgmlType::Q8_0: return static_cast<size_t>(n / kQ8Block) * kQ8BlockBytes;
  }
  return 0;
}

GgufValue GgufValue::of(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}
GgufValue GgufValue::u32(uint32_t x) { GgufValue v = of(GgufType::Uint32); v.u = x; return v; }
GgufValue GgufValue::i32(int32_t x) { GgufValue v = of(GgufType::Int32); v.i = x; return v; }
GgufValue GgufValue::f32(float x) { GgufValue v = of(GgufType::Float32); v.f = x; return v; }
GgufValue GgufValue::boolean(bool x) { GgufValue v = of(GgufType::Bool); v.b = x; return v; }
GgufValue GgufValue::string(std::string x) { GgufValue v = of(GgufType::String); v.str = std::move(x); return v; }
GgufValue GgufValue::strings(const std::vector<std::string>& xs) {
  GgufValue v = of(GgufType::Array);
  v.array_type = GgufType::String;
  for (const auto& x : xs) v.array.push_back(string(x));
  return v;
}
GgufValue GgufValue::i32s(const std::vector<int32_t>& xs) {
  GgufValue v = of(GgufType::Array);
  v.array_type = GgufType::Int32;
  for (int32_t x : xs) v.array.push_back(i32(x));
  return v;
}

bool GgufValue::is_integer() const {
  return type == GgufType::Uint8 || type == GgufType::Int8 || type == GgufType::Uint16 || type == GgufType::Int16 ||
         type == GgufType::Uint32 || type == GgufType::Int32 || type == GgufType::Uint64 || type == GgufType::Int64;
}

bool GgufValue::operator==(const GgufValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case GgufType::Array: return array_type == o.array_type && array == o.array;
    case GgufType::String: return str == o.str;
    case GgufType::Bool: return b == o.b;
    case GgufType::Float32: case GgufType::Float64: return f == o.f;
    default: return u == o.u && i == o.i;
  }
}

int64_t GgufTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

Status GgufFile::open(const std::string& path) {
  ET_RETURN_IF_ERROR(file_.open(path));
  kvs_.clear();
  tensors_.clear();
  kv_index_.clear();
  tensor_index_.clear();
  alignment_ = 32;
  Reader r(path, file_.data(), file_.size());
  uint32_t magic;
  ET_RETURN_IF_ERROR(r.pod(&magic, "the magic"));
  if (magic != kMagic)
    return make_error("%s: not a GGUF file (the first 4 bytes are 0x%08x, expected \"GGUF\")", path.c_str(), magic);
  ET_RETURN_IF_ERROR(r.pod(&version_, "the version"));
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xffff) == 0 && version_ != 0)
      return make_error("%s: GGUF version 0x%08x looks big-endian; embtune reads little-endian GGUF v2 and v3",
                        path.c_str(), version_);
    return make_error("%s: GGUF version %u is not supported (embtune reads v2 and v3)", path.c_str(), version_);
  }
  uint64_t n_tensors, n_kv;
  ET_RETURN_IF_ERROR(r.pod(&n_tensors, "the tensor count"));
  ET_RETURN_IF_ERROR(r.pod(&n_kv, "the key/value count"));
  // Each key/value takes at least 12 bytes and each tensor info 24: bound the counts before reserving.
  if (n_kv > file_.size() / 12 || n_tensors > file_.size() / 24)
    return make_error("%s: truncated or corrupt: the header claims %llu keys and %llu tensors in %zu bytes",
                      path.c_str(), (unsigned long long)n_kv, (unsigned long long)n_tensors, file_.size());

  for (uint64_t k = 0; k < n_kv; k++) {
    GgufKV kv;
    ET_RETURN_IF_ERROR(r.string(&kv.key, "a metadata key"));
    const std::string what = "the value of \"" + kv.key + "\"";
    uint32_t t;
    ET_RETURN_IF_ERROR(r.pod(&t, what.c_str()));
    if (!known_type(t))
      return make_error("%s: metadata \"%s\" has unknown value type %u", path.c_str(), kv.key.c_str(), t);
    if (static_cast<GgufType>(t) == GgufType::Array) {
      uint32_t et;
      uint64_t n;
      ET_RETURN_IF_ERROR(r.pod(&et, what.c_str()));
      ET_RETURN_IF_ERROR(r.pod(&n, what.c_str()));
      if (!known_type(et) || static_cast<GgufType>(et) == GgufType::Array)
        return make_error("%s: metadata \"%s\" is an array of unsupported element type %u", path.c_str(),
                          kv.key.c_str(), et);
      const size_t min_size = static_cast<GgufType>(et) == GgufType::String ? 8 : scalar_size(static_cast<GgufType>(et));
      if (n > (file_.size() - r.pos()) / min_size)
        return make_error("%s: truncated: metadata \"%s\" claims %llu elements past the end of the file", path.c_str(),
                          kv.key.c_str(), (unsigned long long)n);
      kv.value.type = GgufType::Array;
      kv.value.array_type = static_cast<GgufType>(et);
      kv.value.array.resize(n);
      for (uint64_t i = 0; i < n; i++)
        ET_RETURN_IF_ERROR(read_scalar(r, kv.value.array_type, &kv.value.array[i], what.c_str()));
    } else {
      ET_RETURN_IF_ERROR(read_scalar(r, static_cast<GgufType>(t), &kv.value, what.c_str()));
    }
    if (kv_index_.count(kv.key)) return make_error("%s: metadata key \"%s\" appears twice", path.c_str(), kv.key.c_str());
    kv_index_[kv.key] = kvs_.size();
    kvs_.push_back(std::move(kv));
  }
  if (const GgufValue* a = find_kv("general.alignment")) {
    if (a->type != GgufType::Uint32 || a->u == 0 || (a->u & (a->u - 1)) != 0)
      return make_error("%s: general.alignment must be a UINT32 power of two (got %s %llu)", path.c_str(),
                        gguf_type_name(a->type), (unsigned long long)a->as_int());
    alignment_ = a->u;
  }

  for (uint64_t k = 0; k < n_tensors; k++) {
    GgufTensor t;
    ET_RETURN_IF_ERROR(r.string(&t.name, "a tensor name"));
    const std::string what = "the info of tensor \"" + t.name + "\"";
    uint32_t n_dims, type;
    ET_RETURN_IF_ERROR(r.pod(&n_dims, what.c_str()));
    if (n_dims == 0 || n_dims > 4)
      return make_error("%s: tensor \"%s\" has %u dimensions (GGUF allows 1 to 4)", path.c_str(), t.name.c_str(), n_dims);
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
      uint64_t ne;
      ET_RETURN_IF_ERROR(r.pod(&ne, what.c_str()));
      if (ne == 0 || ne > (1ull << 40) || static_cast<uint64_t>(numel) * ne > (1ull << 40))
        return make_error("%s: tensor \"%s\" has an invalid dimension %llu", path.c_str(), t.name.c_str(),
                          (unsigned long long)ne);
      numel *= static_cast<int64_t>(ne);
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    ET_RETURN_IF_ERROR(r.pod(&type, what.c_str()));
    if (!known_ggml_type(type))
      return make_error("%s: tensor \"%s\" has ggml type %u (%s), which embtune cannot read (it reads F32, F16, BF16 "
                        "and Q8_0)", path.c_str(), t.name.c_str(), type, other_ggml_type_name(type));
    t.type = static_cast<GgmlType>(type);
    if (t.type == GgmlType::Q8_0 && t.ne[0] % kQ8Block != 0)
      return make_error("%s: tensor \"%s\" is Q8_0 but its first dimension %lld is not a multiple of 32", path.c_str(),
                        t.name.c_str(), (long long)t.ne[0]);
    ET_RETURN_IF_ERROR(r.pod(&t.offset, what.c_str()));
    if (t.offset % alignment_ != 0)
      return make_error("%s: tensor \"%s\" starts at data offset %llu, not a multiple of the alignment %llu",
                        path.c_str(), t.name.c_str(), (unsigned long long)t.offset, (unsigned long long)alignment_);
    t.nbytes = ggml_type_nbytes(t.type, numel);
    if (tensor_index_.count(t.name)) return make_error("%s: tensor \"%s\" appears twice", path.c_str(), t.name.c_str());
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  const uint64_t data_start = align_up(r.pos(), alignment_);
  std::vector<const GgufTensor*> by_offset;
  for (GgufTensor& t : tensors_) {
    if (data_start > file_.size() || t.offset > file_.size() - data_start || t.nbytes > file_.size() - data_start - t.offset)
      return make_error("%s: truncated: tensor \"%s\" (%zu bytes at data offset %llu) runs past the end of the file "
                        "(%zu bytes)", path.c_str(), t.name.c_str(), t.nbytes, (unsigned long long)t.offset, file_.size());
    t.data = file_.data() + data_start + t.offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); i++)
    if (by_offset[i - 1]->offset + by_offset[i - 1]->nbytes > by_offset[i]->offset)
      return make_error("%s: tensors \"%s\" and \"%s\" overlap", path.c_str(), by_offset[i - 1]->name.c_str(),
                        by_offset[i]->name.c_str());
  return Status::ok_status();
}

const GgufValue* GgufFile::find_kv(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Status GgufFile::tensor_f32(const GgufTensor& t, std::vector<float>* out) const {
  const int64_t n = t.numel();
  out->resize(static_cast<size_t>(n));
  float* o = out->data();
  switch (t.type) {
    case GgmlType::F32: std::memcpy(o, t.data, n * sizeof(float)); break;
    case GgmlType::F16:
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        o[i] = t.type == GgmlType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    case GgmlType::Q8_0: dequantize_q8_0(t.data, n, o); break;
  }
  for (int64_t i = 0; i < n; i++)
    if (!std::isfinite(o[i]))
      return make_error("%s: tensor \"%s\" holds a non-finite value at element %lld", path().c_str(), t.name.c_str(),
                        (long long)i);
  return Status::ok_status();
}

void quantize_q8_0(const float* x, int64_t n, uint8_t* out) {
  ET_CHECK(n % kQ8Block == 0);
  for (int64_t b = 0; b < n / kQ8Block; b++) {
    const float* xb = x + b * kQ8Block;
    uint8_t* ob = out + b * kQ8BlockBytes;
    float amax = 0.0f;
    for (int64_t j = 0; j < kQ8Block; j++) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(ob, &dh, 2);
    for (int64_t j = 0; j < kQ8Block; j++) ob[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(xb[j] * id)));
  }
}

void dequantize_q8_0(const uint8_t* in, int64_t n, float* out) {
  ET_CHECK(n % kQ8Block == 0);
  for (int64_t b = 0; b < n / kQ8Block; b++) {
    const uint8_t* ib = in + b * kQ8BlockBytes;
    uint16_t dh;
    std::memcpy(&dh, ib, 2);
    const float d = f16_to_f32(dh);
    for (int64_t j = 0; j < kQ8Block; j++) out[b * kQ8Block + j] = d * static_cast<float>(static_cast<int8_t>(ib[2 + j]));
  }
}

Status gguf_write(const std::string& path, const std::vector<GgufKV>& kvs, const std::vector<GgufTensorToWrite>& tensors,
                  uint32_t alignment) {
  ET_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0);
  std::vector<GgufKV> all = kvs;
  if (alignment != 32) all.push_back({"general.alignment", GgufValue::u32(alignment)});
  std::string head;
  put<uint32_t>(&head, kMagic);
  put<uint32_t>(&head, 3);
  put<uint64_t>(&head, tensors.size());
  put<uint64_t>(&head, all.size());
  for (const GgufKV& kv : all) {
    put_string(&head, kv.key);
    put<uint32_t>(&head, static_cast<uint32_t>(kv.value.type));
    if (kv.value.type == GgufType::Array) {
      put<uint32_t>(&head, static_cast<uint32_t>(kv.value.array_type));
      put<uint64_t>(&head, kv.value.array.size());
      for (const GgufValue& e : kv.value.array) {
        ET_CHECK(e.type == kv.value.array_type);
        put_scalar(&head, e);
      }
    } else {
      put_scalar(&head, kv.value);
    }
  }
  std::vector<uint64_t> offsets;
  uint64_t off = 0;
  for (const GgufTensorToWrite& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    if (t.type == GgmlType::Q8_0 && t.ne[0] % kQ8Block != 0)
      return make_error("%s: tensor \"%s\": Q8_0 needs a first dimension divisible by 32 (it is %lld)", path.c_str(),
                        t.name.c_str(), (long long)t.ne[0]);
    put_string(&head, t.name);
    put<uint32_t>(&head, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put<uint64_t>(&head, static_cast<uint64_t>(d));
    put<uint32_t>(&head, static_cast<uint32_t>(t.type));
    put<uint64_t>(&head, off);
    offsets.push_back(off);
    off = align_up(off + ggml_type_nbytes(t.type, n), alignment);
  }
  head.resize(align_up(head.size(), alignment), '\0');

  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  ET_RETURN_IF_ERROR(f.write(head));
  std::string buf;
  for (const GgufTensorToWrite& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    buf.assign(ggml_type_nbytes(t.type, n), '\0');
    auto* o = reinterpret_cast<uint8_t*>(buf.data());
    switch (t.type) {
      case GgmlType::F32: std::memcpy(o, t.data, n * sizeof(float)); break;
      case GgmlType::F16:
      case GgmlType::BF16:
        for (int64_t i = 0; i < n; i++) {
          const uint16_t h = t.type == GgmlType::F16 ? f32_to_f16(t.data[i]) : f32_to_bf16(t.data[i]);
          std::memcpy(o + 2 * i, &h, 2);
        }
        break;
      case GgmlType::Q8_0: quantize_q8_0(t.data, n, o); break;
    }
    buf.resize(align_up(buf.size(), alignment), '\0');
    ET_RETURN_IF_ERROR(f.write(buf));
  }
  return f.commit();
}

}  // namespace embtune
