// Test support for tokenizer parity with the HF tokenizers peer (tokenizer_peer.h). Not a test.
#include "tokenizer_peer.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

#include "test_util.h"

namespace embtune::test {

std::string tokenizer_corpus_path() { return source_dir() + "/tests/data/tokenizer_corpus.txt"; }

std::vector<std::string> read_tokenizer_corpus(const std::string& path) {
  std::string all = read_text(path);
  std::vector<std::string> texts;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    std::string line = all.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line[0] == '"') {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_string()) line = j.get<std::string>();
    }
    texts.push_back(std::move(line));
  }
  return texts;
}

namespace {

// {"ids": [...], "offsets": [[start, end], ...]}, as the peers print an encoding.
PeerEncoding peer_encoding_from_json(const nlohmann::json& j) {
  PeerEncoding e;
  e.ids = j.at("ids").get<std::vector<int32_t>>();
  for (const auto& o : j.at("offsets")) e.offsets.emplace_back(o[0].get<uint32_t>(), o[1].get<uint32_t>());
  return e;
}

// A job's line of tokenize_jobs_peer.js, {"encodings":[{"ids":[...],"offsets":[[s,e],...]},...]},
// read without building a JSON tree: for a corpus of char-level encodings the tree costs more
// than the comparison. False when the line is anything else (an {"error": ...}, say).
class JobLineReader {
 public:
  explicit JobLineReader(std::string_view s) : s_(s) {}

  bool read(std::vector<PeerEncoding>* out) {
    if (!eat("{\"encodings\":[")) return false;
    if (eat("]")) return eat("}");
    do {
      PeerEncoding e;
      if (!eat("{\"ids\":[")) return false;
      if (!eat("]")) {
        do {
          uint32_t id = 0;
          if (!number(&id)) return false;
          e.ids.push_back(static_cast<int32_t>(id));
        } while (eat(","));
        if (!eat("]")) return false;
      }
      if (!eat(",\"offsets\":[")) return false;
      if (!eat("]")) {
        do {
          uint32_t begin = 0, end = 0;
          if (!eat("[") || !number(&begin) || !eat(",") || !number(&end) || !eat("]")) return false;
          e.offsets.emplace_back(begin, end);
        } while (eat(","));
        if (!eat("]")) return false;
      }
      if (!eat("}")) return false;
      out->push_back(std::move(e));
    } while (eat(","));
    return eat("]") && eat("}");
  }

 private:
  bool eat(std::string_view literal) {
    if (s_.compare(pos_, literal.size(), literal) != 0) return false;
    pos_ += literal.size();
    return true;
  }
  bool number(uint32_t* v) {
    uint64_t x = 0;
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9' && pos_ - start < 10) {
      x = x * 10 + static_cast<uint64_t>(s_[pos_++] - '0');
    }
    if (pos_ == start || x > INT32_MAX) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<PeerEncoding> run_tokenizer_peer(const std::string& tokenizer_json,
                                             const std::string& texts_file,
                                             const std::string& args) {
  TempDir tmp;
  const std::string out = tmp.file("peer.jsonl");
  CommandResult r = run_command(node_command() + " " +
                                sh_quote(shared_dir() + "/reference/tokenize_peer.js") + " " +
                                sh_quote(tokenizer_json) + " " + sh_quote(texts_file) + " " +
                                args + " > " + sh_quote(out));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<PeerEncoding> result;
  if (r.exit_code != 0) return result;
  std::istringstream lines(read_text(out));
  std::string line;
  while (std::getline(lines, line)) result.push_back(peer_encoding_from_json(nlohmann::json::parse(line)));
  return result;
}

std::string show_tokens(const Tokenizer& tok, const std::vector<int32_t>& ids,
                        const std::vector<std::pair<uint32_t, uint32_t>>& offsets) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    s += nlohmann::json(tok.id_to_token(ids[i])).dump();
    s += ':' + std::to_string(ids[i]);
    if (i < offsets.size()) {
      s += '(' + std::to_string(offsets[i].first) + ',' + std::to_string(offsets[i].second) + ')';
    }
    s += ' ';
  }
  return s;
}

