// The "BPE" model: characters (or their <0xXX> bytes) merged pair by pair in merge-rank order,
// exactly as HF tokenizers' priority-queue merge loop does. Not a trainer and not BPE dropout.
#include <nlohmann/json.hpp>
#include <algorithm>
#include <queue>
#include <bit>
#include <unordered_map>

#include "tokenizer/json_fields.h"
#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct MergeTarget {
  uint32_t rank;
  int32_t new_id;
};

// The merges by (left id, right id) key: open addressing with linear probing in a power-of-two
// table at most half full. std::unordered_map's modulo and bucket chase took 40% of encoding.
class MergeTable {
 public:
  // Later entries of a key replace earlier ones, as HF's collect into a HashMap does.
  void set(uint64_t key, MergeTarget target) { pending_.emplace_back(key, target); }
  // Builds the table from what set() gave; find() works only after it.
  void build() {
    size_t cap = 16;
    while (cap < 2 * pending_.size()) cap *= 2;
    shift_ = 64 - std::countr_zero(cap);
    mask_ = cap - 1;
    entries_.assign(cap, Entry{kEmpty, {}});
    size_ = 0;
    for (const auto& [key, target] : pending_) {
      size_t i = slot(key);
      while (entries_[i].key != kEmpty && entries_[i].key != key) i = (i + 1) & mask_;
      if (entries_[i].key == kEmpty) size_++;
      entries_[i] = {key, target};
    }
    pending_.clear();
    pending_.shrink_to_fit();
  }
  const MergeTarget* find(uint64_t key) const {
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.key == key) return &e.target;
      if (e.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t key;
    MergeTarget target;
  };
  static constexpr uint64_t kEmpty = ~0ull;  // no pair of non-negative ids has this key
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  std::vector<std::pair<uint64_t, MergeTarget>> pending_;
  std::vector<Entry> entries_;
  size_t mask_ = 0, size_ = 0;
  int shift_ = 60;
};

