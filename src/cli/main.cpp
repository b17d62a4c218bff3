// embtune command-line entry point: parses the subcommand and dispatches.
// Not where work happens: each command lives in its own cmd_*.cpp and calls the library.
#include <cstdio>

int main(int argc, char** argv) {
  std::fprintf(stderr, "embtune: no commands yet\n");
  return 2;
}
