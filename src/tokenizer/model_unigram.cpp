// The "Unigram" model: the segmentation with the highest total log probability (Viterbi), as HF
// tokenizers' Unigram::encode_optimized finds it, unknown runs fused. Not a trainer or a sampler.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tokenizer/json_fields.h"
#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

// HF's K_UNK_PENALTY: an unknown character scores this much below the rarest piece.
constexpr double kUnkPenalty = 10.0;

class Unigram : public Model {
 public:
  Unigram(std::vector<std::pair<std::string, double>> vocab, const UnigramOptions& opt)
      : vocab_(std::move(vocab)), opt_(opt) {
    for (size_t id = 0; id < vocab_.size(); ++id) {
      const std::string& piece = vocab_[id].first;
      ids_[piece] = static_cast<int32_t>(id);  // a repeated piece keeps its last id, as in HF
      min_score_ = std::min(min_score_, vocab_[id].second);
      max_piece_chars_ = std::max(max_piece_chars_, utf8_length(piece));
    }
    if (opt_.byte_fallback) {
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_ids_[b] = token_to_id(name);
      }
    }
  }

  Status tokenize(std::span<const AlignedChar> word, std::vector<ModelToken>* out) const override {
    const uint32_t n = static_cast<uint32_t>(word.size());
    thread_local std::string bytes;
    thread_local std::vector<uint32_t> char_start;
    bytes.clear();
    char_start.resize(n + 1);
    for (uint32_t i = 0; i < n; ++i) {
      char_start[i] = static_cast<uint32_t>(bytes.size());
      utf8_append(word[i].c, &bytes);
    }
    char_start[n] = static_cast<uint32_t>(bytes.size());
    auto text = [&](uint32_t b, uint32_t e) {
      return std::string_view(bytes.data() + char_start[b], char_start[e] - char_start[b]);
    };

    // best[e]: the best path over characters [0, e): its score, last piece start and id.
    struct Node {
      double score = 0;
      int32_t start = -1;
      int32_t id = -1;
    };
    thread_local std::vector<Node> best;
    best.assign(n + 1, Node{});
    const double unk_score = min_score_ - kUnkPenalty;
    for (uint32_t start = 0; start < n; ++start) {
      const double till_here = best[start].score;
      bool has_single_char = false;
      const uint32_t last = std::min<uint32_t>(n, start + max_piece_chars_);
      for (uint32_t end = start + 1; end <= last; ++end) {
        const int32_t id = token_to_id(text(start, end));
        if (id < 0) continue;
        const double candidate = vocab_[id].second + till_here;
        Node& target = best[end];
        if (target.start < 0 || candidate > target.score) target = {candidate, (int32_t)start, id};
        if (end == start + 1) has_single_char = true;
      }
      if (!has_single_char) {
        if (opt_.unk_id < 0) {
          return make_error("Unigram has no unk_id, and a word has a character not in the vocab");
        }
        const double candidate = unk_score + till_here;
        Node& target = best[start + 1];
        if (target.start < 0 || candidate > target.score) {
          target = {candidate, (int32_t)start, (int32_t)opt_.unk_id};
        }
      }
    }

    // Walk back; consecutive unknown pieces fuse into one (HF's fuse_unk is always on here).
    thread_local std::vector<std::pair<uint32_t, uint32_t>> pieces;  // reversed
    pieces.clear();
    bool last_was_unk = false;
    for (uint32_t end = n; end > 0;) {
      const Node& node = best[end];
      const uint32_t start = static_cast<uint32_t>(node.start);
      const bool unk = opt_.unk_id >= 0 && node.id == opt_.unk_id;
      if (unk && last_was_unk) {
        pieces.back().first = start;
      } else {
        pieces.emplace_back(start, end);
      }
      last_was_unk = unk;
      end = start;
    }
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
      const auto [b, e] = *it;
      const std::string_view piece = text(b, e);
      int32_t id = token_to_id(piece);
      if (id < 0 && opt_.byte_fallback) {
        bool all = true;
        for (unsigned char c : piece) all = all && byte_ids_[c] >= 0;
        if (all) {
          for (unsigned char c : piece) out->push_back({byte_ids_[c], b, e});
          continue;
        }
      }
      if (id < 0) id = static_cast<int32_t>(opt_.unk_id);
      if (id < 0) return make_error("Unigram has no unk_id, and a word needs it");
      out->push_back({id, b, e});
    }
    return Status();
  }

  size_t vocab_size() const override { return vocab_.size(); }

  int32_t token_to_id(std::string_view token) const override {
    auto it = ids_.find(std::string(token));
    return it == ids_.end() ? -1 : it->second;
  }

  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) return nullptr;
    return &vocab_[id].first;
  }

  std::string describe() const override {
    std::string d = "Unigram (vocab " + std::to_string(vocab_.size());
    if (opt_.unk_id >= 0) d += ", unk " + vocab_[opt_.unk_id].first;
    if (opt_.byte_fallback) d += ", byte_fallback";
    return d + ")";
  }

 private:
  static size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  std::vector<std::pair<std::string, double>> vocab_;
  UnigramOptions opt_;
  std::unordered_map<std::string, int32_t> ids_;
  double min_score_ = 0;
  size_t max_piece_chars_ = 1;
  int32_t byte_ids_[256];  // id of "<0xXX>" per byte, -1 when absent
};

}  // namespace

Status make_unigram(std::vector<std::pair<std::string, double>> vocab, const UnigramOptions& opt,
                    std::unique_ptr<Model>* out) {
  if (opt.unk_id >= static_cast<int64_t>(vocab.size())) {
    return make_error("Unigram unk_id %lld is outside the vocab (%zu pieces)",
                      static_cast<long long>(opt.unk_id), vocab.size());
  }
  if (vocab.empty()) return make_error("Unigram vocab is empty");
  *out = std::make_unique<Unigram>(std::move(vocab), opt);
  return Status();
}

Status unigram_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out) {
  UnigramOptions opt;
  ET_RETURN_IF_ERROR(json_read_int(j, "unk_id", &opt.unk_id));
  ET_RETURN_IF_ERROR(json_read_bool(j, "byte_fallback", &opt.byte_fallback));
  if (!j.contains("vocab") || !j.at("vocab").is_array()) {
    return make_error("Unigram model needs a \"vocab\" array of [piece, score]");
  }
  std::vector<std::pair<std::string, double>> vocab;
  vocab.reserve(j.at("vocab").size());
  for (size_t i = 0; i < j.at("vocab").size(); ++i) {
    const nlohmann::json& e = j.at("vocab")[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number()) {
      return make_error("Unigram vocab entry %zu must be [piece, score]", i);
    }
    vocab.emplace_back(e[0].get<std::string>(), e[1].get<double>());
  }
  return make_unigram(std::move(vocab), opt, out);
}

}  // namespace embtune