size_t expect_peer_parity(const Tokenizer& tok, const std::vector<std::string>& texts,
                          const std::vector<Encoding>& ours, const std::vector<PeerEncoding>& peer,
                          const std::string& name) {
  EXPECT_EQ(peer.size(), texts.size()) << name;
  EXPECT_EQ(ours.size(), texts.size()) << name;
  if (peer.size() != texts.size() || ours.size() != texts.size()) return 0;
  size_t equal = 0;
  bool reported = false;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (ours[i].ids == peer[i].ids && ours[i].offsets == peer[i].offsets) {
      ++equal;
    } else if (!reported) {
      reported = true;
      ADD_FAILURE() << name << ": line " << (i + 1) << " differs\n  text: "
                    << nlohmann::json(texts[i]).dump(-1, ' ', false,
                                                     nlohmann::json::error_handler_t::replace)
                    << "\n  ours: " << show_tokens(tok, ours[i].ids, ours[i].offsets)
                    << "\n  peer: " << show_tokens(tok, peer[i].ids, peer[i].offsets);
    }
  }
  EXPECT_EQ(equal, texts.size()) << name;
  std::printf("[ parity   ] %s: %zu/%zu lines equal\n", name.c_str(), equal, texts.size());
  return equal;
}

size_t expect_corpus_parity_with_peer(const std::string& tokenizer_json, const EncodeOptions& opt,
                                      const std::string& peer_args, const std::string& name) {
  CorpusParityChecks checks;
  checks.add_file(tokenizer_json, name, opt, peer_args);
  return checks.check()[0];
}

void CorpusParityChecks::add(const nlohmann::json& tokenizer, const std::string& name,
                             const EncodeOptions& opt, const std::string& peer_args) {
  const std::string path = tmp_.file("tokenizer-" + std::to_string(cases_.size()) + ".json");
  write_text(path, tokenizer.dump());
  add_file(path, name, opt, peer_args);
}

void CorpusParityChecks::add_file(const std::string& tokenizer_json, const std::string& name,
                                  const EncodeOptions& opt, const std::string& peer_args) {
  cases_.push_back({tokenizer_json, opt, peer_args, name});
}

std::vector<size_t> CorpusParityChecks::check() {
  std::vector<Case> cases;
  cases.swap(cases_);
  std::vector<size_t> equal(cases.size(), 0);
  if (cases.empty()) return equal;
  const std::string jobs = tmp_.file("jobs.jsonl"), errors = tmp_.file("peer-stderr.txt");
  std::string lines;
  for (const Case& c : cases) {
    lines += nlohmann::json{{"tokenizer", c.tokenizer_json},
                            {"texts", tokenizer_corpus_path()},
                            {"args", c.peer_args}}
                 .dump() +
             "\n";
  }
  write_text(jobs, lines);
  // The peer prints one line per job as it finishes it; reading them through a pipe lets ours
  // encode a configuration while the peer encodes it too.
  const std::string command = node_command() + " " +
                              sh_quote(source_dir() + "/tests/peer/tokenize_jobs_peer.js") + " " +
                              sh_quote(jobs) + " 2> " + sh_quote(errors);
  FILE* peer = popen(command.c_str(), "r");
  EXPECT_NE(peer, nullptr) << command;
  if (peer == nullptr) return equal;
  const std::vector<std::string> texts = read_tokenizer_corpus();
  char* line = nullptr;
  size_t capacity = 0;
  bool peer_ended = false;
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    std::unique_ptr<Tokenizer> tok;
    std::vector<Encoding> ours;
    Status st = Tokenizer::load(c.tokenizer_json, &tok);
    EXPECT_TRUE(st.ok()) << c.name << ": " << st.message();
    if (st.ok()) {
      st = tok->encode_batch(texts, c.opt, &ours);
      EXPECT_TRUE(st.ok()) << c.name << ": " << st.message();
    }
    std::vector<PeerEncoding> theirs;
    bool peer_ok = false;
    const ssize_t n = peer_ended ? -1 : getline(&line, &capacity, peer);
    if (n <= 0) {
      peer_ended = true;
      ADD_FAILURE() << c.name << ": the peer printed nothing for this configuration";
    } else {
      std::string_view text(line, static_cast<size_t>(n));
      while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
      peer_ok = JobLineReader(text).read(&theirs);
      if (!peer_ok) {
        const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        ADD_FAILURE() << c.name << ": the peer failed: "
                      << (j.is_object() && j.contains("error") ? j.at("error").dump() : "bad output");
      }
    }
    if (st.ok() && peer_ok) equal[k] = expect_peer_parity(*tok, texts, ours, theirs, c.name);
  }
  while (!peer_ended && getline(&line, &capacity, peer) > 0) {
  }
  free(line);
  const int status = pclose(peer);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << read_text(errors);
  return equal;
}

}  // namespace embtune::test