uint32_t utf8_length(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

class Bpe : public Model {
 public:
  Bpe(std::unordered_map<std::string, int32_t> vocab, MergeTable merges, const BpeOptions& opt)
      : vocab_(std::move(vocab)), merges_(std::move(merges)), opt_(opt) {
    for (const auto& [token, id] : vocab_) {
      if (static_cast<size_t>(id) >= id_to_token_.size()) {
        id_to_token_.resize(id + 1);
        has_id_.resize(id + 1);
      }
      id_to_token_[id] = token;
      has_id_[id] = true;
    }
    if (opt_.byte_fallback) byte_fallback_ids(*this, byte_ids_);
  }

  Status tokenize(std::span<const AlignedChar> word, std::vector<ModelToken>* out) const override {
    const uint32_t n = static_cast<uint32_t>(word.size());
    if (opt_.ignore_merges) {
      std::string whole;
      for (const AlignedChar& a : word) utf8_append(a.c, &whole);
      const int32_t id = token_to_id(whole);
      if (id >= 0) {
        out->push_back({id, 0, n});
        return Status();
      }
    }

    // The initial symbols, as HF's merge_word builds them: one per character (with the prefix
    // after the first and the suffix on the last), its bytes when byte_fallback covers them, or
    // the unknown token (consecutive ones fused when fuse_unk).
    thread_local std::vector<uint32_t> char_start;  // byte offset of each character, and the end
    char_start.resize(n + 1);
    char_start[0] = 0;
    for (uint32_t i = 0; i < n; ++i) char_start[i + 1] = char_start[i] + utf8_length(word[i].c);
    thread_local std::vector<Symbol> symbols;
    symbols.clear();
    int32_t unk_pending = -1;  // begin of a pending unknown run, -1: none
    int32_t unk_id = -1;
    std::string piece;
    auto flush_unk = [&](uint32_t end) {
      if (unk_pending >= 0) {
        symbols.push_back({unk_id, static_cast<uint32_t>(unk_pending), end,
                           char_start[end] - char_start[unk_pending]});
      }
      unk_pending = -1;
    };
    for (uint32_t i = 0; i < n; ++i) {
      piece.clear();
      if (i > 0) piece += opt_.continuing_subword_prefix;
      utf8_append(word[i].c, &piece);
      if (i + 1 == n) piece += opt_.end_of_word_suffix;
      const int32_t id = token_to_id(piece);
      if (id >= 0) {
        flush_unk(i);
        symbols.push_back({id, i, i + 1, char_start[i + 1] - char_start[i]});
        continue;
      }
      if (opt_.byte_fallback) {
        bool all = true;
        for (unsigned char b : piece) all = all && byte_ids_[b] >= 0;
        if (all) {
          // HF does not flush a pending unknown run here: it joins the next known character.
          for (unsigned char b : piece) symbols.push_back({byte_ids_[b], i, i + 1, 1});
          continue;
        }
      }
      if (opt_.unk_token.empty()) continue;  // no unknown token: HF drops the character
      unk_id = token_to_id(opt_.unk_token);
      if (unk_id < 0) {
        return make_error("BPE unk_token \"%s\" is not in the vocabulary (a word needs it)",
                          opt_.unk_token.c_str());
      }
      if (unk_pending >= 0 && !opt_.fuse_unk) flush_unk(i);
      if (unk_pending < 0) unk_pending = static_cast<int32_t>(i);
    }
    flush_unk(n);
    merge_all(&symbols);
    // HF's offsets are running sums of the symbols' byte lengths, mapped back to characters:
    // after a dropped character they shift, and each byte token gets its character's range.
    uint32_t pos = 0;
    auto char_of = [&](uint32_t byte) {
      const auto it = std::upper_bound(char_start.begin(), char_start.begin() + n, byte);
      return static_cast<uint32_t>(it - char_start.begin()) - 1;
    };
    for (const Symbol& s : symbols) {
      if (s.removed) continue;
      const uint32_t begin = char_of(pos);
      pos += s.len;
      out->push_back({s.id, begin, std::max(begin, std::min(char_of(pos - 1) + 1, n))});
    }
    return Status();
  }

  size_t vocab_size() const override { return vocab_.size(); }

  int32_t token_to_id(std::string_view token) const override {
    auto it = vocab_.find(std::string(token));
    return it == vocab_.end() ? -1 : it->second;
  }

  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_id_[id]) return nullptr;
    return &id_to_token_[id];
  }

  std::string describe() const override {
    std::string d = "BPE (vocab " + std::to_string(vocab_.size()) + ", merges " +
                    std::to_string(merges_.size());
    if (opt_.byte_fallback) d += ", byte_fallback";
    if (!opt_.unk_token.empty()) d += ", unk " + opt_.unk_token;
    return d + ")";
  }

 private:
  struct Symbol {
    int32_t id;
    uint32_t begin, end;  // characters of the word
    uint32_t len;         // HF's length in bytes: a byte token's is 1
    int32_t prev = -1, next = -1;
    bool removed = false;
  };
  struct QueuedMerge {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
    // std::priority_queue pops the largest: the lowest rank, then the leftmost position.
    bool operator<(const QueuedMerge& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  const MergeTarget* find_merge(int32_t a, int32_t b) const {
    return merges_.find(pair_key(a, b));
  }

  // HF's Word::merge_all without dropout; stale queue entries are recognised the same way.
  void merge_all(std::vector<Symbol>* symbols_ptr) const {
    std::vector<Symbol>& s = *symbols_ptr;
    const int32_t count = static_cast<int32_t>(s.size());
    for (int32_t i = 0; i < count; ++i) {
      s[i].prev = i - 1;
      s[i].next = i + 1 < count ? i + 1 : -1;
    }
    std::priority_queue<QueuedMerge> queue;
    for (int32_t i = 0; i + 1 < count; ++i) {
      if (const MergeTarget* m = find_merge(s[i].id, s[i + 1].id)) {
        queue.push({m->rank, static_cast<uint32_t>(i), m->new_id});
      }
    }
    while (!queue.empty()) {
      const QueuedMerge top = queue.top();
      queue.pop();
      Symbol& left = s[top.pos];
      if (left.removed || left.next < 0) continue;
      Symbol& right = s[left.next];
      const MergeTarget* m = find_merge(left.id, right.id);
      if (m == nullptr || m->new_id != top.new_id) continue;
      left.id = top.new_id;
      left.end = right.end;
      left.len += right.len;
      right.removed = true;
      left.next = right.next;
      if (right.next >= 0) s[right.next].prev = static_cast<int32_t>(top.pos);
      if (left.prev >= 0) {
        if (const MergeTarget* p = find_merge(s[left.prev].id, left.id)) {
          queue.push({p->rank, static_cast<uint32_t>(left.prev), p->new_id});
        }
      }
      if (left.next >= 0) {
        if (const MergeTarget* p = find_merge(left.id, s[left.next].id)) {
          queue.push({p->rank, top.pos, p->new_id});
        }
      }
    }
  }

  std::unordered_map<std::string, int32_t> vocab_;
  MergeTable merges_;
  BpeOptions opt_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  int32_t byte_ids_[256];  // id of "<0xXX>" per byte, -1 when absent
};

}  // namespace

