// A progress bar with rate and ETA on stderr for long work (redrawn in place on a terminal,
// a line every 10 s otherwise). Not a logger; silent when disabled.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace embtune {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit, bool enabled);
  ~Progress();
  void update(int64_t done);
  // Text shown after the rate and ETA (e.g. "epoch 1.25, loss 0.4312"), from the next draw on.
  void set_status(std::string status) { status_ = std::move(status); }
  // Prints the final line (total, elapsed time, rate) once.
  void finish();

 private:
  void draw(bool final_line);
  std::string label_, unit_, status_;
  int64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1:02:03" / "2:03" for a number of seconds.
std::string format_duration(double seconds);

}  // namespace embtune
