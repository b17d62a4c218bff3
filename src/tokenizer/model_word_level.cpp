// The "WordLevel" model: each pre-tokenized word is one vocabulary token, or the unknown token.
// Not a subword model: nothing is split.
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tokenizer/json_fields.h"
#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

class WordLevel : public Model {
 public:
  WordLevel(std::vector<std::pair<std::string, int32_t>> vocab, std::string unk_token)
      : unk_token_(std::move(unk_token)) {
    for (auto& [token, id] : vocab) {
      ids_[token] = id;
      if (static_cast<size_t>(id) >= id_to_token_.size()) {
        id_to_token_.resize(id + 1);
        has_id_.resize(id + 1);
      }
      id_to_token_[id] = token;
      has_id_[id] = true;
    }
  }

  Status tokenize(std::span<const AlignedChar> word, std::vector<ModelToken>* out) const override {
    std::string text;
    for (const AlignedChar& a : word) utf8_append(a.c, &text);
    int32_t id = token_to_id(text);
    if (id < 0) id = token_to_id(unk_token_);
    if (id < 0) {
      return make_error("WordLevel unk_token \"%s\" is not in the vocabulary (a word needs it)",
                        unk_token_.c_str());
    }
    out->push_back({id, 0, static_cast<uint32_t>(word.size())});
    return Status();
  }

  size_t vocab_size() const override { return ids_.size(); }

  int32_t token_to_id(std::string_view token) const override {
    auto it = ids_.find(std::string(token));
    return it == ids_.end() ? -1 : it->second;
  }

  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_id_[id]) return nullptr;
    return &id_to_token_[id];
  }

  std::string describe() const override {
    return "WordLevel (vocab " + std::to_string(ids_.size()) + ", unk " + unk_token_ + ")";
  }

 private:
  std::string unk_token_;
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
};

}  // namespace

std::unique_ptr<Model> make_word_level(std::vector<std::pair<std::string, int32_t>> vocab,
                                       std::string unk_token) {
  return std::make_unique<WordLevel>(std::move(vocab), std::move(unk_token));
}

Status word_level_from_json(const nlohmann::json& j, std::unique_ptr<Model>* out) {
  std::string unk_token = "<unk>";
  ET_RETURN_IF_ERROR(json_read_string(j, "unk_token", &unk_token));
  if (!j.contains("vocab") || !j.at("vocab").is_object()) {
    return make_error("WordLevel model needs a \"vocab\" object (token -> id)");
  }
  std::vector<std::pair<std::string, int32_t>> vocab;
  for (const auto& [token, id] : j.at("vocab").items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return make_error("WordLevel vocab entry \"%s\" needs a non-negative integer id",
                        token.c_str());
    }
    vocab.emplace_back(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  *out = make_word_level(std::move(vocab), std::move(unk_token));
  return Status();
}

}  // namespace embtune
