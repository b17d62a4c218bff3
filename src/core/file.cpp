// Memory-mapped input files, line-by-line text input and atomic output files.
// Not a parser: callers validate what they read.
#include "core/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/strings.h"
#include "core/utf8.h"

namespace embtune {

MappedFile::~MappedFile() { reset(); }

MappedFile::MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    path_ = std::move(o.path_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

void MappedFile::reset() {
  if (data_ && size_) munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

Status MappedFile::open(const std::string& path) {
  reset();
  path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("%s: cannot open: %s", path.c_str(), std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return make_error("%s: cannot stat: %s", path.c_str(), std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("%s: not a regular file", path.c_str());
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) {
    ::close(fd);
    return Status::ok_status();
  }
  void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) {
    size_ = 0;
    return make_error("%s: cannot map: %s", path.c_str(), std::strerror(e));
  }
  data_ = static_cast<const uint8_t*>(p);
  return Status::ok_status();
}

Status read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("%s: cannot open: %s", path.c_str(), std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error("%s: read error", path.c_str());
  *out = ss.str();
  return Status::ok_status();
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

std::string temp_path_beside(const std::string& path) {
  return path + ".tmp." + std::to_string(getpid()) + "." +
         std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()) % 1000000007);
}

Status AtomicFile::open(const std::string& path) {
  path_ = path;
  tmp_ = temp_path_beside(path);
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) return make_error("%s: cannot create: %s", tmp_.c_str(), std::strerror(errno));
  return Status::ok_status();
}

Status AtomicFile::write(const void* data, size_t n) {
  ET_CHECK(f_ != nullptr);
  if (n && std::fwrite(data, 1, n, f_) != n)
    return make_error("%s: write failed: %s", tmp_.c_str(), std::strerror(errno));
  return Status::ok_status();
}

Status AtomicFile::commit() {
  ET_CHECK(f_ != nullptr);
  bool ok = std::fflush(f_) == 0;
  ok = (std::fclose(f_) == 0) && ok;
  f_ = nullptr;
  if (!ok) {
    std::remove(tmp_.c_str());
    return make_error("%s: write failed: %s", path_.c_str(), std::strerror(errno));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int e = errno;
    std::remove(tmp_.c_str());
    return make_error("%s: cannot rename into place: %s", path_.c_str(), std::strerror(e));
  }
  return Status::ok_status();
}

Status for_each_text_line(const std::string& path, const std::function<Status(size_t, std::string_view)>& line_fn) {
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  size_t line = 0;
  for (size_t pos = 0; pos < data.size();) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string_view text(data.data() + pos, nl - pos);
    pos = nl + 1;
    line++;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (is_blank(text)) continue;
    size_t bad = 0;
    if (!utf8_valid(text, &bad)) return make_error("%s: line %zu: invalid UTF-8 at byte %zu", path.c_str(), line, bad + 1);
    ET_RETURN_IF_ERROR(line_fn(line, text));
  }
  return Status::ok_status();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool dir_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string path_join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

}  // namespace embtune
