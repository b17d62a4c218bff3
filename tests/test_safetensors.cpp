// Tests of the safetensors reader and writer: round trips, files from other writers, shards, and
// corrupt headers. Not a test of model loading; numpy (Debian's python3) is the independent peer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/half.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace embtune {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A file whose header is `header` verbatim (no padding), followed by `buffer_bytes` bytes.
std::string raw_file(const std::string& header, size_t buffer_bytes) {
  std::string s(8, '\0');
  uint64_t n = header.size();
  std::memcpy(s.data(), &n, 8);
  return s + header + std::string(buffer_bytes, '\x01');
}

std::vector<float> read_f32(const TensorView& t) {
  std::vector<float> out(t.numel());
  Status st = tensor_to_f32(t, out.data());
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

std::vector<uint16_t> raw_u16(const TensorView& t) {
  std::vector<uint16_t> out(t.nbytes / 2);
  std::memcpy(out.data(), t.data, t.nbytes);
  return out;
}

// Runs an inline Python script with numpy; skips the test when that interpreter is missing.
bool run_python(const std::string& script, const std::string& args, std::string* out) {
  test::CommandResult probe = test::run_command(test::torch_python() + " -c 'import numpy'");
  if (probe.exit_code != 0) return false;
  test::CommandResult r =
      test::run_command(test::torch_python() + " -c " + test::sh_quote(script) + " " + args);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  *out = r.out;
  return true;
}

TEST(Safetensors, DTypeNamesAndSizes) {
  const std::pair<const char*, size_t> expected[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  for (const auto& [name, size] : expected) {
    DType t;
    ASSERT_TRUE(dtype_from_name(name, &t)) << name;
    EXPECT_STREQ(dtype_name(t), name);
    EXPECT_EQ(dtype_size(t), size) << name;
  }
  DType t;
  EXPECT_FALSE(dtype_from_name("f32", &t));
  EXPECT_FALSE(dtype_from_name("Q4_0", &t));
}

TEST(Safetensors, RoundTripF32WithLayoutAndMetadata) {
  test::TempDir dir;
  const std::string path = dir.file("model.safetensors");
  std::vector<float> a = {1.f, -2.f, 3.5f, 1e-30f, -0.f, 7.f};  // (2, 3)
  std::vector<float> b = {42.f};                                // () scalar
  std::vector<TensorToWrite> in = {
      {"b.scalar", {}, b.data(), DType::F32},
      {"a.weight", {2, 3}, a.data(), DType::F32},
      {"c.empty", {0, 3}, nullptr, DType::F32},
  };
  Status st = safetensors_write(path, in, {{"format", "pt"}});
  ASSERT_TRUE(st.ok()) << st.message();

  // Byte layout as the Rust writer produces it: compact JSON, metadata first, names in data
  // order, header padded with spaces to a multiple of 8.
  std::string bytes = test::read_text(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(' ') + 1),
            "{\"__metadata__\":{\"format\":\"pt\"},"
            "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            "\"b.scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[24,28]},"
            "\"c.empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[28,28]}}");
  EXPECT_EQ(bytes.size(), 8 + n + 28);
  EXPECT_EQ(test::run_command("ls -A " + test::sh_quote(dir.path())).out, "model.safetensors\n");

  SafetensorsFile f;
  st = f.open(path);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(f.tensors().size(), 3u);
  const TensorView* ta = f.find("a.weight");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->dtype, DType::F32);
  EXPECT_EQ(ta->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ta->numel(), 6);
  std::vector<float> ra = read_f32(*ta);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(bits_of(ra[i]), bits_of(a[i])) << i;
  const TensorView* tb = f.find("b.scalar");
  ASSERT_NE(tb, nullptr);
  EXPECT_TRUE(tb->shape.empty());
  EXPECT_EQ(tb->numel(), 1);
  EXPECT_EQ(read_f32(*tb)[0], 42.f);
  const TensorView* tc = f.find("c.empty");
  ASSERT_NE(tc, nullptr);
  EXPECT_EQ(tc->numel(), 0);
  EXPECT_EQ(tc->nbytes, 0u);
  EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(Safetensors, NoMetadataMeansNoMetadataKey) {
  test::TempDir dir;
  const std::string path = dir.file("m.safetensors");
  float x = 1.f;
  ASSERT_TRUE(safetensors_write(path, {{"x", {1}, &x, DType::F32}}).ok());
  EXPECT_EQ(test::read_text(path).find("__metadata__"), std::string::npos);
  SafetensorsFile f;
  ASSERT_TRUE(f.open(path).ok());
  EXPECT_TRUE(f.metadata().empty());
}

// Values that exercise every rounding path of the 16-bit formats.
std::vector<float> rounding_probe_values() {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {
      0.f,
      -0.f,
      1.f,
      -1.f,
      inf,
      -inf,
      std::numeric_limits<float>::quiet_NaN(),
      1.f + 0x1p-11f,             // F16 tie: rounds to even (1.0)
      1.f + 3 * 0x1p-11f,         // F16 tie: rounds to even (1 + 2^-9)
      1.f + 0x1p-11f + 0x1p-20f,  // F16 just above the tie: rounds up
      1.f + 0x1p-8f,              // BF16 tie: rounds to even (1.0)
      1.f + 3 * 0x1p-8f,          // BF16 tie: rounds to even (1 + 2^-6)
      1.f + 0x1p-8f + 0x1p-20f,   // BF16 just above the tie: rounds up
      65504.f,
      65519.f,
      65520.f,  // F16 max, still max, overflow to inf
      0x1p-14f,
      0x1p-14f - 0x1p-24f,
      0x1p-24f,  // F16 min normal, max and min subnormal
      0x1p-25f,
      3 * 0x1p-25f,
      1e-10f,                                 // F16 subnormal ties, underflow to 0
      std::numeric_limits<float>::max(),      // BF16 rounds to inf
      std::numeric_limits<float>::min() / 2,  // float subnormal
      float_of(0x00008000u),
      float_of(0x00018000u),  // BF16 subnormal ties
      3.14159265f,
      -2.7182818f,
      1e-3f,
      12345.678f,
  };
  uint32_t s = 12345;  // deterministic spread of magnitudes and signs
  for (int i = 0; i < 200; ++i) {
    s = s * 1664525u + 1013904223u;
    v.push_back(float_of((s & 0x807fffffu) | (((s >> 23) % 60 + 100) << 23)));
  }
  return v;
}

TEST(Safetensors, RoundTripF16MatchesConverterAndKnownBits) {
  test::TempDir dir;
  const std::string path = dir.file("h.safetensors");
  std::vector<float> v = rounding_probe_values();
  ASSERT_TRUE(safetensors_write(path, {{"h", {int64_t(v.size())}, v.data(), DType::F16}}).ok());
  SafetensorsFile f;
  ASSERT_TRUE(f.open(path).ok());
  const TensorView* t = f.find("h");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::F16);
  EXPECT_EQ(t->nbytes, v.size() * 2);
  std::vector<uint16_t> bits = raw_u16(*t);
  std::vector<float> back = read_f32(*t);
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(bits[i], f32_to_f16(v[i])) << i;
    EXPECT_EQ(bits_of(back[i]), bits_of(f16_to_f32(bits[i]))) << i;
  }
  EXPECT_EQ(bits[0], 0x0000);
  EXPECT_EQ(bits[1], 0x8000);
  EXPECT_EQ(bits[4], 0x7c00);
  EXPECT_EQ(bits[5], 0xfc00);
  EXPECT_TRUE(std::isnan(back[6]));
  EXPECT_EQ(bits[7], 0x3c00);
  EXPECT_EQ(bits[8], 0x3c02);
  EXPECT_EQ(bits[9], 0x3c01);
  EXPECT_EQ(bits[13], 0x7bff);
  EXPECT_EQ(bits[14], 0x7bff);
  EXPECT_EQ(bits[15], 0x7c00);
  EXPECT_EQ(bits[16], 0x0400);
  EXPECT_EQ(bits[17], 0x03ff);
  EXPECT_EQ(bits[18], 0x0001);
  EXPECT_EQ(bits[19], 0x0000);
  EXPECT_EQ(bits[20], 0x0002);
  EXPECT_EQ(bits[21], 0x0000);
  EXPECT_EQ(back[17], 0x1p-14f - 0x1p-24f);
  EXPECT_EQ(back[18], 0x1p-24f);
}

