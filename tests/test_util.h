// Helpers shared by the test executables: where the shared data and references are, temporary
// directories, running the embtune binary and reference scripts. Not a test framework.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace embtune::test {

// `<repo>/../shared` (EMBTUNE_SHARED_DIR), or "" when absent. Under CI=true an absent shared
// directory fails the calling test (GTEST_FAIL) instead of letting it skip.
std::string shared_dir();
// True when shared data is missing and the test should skip; records a failure under CI=true.
bool skip_without_shared();
std::string source_dir();
std::string embtune_bin();
std::string torch_python();   // /usr/bin/python3 (Debian's, with torch)
std::string node_path();      // NODE_PATH for the tokenizer peer
// "NODE_PATH=... node": the prefix of a command that runs a script with the npm peer.
std::string node_command();
std::string torch_reference();  // <shared>/reference/torch_bert.py

// True when the test should skip because the shared data, Debian's torch (skip_without_torch)
// or node with the npm tokenizers peer (skip_without_peer) is missing; under CI=true a missing
// piece also records a failure.
bool skip_without_torch();
bool skip_without_peer();

// torch_bert.py embed: the reference embeddings of the token ids in `ids_json` ([[ids], ...]).
std::vector<std::vector<float>> torch_embed(const std::string& model_dir, const std::string& ids_json,
                                            const std::string& pooling, bool normalize, const std::string& out_json);

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};
// Runs `cmd` through /bin/sh, capturing stdout and stderr.
CommandResult run_command(const std::string& cmd);
// Shell-quotes one argument.
std::string sh_quote(const std::string& s);

// Central difference of `loss` with respect to x[i]. The divisor is the step actually taken in
// fp32, so rounding x ± eps does not bias the quotient.
double central_difference(std::vector<float>& x, size_t i, double eps, const std::function<double()>& loss);

// Row offsets (cu_seqlens) of packed sequences of the given lengths: {0, l0, l0 + l1, …}.
std::vector<int32_t> offsets(const std::vector<int32_t>& lengths);

// n values drawn from normal(0, scale).
std::vector<float> random_normal(size_t n, std::mt19937& rng, float scale = 1.0f);

// `embtune init --config tiny` at `dir` with a WordPiece vocabulary of the special tokens, `words`,
// digits and single letters (plain and ## continuations): a model of ~0.5 M parameters whose
// training steps take milliseconds. Returns the init command's output; "" on success.
std::string make_tiny_word_model(const std::string& dir, const std::vector<std::string>& words);

// The last line of a command's output that starts with "{", parsed: a --json command's result.
nlohmann::json last_json_line(const std::string& out);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& content);

}  // namespace embtune::test
