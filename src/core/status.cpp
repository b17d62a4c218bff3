// Status construction and the invariant-failure abort.
// Not a logging facility: messages are returned to callers, who decide how to print them.
#include "core/status.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace embtune {

Status Status::wrap(const std::string& context) const {
  if (ok()) return *this;
  return Status(context + ": " + message_);
}

Status make_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::vector<char> buf(n > 0 ? n + 1 : 2);
  std::vsnprintf(buf.data(), buf.size(), fmt, ap2);
  va_end(ap2);
  std::string m(buf.data());
  if (m.empty()) m = "unknown error";
  return Status(std::move(m));
}

void check_fail(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "embtune: internal error at %s:%d: check failed: %s\n", file, line, expr);
  std::abort();
}

}  // namespace embtune