Status make_bpe(std::vector<std::pair<std::string, int32_t>> vocab,
                const std::vector<std::pair<std::string, std::string>>& merges,
                const BpeOptions& opt, std::unique_ptr<Model>* out) {
  std::unordered_map<std::string, int32_t> table;
  for (auto& [token, id] : vocab) table[token] = id;
  MergeTable merge_map;
  const size_t prefix_len = opt.continuing_subword_prefix.size();
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [a, b] = merges[i];
    auto ia = table.find(a);
    auto ib = table.find(b);
    const std::string joined = a + (b.size() >= prefix_len ? b.substr(prefix_len) : std::string());
    auto ij = table.find(joined);
    if (ia == table.end() || ib == table.end() || ij == table.end()) {
      const std::string& missing = ia == table.end() ? a : ib == table.end() ? b : joined;
      return make_error("BPE merge %zu (\"%s\" \"%s\") uses \"%s\", which is not in the vocab", i,
                        a.c_str(), b.c_str(), missing.c_str());
    }
    merge_map.set(pair_key(ia->second, ib->second), {static_cast<uint32_t>(i), ij->second});
  }
  merge_map.build();
  *out = std::make_unique<Bpe>(std::move(table), std::move(merge_map), opt);
  return Status();
}

Status bpe_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out) {
  if (j.contains("dropout") && !j.at("dropout").is_null()) {
    if (!j.at("dropout").is_number() || j.at("dropout").get<double>() != 0.0) {
      return make_error("BPE \"dropout\" must be null or 0 (random merges are not supported)");
    }
  }
  BpeOptions opt;
  ET_RETURN_IF_ERROR(json_read_string(j, "unk_token", &opt.unk_token));
  ET_RETURN_IF_ERROR(
      json_read_string(j, "continuing_subword_prefix", &opt.continuing_subword_prefix));
  ET_RETURN_IF_ERROR(json_read_string(j, "end_of_word_suffix", &opt.end_of_word_suffix));
  ET_RETURN_IF_ERROR(json_read_bool(j, "fuse_unk", &opt.fuse_unk));
  ET_RETURN_IF_ERROR(json_read_bool(j, "byte_fallback", &opt.byte_fallback));
  ET_RETURN_IF_ERROR(json_read_bool(j, "ignore_merges", &opt.ignore_merges));
  if (!j.contains("vocab") || !j.at("vocab").is_object()) {
    return make_error("BPE model needs a \"vocab\" object (token -> id)");
  }
  std::vector<std::pair<std::string, int32_t>> vocab;
  vocab.reserve(j.at("vocab").size());
  for (const auto& [token, id] : j.at("vocab").items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return make_error("BPE vocab entry \"%s\" needs a non-negative integer id", token.c_str());
    }
    vocab.emplace_back(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (j.contains("merges") && !j.at("merges").is_null()) {
    if (!j.at("merges").is_array()) return make_error("BPE \"merges\" must be an array");
    const nlohmann::json& list = j.at("merges");
    merges.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      const nlohmann::json& m = list[i];
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos) {
          return make_error("BPE merge %zu \"%s\" must be \"a b\" (two tokens, one space)", i,
                            s.c_str());
        }
        merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        return make_error("BPE merge %zu must be \"a b\" or [\"a\", \"b\"]", i);
      }
    }
  }
  return make_bpe(std::move(vocab), merges, opt, out);
}

}  // namespace embtune
