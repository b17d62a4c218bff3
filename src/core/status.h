// Two tiers of errors: Status for user input and I/O (names the file, the record, a hint), and
// ET_CHECK for broken internal invariants (aborts with file:line). Not an exception hierarchy.
#pragma once

#include <cstdarg>
#include <string>

namespace embtune {

// The result of an operation that can fail because of its input. An empty message means success.
// Messages read as "<file>: <record>: <what is wrong> (<hint>)"; callers prepend context with wrap().
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok_status() { return Status(); }
  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }
  // Returns a copy whose message starts with `context: `.
  Status wrap(const std::string& context) const;

  friend Status make_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

 private:
  explicit Status(std::string m) : message_(std::move(m)) {}
  std::string message_;
};

// printf-style error constructor; the message must not be empty.
Status make_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void check_fail(const char* file, int line, const char* expr);

}  // namespace embtune

#define ET_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::embtune::Status et_status_ = (expr);       \
    if (!et_status_.ok()) return et_status_;     \
  } while (0)

// Invariants of the program (not of user input): abort with file:line when broken.
#define ET_CHECK(cond) \
  ((cond) ? (void)0 : ::embtune::check_fail(__FILE__, __LINE__, #cond))