TEST(Safetensors, RoundTripBF16MatchesConverterAndKnownBits) {
  test::TempDir dir;
  const std::string path = dir.file("b.safetensors");
  std::vector<float> v = rounding_probe_values();
  ASSERT_TRUE(safetensors_write(path, {{"b", {int64_t(v.size())}, v.data(), DType::BF16}}).ok());
  SafetensorsFile f;
  ASSERT_TRUE(f.open(path).ok());
  const TensorView* t = f.find("b");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::BF16);
  std::vector<uint16_t> bits = raw_u16(*t);
  std::vector<float> back = read_f32(*t);
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(bits[i], f32_to_bf16(v[i])) << i;
    EXPECT_EQ(bits_of(back[i]), uint32_t(bits[i]) << 16) << i;
  }
  EXPECT_EQ(bits[1], 0x8000);
  EXPECT_EQ(bits[4], 0x7f80);
  EXPECT_EQ(bits[5], 0xff80);
  EXPECT_TRUE(std::isnan(back[6]));
  EXPECT_EQ(bits[10], 0x3f80);
  EXPECT_EQ(bits[11], 0x3f82);
  EXPECT_EQ(bits[12], 0x3f81);
  EXPECT_EQ(bits[22], 0x7f80);
  EXPECT_EQ(bits[23], 0x0040);
  EXPECT_EQ(bits[24], 0x0000);
  EXPECT_EQ(bits[25], 0x0002);
}

