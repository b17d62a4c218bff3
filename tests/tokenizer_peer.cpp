// Test support for tokenizer parity with the HF tokenizers peer (tokenizer_peer.h). Not a test.
#include "tokenizer_peer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

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
  while (std::getline(lines, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    PeerEncoding e;
    e.ids = j.at("ids").get<std::vector<int32_t>>();
    for (const auto& o : j.at("offsets")) {
      e.offsets.emplace_back(o[0].get<uint32_t>(), o[1].get<uint32_t>());
    }
    result.push_back(std::move(e));
  }
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
  std::unique_ptr<Tokenizer> tok;
  Status st = Tokenizer::load(tokenizer_json, &tok);
  EXPECT_TRUE(st.ok()) << name << ": " << st.message();
  if (!st.ok()) return 0;
  const std::vector<std::string> texts = read_tokenizer_corpus();
  std::vector<Encoding> ours;
  st = tok->encode_batch(texts, opt, &ours);
  EXPECT_TRUE(st.ok()) << name << ": " << st.message();
  if (!st.ok()) return 0;
  return expect_peer_parity(*tok, texts, ours, run_tokenizer_peer(tokenizer_json,
                                                                   tokenizer_corpus_path(),
                                                                   peer_args),
                            name);
}

}  // namespace embtune::test
