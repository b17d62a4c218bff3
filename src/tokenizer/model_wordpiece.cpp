// The "WordPiece" model: greedy longest match from the start of each word, "##" continuations,
// the unknown token for a word that cannot be covered. Not a trainer.
#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tokenizer/json_fields.h"
#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

// A read-only string -> id table with open addressing over one flat slot array and one string
// arena: a lookup touches one or two cache lines instead of a chain of heap nodes.
class PieceTable {
 public:
  // `entries` must have distinct keys.
  void build(const std::vector<std::pair<std::string, int32_t>>& entries) {
    size_t capacity = 16;
    while (capacity < entries.size() * 2) capacity *= 2;
    slots_.assign(capacity, Slot{0, 0, 0, -1});
    mask_ = capacity - 1;
    for (const auto& [key, id] : entries) {
      const uint64_t h = hash(key);
      size_t i = h & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = {h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), id};
      arena_ += key;
      max_length_ = std::max(max_length_, key.size());
    }
    size_ = entries.size();
  }

  int32_t find(std::string_view key) const {
    const uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && s.length == key.size() &&
          std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0) {
        return s.id;
      }
    }
  }

  size_t size() const { return size_; }
  size_t max_length() const { return max_length_; }  // longest key in bytes

 private:
  struct Slot {
    uint64_t hash;
    uint32_t offset;  // of the key in arena_
    uint32_t length;
    int32_t id;  // -1: empty
  };

  // 8 bytes at a time, multiply-xorshift mixing; the keys are short.
  static uint64_t hash(std::string_view key) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ key.size();
    size_t i = 0;
    for (; i + 8 <= key.size(); i += 8) {
      uint64_t chunk;
      std::memcpy(&chunk, key.data() + i, 8);
      h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
    uint64_t tail = 0;
    std::memcpy(&tail, key.data() + i, key.size() - i);
    h = (h ^ tail) * 0x94D049BB133111EBull;
    return h ^ (h >> 29);
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t size_ = 0;
  size_t max_length_ = 0;
};

class WordPiece : public Model {
 public:
  WordPiece(std::vector<std::pair<std::string, int32_t>> vocab, const WordPieceOptions& opt)
      : opt_(opt) {
    // A repeated token keeps its last id, as HF's vocabulary maps do.
    std::unordered_map<std::string, int32_t> unique;
    for (auto& [token, id] : vocab) {
      if (id >= 0) unique[token] = id;
    }
    const std::string& prefix = opt_.continuing_subword_prefix;
    std::vector<std::pair<std::string, int32_t>> initial, continuation;
    initial.reserve(unique.size());
    for (auto& [token, id] : unique) {
      if (static_cast<size_t>(id) >= id_to_token_.size()) {
        id_to_token_.resize(id + 1);
        has_id_.resize(id + 1);
      }
      id_to_token_[id] = token;
      has_id_[id] = true;
      if (token.compare(0, prefix.size(), prefix) == 0) {
        continuation.emplace_back(token.substr(prefix.size()), id);
      }
      initial.emplace_back(token, id);
    }
    initial_.build(initial);
    continuation_.build(continuation);
    unk_id_ = token_to_id(opt_.unk_token);
  }

  Status tokenize(std::span<const AlignedChar> word, std::vector<ModelToken>* out) const override {
    const uint32_t n = static_cast<uint32_t>(word.size());
    if (static_cast<int64_t>(n) > opt_.max_input_chars_per_word) return push_unk(n, out);

    // The word in UTF-8, and where each character starts in it.
    thread_local std::string bytes;
    thread_local std::vector<uint32_t> char_start;
    bytes.clear();
    char_start.resize(n + 1);
    for (uint32_t i = 0; i < n; ++i) {
      char_start[i] = static_cast<uint32_t>(bytes.size());
      char32_t c = word[i].c;
      if (c < 0x80)
        bytes.push_back(static_cast<char>(c));
      else
        utf8_append(c, &bytes);
    }
    char_start[n] = static_cast<uint32_t>(bytes.size());

    const size_t first_token = out->size();
    uint32_t start = 0;
    while (start < n) {
      const PieceTable& pieces = start == 0 ? initial_ : continuation_;
      const size_t max_bytes = pieces.max_length();
      uint32_t end = n;
      while (end > start && char_start[end] - char_start[start] > max_bytes) --end;
      int32_t id = -1;
      for (; end > start; --end) {
        id = pieces.find(std::string_view(bytes.data() + char_start[start],
                                          char_start[end] - char_start[start]));
        if (id >= 0) break;
      }
      if (id < 0) {
        out->resize(first_token);
        return push_unk(n, out);
      }
      out->push_back({id, start, end});
      start = end;
    }
    return Status();
  }

  size_t vocab_size() const override { return initial_.size(); }

  int32_t token_to_id(std::string_view token) const override { return initial_.find(token); }

  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_id_[id]) return nullptr;
    return &id_to_token_[id];
  }

  std::string describe() const override {
    return "WordPiece (vocab " + std::to_string(initial_.size()) + ", unk " + opt_.unk_token +
           ", prefix " + opt_.continuing_subword_prefix + ", max " +
           std::to_string(opt_.max_input_chars_per_word) + " chars/word)";
  }

 private:
  Status push_unk(uint32_t n, std::vector<ModelToken>* out) const {
    if (unk_id_ < 0) {
      return make_error("WordPiece unk_token \"%s\" is not in the vocabulary (a word needs it)",
                        opt_.unk_token.c_str());
    }
    out->push_back({unk_id_, 0, n});
    return Status();
  }

  WordPieceOptions opt_;
  PieceTable initial_;       // every vocabulary entry: pieces at the start of a word
  PieceTable continuation_;  // entries with the prefix, stored without it: pieces after the start
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(std::vector<std::pair<std::string, int32_t>> vocab,
                                      const WordPieceOptions& opt) {
  return std::make_unique<WordPiece>(std::move(vocab), opt);
}

Status wordpiece_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out) {
  WordPieceOptions opt;
  ET_RETURN_IF_ERROR(json_read_string(j, "unk_token", &opt.unk_token));
  ET_RETURN_IF_ERROR(
      json_read_string(j, "continuing_subword_prefix", &opt.continuing_subword_prefix));
  ET_RETURN_IF_ERROR(json_read_int(j, "max_input_chars_per_word", &opt.max_input_chars_per_word));
  if (!j.contains("vocab") || !j.at("vocab").is_object()) {
    return make_error("WordPiece model needs a \"vocab\" object (token -> id)");
  }
  std::vector<std::pair<std::string, int32_t>> vocab;
  vocab.reserve(j.at("vocab").size());
  for (const auto& [token, id] : j.at("vocab").items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return make_error("WordPiece vocab entry \"%s\" needs a non-negative integer id",
                        token.c_str());
    }
    vocab.emplace_back(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  *out = make_wordpiece(std::move(vocab), opt);
  return Status();
}

}  // namespace embtune