// A large tensor takes the OpenMP paths of both the writer and tensor_to_f32.
TEST(Safetensors, LargeHalfTensorsRoundTrip) {
  test::TempDir dir;
  const std::string path = dir.file("big.safetensors");
  std::vector<float> v(300001);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.001f * i) * 100.f;
  ASSERT_TRUE(safetensors_write(path, {{"f16", {int64_t(v.size())}, v.data(), DType::F16},
                                       {"bf16", {int64_t(v.size())}, v.data(), DType::BF16}})
                  .ok());
  SafetensorsFile f;
  ASSERT_TRUE(f.open(path).ok());
  std::vector<float> h = read_f32(*f.find("f16"));
  std::vector<float> b = read_f32(*f.find("bf16"));
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(h[i], f16_to_f32(f32_to_f16(v[i]))) << i;
    ASSERT_EQ(b[i], bf16_to_f32(f32_to_bf16(v[i]))) << i;
  }
}

// numpy reads what we write: header, coverage, and F16 rounding identical to numpy's own cast.
TEST(Safetensors, NumpyReadsOurFile) {
  test::TempDir dir;
  const std::string path = dir.file("ours.safetensors");
  std::vector<float> v = rounding_probe_values();
  const int64_t n = v.size();
  ASSERT_TRUE(safetensors_write(path,
                                {{"ref", {n}, v.data(), DType::F32},
                                 {"half", {n}, v.data(), DType::F16},
                                 {"brain", {n}, v.data(), DType::BF16}},
                                {{"format", "pt"}})
                  .ok());
  const char* script = R"PY(
import sys, json, struct, numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
assert n % 8 == 0
h = json.loads(b[8:8 + n].decode('utf-8'))
meta = h.pop('__metadata__', None)
pos = 0
for (s, e), k in sorted((v['data_offsets'], k) for k, v in h.items()):
    assert s == pos, k
    pos = e
assert 8 + n + pos == len(b)
buf = b[8 + n:]
def arr(k, dt):
    s, e = h[k]['data_offsets']
    return np.frombuffer(buf[s:e], dtype=dt)
ref = arr('ref', '<f4')
f16 = arr('half', '<u2')
bf = arr('brain', '<u2')
print('meta', json.dumps(meta, separators=(',', ':')))
with np.errstate(over='ignore'):
    print('f16_mismatch', int(np.sum(f16 != ref.astype(np.float16).view('<u2'))))
# BF16 keeps the top 16 bits of the float; the nearest of the two neighbours wins, ties to even.
u = ref.view('<u4').astype(np.int64)
low, top = u & 0xffff, u >> 16
nearest = np.where(low > 0x8000, top + 1, np.where(low < 0x8000, top, top + (top & 1)))
num = ~np.isnan(ref)
print('bf16_mismatch', int(np.sum(bf[num] != nearest[num])))
print('bf16_nan', int(np.all(np.isnan((bf[~num].astype('<u4') << 16).view('<f4')))))
print('shape', h['ref']['shape'][0])
)PY";
  std::string out;
  if (!run_python(script, test::sh_quote(path), &out)) GTEST_SKIP() << "no python3 with numpy";
  EXPECT_NE(out.find("meta {\"format\":\"pt\"}"), std::string::npos) << out;
  EXPECT_NE(out.find("f16_mismatch 0"), std::string::npos) << out;
  EXPECT_NE(out.find("shape " + std::to_string(n)), std::string::npos) << out;
  EXPECT_NE(out.find("bf16_mismatch 0"), std::string::npos) << out;
  EXPECT_NE(out.find("bf16_nan 1"), std::string::npos) << out;
}

