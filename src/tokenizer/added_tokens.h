// Added tokens (tokenizer.json "added_tokens"): strings such as [CLS] or [MASK] that are cut out of
// the text before the model sees it and map straight to their ids. Not the post-processor's
// special tokens, although the same strings usually appear in both.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace embtune {

class Model;
class Normalizer;

struct AddedToken {
  std::string content;
  bool single_word = false;  // match only where no word character touches either end
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = true;    // matched in normalized text (else in the raw input)
  bool special = false;
};

// Parses a tokenizer.json "added_tokens" array (the ids in it are not used; see build()).
Status added_tokens_from_json(const nlohmann::json& j, std::vector<AddedToken>* out);

// A match of an added token: characters [begin, end) of the searched text.
struct AddedTokenMatch {
  uint32_t begin;
  uint32_t end;
  int32_t id;
};

class AddedVocabulary {
 public:
  // Registers `tokens` as HF does: a token the model knows takes the model's id, a new one the
  // next free id after the model's vocabulary; normalized tokens are matched by their content
  // passed through `normalizer` (may be null).
  void build(const std::vector<AddedToken>& tokens, const Model& model,
             const Normalizer* normalizer);

  // Leftmost-longest matches, honouring single_word / lstrip / rstrip, of the tokens matched in
  // raw text (normalized == false) or in normalized text. Appends to *out in text order.
  void find_raw(std::span<const char32_t> text, std::vector<AddedTokenMatch>* out) const {
    raw_.find(text, tokens_, out);
  }
  void find_normalized(std::span<const char32_t> text, std::vector<AddedTokenMatch>* out) const {
    normalized_.find(text, tokens_, out);
  }
  bool has_raw() const { return !raw_.empty(); }
  bool has_normalized() const { return !normalized_.empty(); }

  int32_t token_to_id(std::string_view content) const;  // -1 if not an added token
  const std::string* id_to_token(int32_t id) const;     // null if not an added token
  // True when `content` is the content of an added token marked special (HF's
  // is_special_token, which decoding with skip_special_tokens asks of every token string).
  bool is_special(std::string_view content) const;
  // Added tokens whose content the model's vocabulary lacks (they extend the vocabulary).
  size_t new_tokens() const { return new_tokens_; }
  size_t size() const { return tokens_.size(); }

 private:
  struct Entry {
    AddedToken token;
    int32_t id;
  };
  // A trie of the patterns over code points, for leftmost-longest search.
  class Matcher {
   public:
    void add(const std::u32string& pattern, size_t entry);
    bool empty() const { return nodes_.size() <= 1; }
    void find(std::span<const char32_t> text, const std::vector<Entry>& entries,
              std::vector<AddedTokenMatch>* out) const;

   private:
    struct Node {
      std::vector<std::pair<char32_t, uint32_t>> children;  // sorted by character
      int64_t entry = -1;                                   // a pattern ends here
    };
    uint32_t child(uint32_t node, char32_t c) const;  // 0 when absent
    std::vector<Node> nodes_{Node()};                 // nodes_[0] is the root
    std::array<uint32_t, 128> root_ascii_{};          // root's children for ASCII, 0 if none
  };

  std::vector<Entry> tokens_;
  std::unordered_map<std::string, int32_t> content_to_id_;
  std::unordered_map<int32_t, size_t> id_to_entry_;
  Matcher raw_, normalized_;
  size_t new_tokens_ = 0;
};

}  // namespace embtune
