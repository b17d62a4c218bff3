// Progress bar rendering and throttling.
// Not thread-safe: call update() from the thread that owns the loop.
#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace embtune {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e8) return "?";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled), tty_(isatty(2) != 0) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done) {
  done_ = done;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (done_ >= total_ || since < (tty_ ? 0.1 : 10.0)) return;  // finish() draws the last line
  last_draw_ = now;
  draw(false);
}

void Progress::finish() {
  if (finished_ || !enabled_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final_line) {
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = el > 0 ? done_ / el : 0;
  double frac = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  const int width = 30;
  int fill = static_cast<int>(frac * width);
  std::string bar(fill, '#');
  bar.append(width - fill, ' ');
  std::string eta = final_line ? "took " + format_duration(el)
                               : "ETA " + (rate > 0 ? format_duration((total_ - done_) / rate) : std::string("?"));
  const std::string status = status_.empty() ? "" : ", " + status_;
  std::fprintf(stderr, "%s%s [%s] %3.0f%% %lld/%lld %s, %.2f %s/s, %s%s%s", tty_ ? "\r" : "", label_.c_str(),
               bar.c_str(), frac * 100, (long long)done_, (long long)total_, unit_.c_str(), rate, unit_.c_str(),
               eta.c_str(), status.c_str(), (tty_ && !final_line) ? "\x1b[K" : "\n");
  std::fflush(stderr);
}

}  // namespace embtune