// A file laid out the way the Rust writer does (by alignment, then name), written by numpy.
TEST(Safetensors, ReadsFileWrittenByNumpy) {
  test::TempDir dir;
  const std::string path = dir.file("np.safetensors");
  const char* script = R"PY(
import sys, json, struct, numpy as np
ts = {
    'w.f64': np.array([[1.5, -2.25], [1e300, -0.0]], dtype='<f8'),
    'w.f32': np.arange(6, dtype='<f4').reshape(2, 3) * np.float32(0.5),
    'w.f16': np.array([1.0, -2.5, 65504.0, 6e-8, np.inf, 1 / 3], dtype='<f2'),
    'w.i64': np.array([-1, 2 ** 40], dtype='<i8'),
    'w.u8': np.array([1, 2, 3], dtype='u1'),
    'w.bool': np.array([True, False], dtype='?'),
    'scalar': np.array(7.0, dtype='<f4'),
}
names = {'<f8': 'F64', '<f4': 'F32', '<f2': 'F16', '<i8': 'I64', '|u1': 'U8', '|b1': 'BOOL'}
header = {'__metadata__': {'format': 'pt'}}
off, blobs = 0, []
for k in sorted(ts, key=lambda k: (-ts[k].dtype.itemsize, k)):
    raw = ts[k].tobytes()
    header[k] = {'dtype': names[ts[k].dtype.str], 'shape': list(ts[k].shape),
                 'data_offsets': [off, off + len(raw)]}
    off += len(raw)
    blobs.append(raw)
hb = json.dumps(header, separators=(',', ':')).encode()
hb += b' ' * ((8 - len(hb) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(hb)) + hb + b''.join(blobs))
print(' '.join(repr(float(x)) for x in ts['w.f16'].astype(np.float32)))
)PY";
  std::string out;
  if (!run_python(script, test::sh_quote(path), &out)) GTEST_SKIP() << "no python3 with numpy";

  SafetensorsFile f;
  Status st = f.open(path);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(f.tensors().size(), 7u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  // tensors() follows the data: 8-byte types first.
  EXPECT_EQ(f.tensors()[0].name, "w.f64");
  EXPECT_EQ(f.tensors()[1].name, "w.i64");

  const TensorView* f16 = f.find("w.f16");
  ASSERT_NE(f16, nullptr);
  std::vector<float> got = read_f32(*f16);
  std::istringstream numpy_values(out);
  for (size_t i = 0; i < got.size(); ++i) {
    std::string tok;
    ASSERT_TRUE(numpy_values >> tok) << out;
    EXPECT_EQ(got[i], static_cast<float>(std::strtod(tok.c_str(), nullptr))) << i << " " << tok;
  }
  EXPECT_EQ(got[3], 0x1p-24f);  // numpy rounds 6e-8 to the smallest subnormal

  std::vector<float> f32 = read_f32(*f.find("w.f32"));
  EXPECT_EQ(f32, (std::vector<float>{0.f, .5f, 1.f, 1.5f, 2.f, 2.5f}));
  EXPECT_EQ(f.find("w.f32")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(read_f32(*f.find("scalar")), std::vector<float>{7.f});

  const TensorView* i64 = f.find("w.i64");
  ASSERT_NE(i64, nullptr);
  int64_t ints[2];
  std::memcpy(ints, i64->data, sizeof ints);
  EXPECT_EQ(ints[0], -1);
  EXPECT_EQ(ints[1], int64_t(1) << 40);
  EXPECT_EQ(f.find("w.bool")->dtype, DType::BOOL);
  EXPECT_EQ(f.find("w.u8")->data[2], 3);

  std::vector<float> sink(2);
  Status bad = tensor_to_f32(*i64, sink.data());
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("'w.i64'"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("I64"), std::string::npos) << bad.message();
}

// An F32 tensor after a 3-byte one starts unaligned in the mapping; reading must not care.
TEST(Safetensors, UnalignedF32Data) {
  test::TempDir dir;
  const std::string path = dir.file("unaligned.safetensors");
  std::string header =
      "{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]}}";
  std::string bytes = raw_file(header, 0);
  const float vals[2] = {1.25f, -3.5f};
  bytes += std::string("\x07\x08\x09", 3) + std::string(reinterpret_cast<const char*>(vals), 8);
  test::write_text(path, bytes);
  SafetensorsFile f;
  Status st = f.open(path);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(read_f32(*f.find("b")), (std::vector<float>{1.25f, -3.5f}));
}

TEST(Safetensors, RealFileFromSafetensorsLibrary) {
  if (test::skip_without_shared()) GTEST_SKIP() << "shared data missing";
  const std::string model_dir = test::shared_dir() + "/data/weights/model2vec-test-model-float32";
  const std::string path = model_dir + "/model.safetensors";
  SafetensorsFile f;
  Status st = f.open(path);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(f.tensors().size(), 1u);
  const TensorView* t = f.find("embeddings");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::F32);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{29528, 2}));
  EXPECT_TRUE(f.metadata().empty());
  std::vector<float> v = read_f32(*t);
  double sum = 0;
  for (float x : v) sum += x;

  const char* script = R"PY(
