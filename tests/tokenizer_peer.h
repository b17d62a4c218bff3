// Test support for tokenizer parity: the test corpus as the peer reads it, runs of
// shared/reference/tokenize_peer.js (HF tokenizers through npm) or of many configurations in one
// tests/peer/tokenize_jobs_peer.js, and a line-by-line comparison that reports the first
// difference. Not a test itself; linked into every test executable.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace embtune::test {

// <source>/tests/data/tokenizer_corpus.txt
std::string tokenizer_corpus_path();
// The lines of `path` as tokenize_peer.js reads them: a line holding a JSON string is decoded.
std::vector<std::string> read_tokenizer_corpus(const std::string& path = tokenizer_corpus_path());

struct PeerEncoding {
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

// Runs tokenize_peer.js on `texts_file`; `args` are its extra flags ("--no-special",
// "--max-length 16"). A failed run is a test failure and gives an empty result.
std::vector<PeerEncoding> run_tokenizer_peer(const std::string& tokenizer_json,
                                             const std::string& texts_file = tokenizer_corpus_path(),
                                             const std::string& args = "");

// `"tok":id(start,end) ...` for failure messages.
std::string show_tokens(const Tokenizer& tok, const std::vector<int32_t>& ids,
                        const std::vector<std::pair<uint32_t, uint32_t>>& offsets);

// Expects ours[i] (ids and offsets) equal to peer[i] for every text; reports the first difference
// with its text, prints "[ parity   ] name: n/m lines equal", returns n.
size_t expect_peer_parity(const Tokenizer& tok, const std::vector<std::string>& texts,
                          const std::vector<Encoding>& ours, const std::vector<PeerEncoding>& peer,
                          const std::string& name);

// Writes nothing: loads `tokenizer_json` with embtune, encodes the corpus (batch path, `opt`),
// runs the peer with `peer_args` (tokenize_jobs_peer.js, one job) and calls expect_peer_parity.
// Returns the equal lines.
size_t expect_corpus_parity_with_peer(const std::string& tokenizer_json, const EncodeOptions& opt,
                                      const std::string& peer_args, const std::string& name);

// expect_corpus_parity_with_peer for many configurations with one peer process: add() them all,
// then check() runs tokenize_jobs_peer.js once and compares each configuration, in the order
// added, while the peer encodes the next ones. The checks are those of the one-by-one helper.
class CorpusParityChecks {
 public:
  // `tokenizer` is written to a file of this object's temporary directory. `peer_args` are
  // tokenize_peer.js's flags for what `opt` asks ("--no-special", "--max-length 16").
  void add(const nlohmann::json& tokenizer, const std::string& name,
           const EncodeOptions& opt = EncodeOptions(), const std::string& peer_args = "");
  void add_file(const std::string& tokenizer_json, const std::string& name,
                const EncodeOptions& opt = EncodeOptions(), const std::string& peer_args = "");
  // Returns, per configuration, the lines equal; forgets the configurations.
  std::vector<size_t> check();

 private:
  struct Case {
    std::string tokenizer_json;
    EncodeOptions opt;
    std::string peer_args;
    std::string name;
  };
  TempDir tmp_;
  std::vector<Case> cases_;
};

}  // namespace embtune::test
