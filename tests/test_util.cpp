// Implementation of the shared test helpers (paths, temp dirs, subprocesses).
// Not used by the library or the CLI.
#include "test_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace embtune::test {

static std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string shared_dir() {
  std::string d = env_or("EMBTUNE_SHARED_DIR", EMBTUNE_SHARED_DIR);
  struct stat st;
  if (!d.empty() && stat(d.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return d;
  return "";
}

bool skip_without_shared() {
  if (!shared_dir().empty()) return false;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    ADD_FAILURE() << "shared data directory (../shared) is missing under CI=true";
  }
  return true;
}

std::string source_dir() { return env_or("EMBTUNE_SOURCE_DIR", EMBTUNE_SOURCE_DIR); }
std::string embtune_bin() { return env_or("EMBTUNE_BIN", EMBTUNE_BIN); }
std::string torch_python() { return env_or("EMBTUNE_TORCH_PYTHON", EMBTUNE_TORCH_PYTHON); }
std::string node_path() { return env_or("EMBTUNE_NODE_PATH", EMBTUNE_NODE_PATH); }

std::string node_command() { return "NODE_PATH=" + sh_quote(node_path()) + " node"; }
std::string torch_reference() { return shared_dir() + "/reference/torch_bert.py"; }

static bool skip_because(bool missing, const std::string& what) {
  if (!missing) return false;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") ADD_FAILURE() << what << " is missing under CI=true (scripts/setup.sh installs it)";
  return true;
}

bool skip_without_torch() {
  if (skip_without_shared()) return true;
  return skip_because(run_command(torch_python() + " -c 'import torch, numpy'").exit_code != 0,
                      "Debian's python3-torch");
}

bool skip_without_peer() {
  if (skip_without_shared()) return true;
  return skip_because(run_command(node_command() + " -e \"require('tokenizers')\"").exit_code != 0,
                      "node with the npm tokenizers peer");
}

std::vector<std::vector<float>> torch_embed(const std::string& model_dir, const std::string& ids_json,
                                            const std::string& pooling, bool normalize, const std::string& out_json) {
  CommandResult r = run_command(torch_python() + " " + sh_quote(torch_reference()) + " embed " + sh_quote(model_dir) + " " +
                                sh_quote(ids_json) + " " + sh_quote(out_json) + " --pooling " + pooling +
                                (normalize ? "" : " --no-normalize"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  if (r.exit_code != 0) return {};
  return nlohmann::json::parse(read_text(out_json)).get<std::vector<std::vector<float>>>();
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "embtune-test-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* p = mkdtemp(buf.data());
  if (!p) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  std::string full = "(" + cmd + ") 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return r;
}

std::string sh_quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) {
    if (c == '\'') o += "'\\''";
    else o += c;
  }
  return o + "'";
}

std::vector<float> random_normal(size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string make_tiny_word_model(const std::string& dir, const std::vector<std::string>& words) {
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const std::string& w : words) vocab += w + "\n";
  for (char c = 'a'; c <= 'z'; c++) vocab += std::string(1, c) + "\n##" + std::string(1, c) + "\n";
  for (char c = '0'; c <= '9'; c++) vocab += std::string(1, c) + "\n##" + std::string(1, c) + "\n";
  run_command("mkdir -p " + sh_quote(dir + "-vocab"));
  write_text(dir + "-vocab/vocab.txt", vocab);
  CommandResult r = run_command(sh_quote(embtune_bin()) + " init --config tiny --tokenizer " + sh_quote(dir + "-vocab/vocab.txt") +
                                " --out " + sh_quote(dir) + " --quiet");
  return r.exit_code == 0 ? "" : r.out;
}

double central_difference(std::vector<float>& x, size_t i, double eps, const std::function<double()>& loss) {
  const float saved = x[i];
  const float plus = static_cast<float>(saved + eps), minus = static_cast<float>(saved - eps);
  x[i] = plus;
  const double l_plus = loss();
  x[i] = minus;
  const double l_minus = loss();
  x[i] = saved;
  return (l_plus - l_minus) / (static_cast<double>(plus) - minus);
}

std::vector<int32_t> offsets(const std::vector<int32_t>& lengths) {
  std::vector<int32_t> cu{0};
  for (int32_t n : lengths) cu.push_back(cu.back() + n);
  return cu;
}

nlohmann::json last_json_line(const std::string& out) {
  std::string last;
  for (size_t pos = 0; pos < out.size();) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    if (out.compare(pos, 1, "{") == 0) last = out.substr(pos, nl - pos);
    pos = nl + 1;
  }
  return nlohmann::json::parse(last);
}

}  // namespace embtune::test