import sys, json, struct, numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
s, e = json.loads(b[8:8 + n])['embeddings']['data_offsets']
a = np.frombuffer(b[8 + n + s:8 + n + e], dtype='<f4')
print(len(a), repr(float(a.astype(np.float64).sum())),
      ' '.join(repr(float(x)) for x in a[:4]), repr(float(a[-1])))
)PY";
  std::string out;
  if (!run_python(script, test::sh_quote(path), &out)) GTEST_SKIP() << "no python3 with numpy";
  std::istringstream in(out);
  size_t count;
  double np_sum;
  ASSERT_TRUE(in >> count >> np_sum) << out;
  EXPECT_EQ(count, v.size());
  EXPECT_NEAR(sum, np_sum, 1e-9 * std::max(1.0, std::fabs(np_sum)));
  for (size_t i : {size_t(0), size_t(1), size_t(2), size_t(3), v.size() - 1}) {
    std::string tok;
    ASSERT_TRUE(in >> tok) << out;
    EXPECT_EQ(v[i], static_cast<float>(std::strtod(tok.c_str(), nullptr))) << i;
  }

  SafetensorsSet set;
  st = set.open(model_dir);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_NE(set.find("embeddings"), nullptr);
  EXPECT_EQ(set.file_of("embeddings"), path);
}

struct ShardedModel {
  std::vector<float> a{1, 2, 3, 4}, b{5, 6}, c{7, 8, 9};
  void write(const test::TempDir& dir) {
    ASSERT_TRUE(
        safetensors_write(dir.file("model-00001-of-00002.safetensors"),
                          {{"a", {2, 2}, a.data(), DType::F32}, {"b", {2}, b.data(), DType::BF16}})
            .ok());
    ASSERT_TRUE(safetensors_write(dir.file("model-00002-of-00002.safetensors"),
                                  {{"c", {3}, c.data(), DType::F16}})
                    .ok());
    test::write_text(dir.file("model.safetensors.index.json"), R"({
  "metadata": {"total_size": 26},
  "weight_map": {"a": "model-00001-of-00002.safetensors",
                 "b": "model-00001-of-00002.safetensors",
                 "c": "model-00002-of-00002.safetensors"}
})");
  }
};

TEST(Safetensors, ShardedIndexThroughFileAndDirectory) {
  test::TempDir dir;
  ShardedModel m;
  m.write(dir);
  for (const std::string& path : {dir.file("model.safetensors.index.json"), dir.path()}) {
    SCOPED_TRACE(path);
    SafetensorsSet set;
    Status st = set.open(path);
    ASSERT_TRUE(st.ok()) << st.message();
    std::vector<const TensorView*> all = set.all();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0]->name, "a");
    EXPECT_EQ(all[1]->name, "b");
    EXPECT_EQ(all[2]->name, "c");
    EXPECT_EQ(read_f32(*set.find("a")), m.a);
    EXPECT_EQ(read_f32(*set.find("b")), m.b);
    EXPECT_EQ(read_f32(*set.find("c")), m.c);
    EXPECT_EQ(set.file_of("c"), dir.file("model-00002-of-00002.safetensors"));
    EXPECT_EQ(set.find("zzz"), nullptr);
    EXPECT_EQ(set.file_of("zzz"), "");
  }
}

