// Read-only memory-mapped files, the non-blank UTF-8 lines of text files, atomic output files.
// Not a general I/O layer: parsers take the mapped bytes and do their own bounds checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace embtune {

// A whole file mapped read-only. Movable, not copyable; unmaps on destruction.
class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  Status open(const std::string& path);
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void reset();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole (small) file into a string.
Status read_file(const std::string& path, std::string* out);

// A temporary name beside `path` for write-then-rename, unique per process and thread:
// `path.tmp.<pid>.<thread>`.
std::string temp_path_beside(const std::string& path);

// Writes `path` atomically: the content goes to temp_path_beside(path) and is renamed on commit().
// If destroyed without commit() (an error on the way), the temporary is removed and `path` is
// left untouched, so a failed command leaves no partial output.
class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status open(const std::string& path);
  Status write(const void* data, size_t n);
  Status write(const std::string& s) { return write(s.data(), s.size()); }
  Status commit();

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

// Calls line_fn(line number from 1, text) for every non-blank line of the file, "\r\n" endings
// trimmed; stops at the first error line_fn returns. A line of invalid UTF-8 is an error naming
// the file, the line and the byte.
Status for_each_text_line(const std::string& path, const std::function<Status(size_t, std::string_view)>& line_fn);

bool file_exists(const std::string& path);
bool dir_exists(const std::string& path);
std::string path_join(const std::string& a, const std::string& b);

}  // namespace embtune
