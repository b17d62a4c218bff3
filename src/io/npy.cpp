// .npy version 1.0 writer and a reader for the arrays it writes.
// Not for pickled object arrays, Fortran order or big-endian data (refused on read).
#include "io/npy.h"

#include <cstring>
#include <regex>

#include "core/file.h"

namespace embtune {

Status npy_write_f32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces and ended by a
  // newline so the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string pre = "\x93NUMPY";
  pre += '\x01';
  pre += '\x00';
  uint16_t hl = static_cast<uint16_t>(header.size());
  pre += static_cast<char>(hl & 0xff);
  pre += static_cast<char>(hl >> 8);
  AtomicFile f;
  ET_RETURN_IF_ERROR(f.open(path));
  ET_RETURN_IF_ERROR(f.write(pre + header));
  ET_RETURN_IF_ERROR(f.write(data, static_cast<size_t>(rows * cols) * sizeof(float)));
  return f.commit();
}

Status npy_read_f32(const std::string& path, std::vector<float>* data, int64_t* rows, int64_t* cols) {
  MappedFile m;
  ET_RETURN_IF_ERROR(m.open(path));
  const uint8_t* p = m.data();
  if (m.size() < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) return make_error("%s: not a .npy file", path.c_str());
  size_t hl = p[8] | (p[9] << 8), off = 10;
  if (p[6] >= 2) {
    if (m.size() < 12) return make_error("%s: truncated .npy header", path.c_str());
    hl = p[8] | (p[9] << 8) | (p[10] << 16) | (static_cast<size_t>(p[11]) << 24);
    off = 12;
  }
  if (off + hl > m.size()) return make_error("%s: truncated .npy header", path.c_str());
  std::string header(reinterpret_cast<const char*>(p + off), hl);
  std::smatch sm;
  if (header.find("'<f4'") == std::string::npos)
    return make_error("%s: dtype must be little-endian float32 ('<f4')", path.c_str());
  if (header.find("'fortran_order': False") == std::string::npos)
    return make_error("%s: Fortran-order arrays are not supported", path.c_str());
  if (!std::regex_search(header, sm, std::regex(R"('shape':\s*\((\d+),\s*(\d+),?\s*\))")))
    return make_error("%s: expected a 2-D array", path.c_str());
  *rows = std::stoll(sm[1]);
  *cols = std::stoll(sm[2]);
  size_t need = static_cast<size_t>(*rows * *cols) * 4;
  if (m.size() - off - hl != need)
    return make_error("%s: data size %zu does not match shape (%lld, %lld)", path.c_str(), m.size() - off - hl,
                      (long long)*rows, (long long)*cols);
  data->resize(static_cast<size_t>(*rows * *cols));
  std::memcpy(data->data(), p + off + hl, need);
  return Status::ok_status();
}

}  // namespace embtune