TEST(Safetensors, SingleFileSetAndDirectoryPreference) {
  test::TempDir dir;
  float x = 3.f;
  ASSERT_TRUE(safetensors_write(dir.file("model.safetensors"), {{"x", {1}, &x, DType::F32}}).ok());
  test::write_text(dir.file("model.safetensors.index.json"), "not even json");
  SafetensorsSet set;
  Status st = set.open(dir.path());  // the single file wins, as in transformers
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(read_f32(*set.find("x")), std::vector<float>{3.f});
  st = set.open(dir.file("model.safetensors"));
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(set.all().size(), 1u);
}

void expect_error(const Status& st, const std::vector<std::string>& parts) {
  ASSERT_FALSE(st.ok());
  for (const std::string& p : parts)
    EXPECT_NE(st.message().find(p), std::string::npos) << "'" << p << "' not in: " << st.message();
}

TEST(Safetensors, ShardErrors) {
  {
    test::TempDir dir;
    SafetensorsSet set;
    expect_error(set.open(dir.path()), {dir.path(), "model.safetensors.index.json"});
  }
  {
    test::TempDir dir;
    ShardedModel m;
    m.write(dir);
    std::remove(dir.file("model-00002-of-00002.safetensors").c_str());
    SafetensorsSet set;
    expect_error(set.open(dir.path()), {"model.safetensors.index.json",
                                        "model-00002-of-00002.safetensors", "cannot open"});
  }
  {
    test::TempDir dir;
    ShardedModel m;
    m.write(dir);
    test::write_text(dir.file("model.safetensors.index.json"),
                     R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                        "d": "model-00001-of-00002.safetensors"}})");
    SafetensorsSet set;
    expect_error(set.open(dir.path()), {"model.safetensors.index.json", "'d'",
                                        "model-00001-of-00002.safetensors", "does not contain"});
  }
  {
    test::TempDir dir;
    ShardedModel m;
    m.write(dir);
    ASSERT_TRUE(
        safetensors_write(dir.file("model-00002-of-00002.safetensors"),
                          {{"a", {3}, m.c.data(), DType::F32}, {"c", {3}, m.c.data(), DType::F32}})
            .ok());
    SafetensorsSet set;
    expect_error(set.open(dir.path()), {"'a'", "two shards", "model-00001-of-00002.safetensors",
                                        "model-00002-of-00002.safetensors"});
  }
  for (const char* index : {"[1]", "{\"weight_map\": {}}", "{\"weight_map\": {\"a\": 3}}", "{"}) {
    SCOPED_TRACE(index);
    test::TempDir dir;
    test::write_text(dir.file("model.safetensors.index.json"), index);
    SafetensorsSet set;
    expect_error(set.open(dir.path()), {"model.safetensors.index.json"});
  }
}

TEST(Safetensors, AcceptsEdgeCasesTheRustCrateAccepts) {
  struct Case {
    const char* name;
    std::string header;
    size_t buffer_bytes;
    size_t tensors;
  };
  const Case cases[] = {
      {"empty_header", "{}", 0, 0},
      {"padded_and_spaced",
       "  { \"t\" : {\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]} }    ", 2, 1},
      {"zero_size_between",
       "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
       "\"z\":{\"dtype\":\"F32\",\"shape\":[4,0],\"data_offsets\":[4,4]},"
       "\"b\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[4,6]}}",
       6, 3},
      {"null_metadata", "{\"__metadata__\":null}", 0, 0},
      {"extra_field_ignored",
       "{\"t\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1],\"note\":1}}", 1, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    test::TempDir dir;
    const std::string path = dir.file(std::string(c.name) + ".safetensors");
    test::write_text(path, raw_file(c.header, c.buffer_bytes));
    SafetensorsFile f;
    Status st = f.open(path);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(f.tensors().size(), c.tensors);
  }
}

TEST(Safetensors, CorruptFilesAreErrorsNamingFileAndTensor) {
  struct Case {
    const char* name;
    std::string bytes;
    std::vector<std::string> expected;  // besides the file name
  };
  auto tensor = [](const char* name, const char* dtype, const char* shape, const char* offsets) {
    return std::string("\"") + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":" + offsets + "}";
  };
  std::string huge_len(8, '\0');
  const uint64_t too_big = 100'000'001;
  std::memcpy(huge_len.data(), &too_big, 8);
  std::string past_end(8, '\0');
  past_end[0] = 100;
  past_end += "{}";

  const std::vector<Case> cases = {
      {"empty", "", {"empty"}},
      {"short", "\x05\x00\x00", {"too short"}},
      {"seven_bytes", std::string(7, '\0'), {"too short"}},
      {"header_past_end", past_end, {"runs past the end of the file"}},
      {"header_too_large", huge_len + "{}", {"exceeds"}},
      {"header_max_u64", std::string(8, '\xff'), {"exceeds"}},
      {"not_json", raw_file("{\"a\": nope}", 0), {"not valid UTF-8 JSON"}},
      {"nul_padding", raw_file(std::string("{}") + std::string(6, '\0'), 0), {"NUL"}},
      {"nul_then_garbage", raw_file(std::string("{}\0garbage", 10), 0), {"NUL"}},
      {"byte_order_mark", raw_file("\xEF\xBB\xBF{}", 0), {"byte-order mark"}},
      {"bad_utf8_name", raw_file("{\"\xff\xfe\":{}}", 0), {"JSON"}},
      {"json_array", raw_file("[1, 2]", 0), {"not a JSON object"}},
      {"json_string", raw_file("\"hello\"", 0), {"not a JSON object"}},
      {"entry_not_object", raw_file("{\"w\": 3}", 0), {"'w'", "not a JSON object"}},
      {"missing_dtype",
       raw_file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
       {"'w'", "dtype"}},
      {"unknown_dtype",
       raw_file("{" + tensor("w", "Q4", "[1]", "[0,4]") + "}", 4),
       {"'w'", "unknown dtype 'Q4'"}},
      {"shape_not_list",
       raw_file("{" + tensor("w", "F32", "4", "[0,16]") + "}", 16),
       {"'w'", "\"shape\""}},
      {"negative_dim",
       raw_file("{" + tensor("w", "F32", "[2,-2]", "[0,16]") + "}", 16),
       {"'w'", "dimension 1 is -2"}},
      {"float_dim",
       raw_file("{" + tensor("w", "F32", "[2.5]", "[0,10]") + "}", 10),
       {"'w'", "dimension 0"}},
      {"string_dim",
       raw_file("{" + tensor("w", "F32", "[\"2\"]", "[0,8]") + "}", 8),
       {"'w'", "dimension 0"}},
      {"offsets_one_value",
       raw_file("{" + tensor("w", "F32", "[1]", "[4]") + "}", 4),
       {"'w'", "data_offsets"}},
      {"offsets_negative",
       raw_file("{" + tensor("w", "F32", "[1]", "[-4,0]") + "}", 4),
       {"'w'", "data_offsets"}},
      {"offsets_missing",
       raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4),
       {"'w'", "data_offsets"}},
      {"offsets_out_of_range",
       raw_file("{" + tensor("w", "F32", "[250]", "[0,1000]") + "}", 16),
       {"'w'", "[0, 1000]", "past the end of the data buffer (16 bytes)"}},
      {"offsets_reversed",
       raw_file("{" + tensor("w", "F32", "[4]", "[16,0]") + "}", 16),
       {"'w'", "[16, 0]", "end before they begin"}},
      {"overlap",
       raw_file("{" + tensor("a", "F32", "[4]", "[0,16]") + "," +
                    tensor("b", "F32", "[4]", "[8,24]") + "}",
                24),
       {"'b'", "overlap", "'a'"}},
      {"same_range_twice",
       raw_file("{" + tensor("a", "F32", "[4]", "[0,16]") + "," +
                    tensor("b", "F32", "[4]", "[0,16]") + "}",
                16),
       {"'b'", "overlap", "'a'"}},
      {"gap",
       raw_file("{" + tensor("a", "F32", "[2]", "[0,8]") + "," +
                    tensor("b", "F32", "[2]", "[16,24]") + "}",
                24),
       {"'b'", "gap of 8 bytes", "'a'"}},
      {"gap_at_start",
       raw_file("{" + tensor("a", "F32", "[2]", "[8,16]") + "}", 16),
       {"'a'", "gap", "start"}},
      {"trailing_bytes",
       raw_file("{" + tensor("a", "F32", "[4]", "[0,16]") + "}", 20),
       {"'a'", "4 trailing bytes"}},
      {"data_without_tensors", raw_file("{}", 8), {"8 trailing bytes"}},
      {"size_mismatch",
       raw_file("{" + tensor("w", "F32", "[2,3]", "[0,16]") + "}", 16),
       {"tensor 'w': data_offsets [0, 16] do not match shape [2, 3] x F32 = 24 bytes"}},
      {"shape_overflow",
       raw_file("{" + tensor("w", "F32", "[4611686018427387904,8]", "[0,8]") + "}", 8),
       {"'w'", "overflow"}},
      {"dim_beyond_int64",
       raw_file("{" + tensor("w", "F32", "[0,18446744073709551615]", "[0,0]") + "}", 0),
       {"'w'", "dimension 1"}},
      {"metadata_not_object", raw_file("{\"__metadata__\":[1]}", 0), {"__metadata__"}},
      {"metadata_value_not_string",
       raw_file("{\"__metadata__\":{\"format\":1}}", 0),
       {"__metadata__", "'format'", "not a string"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    test::TempDir dir;
    const std::string file_name = std::string(c.name) + ".safetensors";
    const std::string path = dir.file(file_name);
    test::write_text(path, c.bytes);
    SafetensorsFile f;
    Status st = f.open(path);
    std::vector<std::string> parts = c.expected;
    parts.push_back(file_name);
    expect_error(st, parts);
    EXPECT_TRUE(f.tensors().empty());
    SafetensorsSet set;  // the same error surfaces through the set
    expect_error(set.open(path), {file_name});
  }
}

TEST(Safetensors, MissingFileAndDirectoryAreErrors) {
  test::TempDir dir;
  SafetensorsFile f;
  expect_error(f.open(dir.file("nope.safetensors")), {"nope.safetensors", "cannot open"});
  expect_error(f.open(dir.path()), {dir.path()});
}

TEST(Safetensors, ReopenAfterErrorForgetsOldTensors) {
  test::TempDir dir;
  float x = 1.f;
  ASSERT_TRUE(safetensors_write(dir.file("ok.safetensors"), {{"x", {1}, &x, DType::F32}}).ok());
  test::write_text(dir.file("bad.safetensors"), "garbage!garbage!");
  SafetensorsFile f;
  ASSERT_TRUE(f.open(dir.file("ok.safetensors")).ok());
  ASSERT_NE(f.find("x"), nullptr);
  EXPECT_FALSE(f.open(dir.file("bad.safetensors")).ok());
  EXPECT_EQ(f.find("x"), nullptr);
  EXPECT_TRUE(f.tensors().empty());
}

TEST(Safetensors, WriteErrorsLeaveNoOutput) {
  test::TempDir dir;
  const std::string path = dir.file("out.safetensors");
  test::write_text(path, "previous");
  float x[2] = {1.f, 2.f};
  struct Case {
    const char* name;
    std::vector<TensorToWrite> tensors;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"int_dtype", {{"t", {2}, x, DType::I32}}, {"'t'", "I32"}},
      {"duplicate", {{"t", {1}, x, DType::F32}, {"t", {1}, x, DType::F32}}, {"'t'", "twice"}},
      {"negative_dim", {{"t", {-1, 2}, x, DType::F32}}, {"'t'", "negative"}},
      {"no_data", {{"t", {2}, nullptr, DType::F32}}, {"'t'", "no data"}},
      {"empty_name", {{"", {1}, x, DType::F32}}, {"invalid tensor name"}},
      {"metadata_name", {{"__metadata__", {1}, x, DType::F32}}, {"invalid tensor name"}},
      {"bad_utf8_name", {{"\xff", {1}, x, DType::F32}}, {"UTF-8"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_error(safetensors_write(path, c.tensors), c.expected);
    EXPECT_EQ(test::read_text(path), "previous");
  }
  expect_error(
      safetensors_write(dir.file("no/such/dir/x.safetensors"), {{"t", {1}, x, DType::F32}}),
      {"no/such/dir"});
  test::CommandResult ls = test::run_command("ls -A " + test::sh_quote(dir.path()));
  EXPECT_EQ(ls.out, "out.safetensors\n");
}

}  // namespace
}  // namespace embtune
