// The "Replace" decoder (Llama: "▁" -> " "): in each token, every match of {"String": s}
// (literally) or {"Regex": r} (Oniguruma, as HF's SysRegex) becomes "content". Not a regex
// substitution: "content" is literal ($1 is not expanded), and each token is searched on its own.
#include <nlohmann/json.hpp>

#include "tokenizer/decoder.h"
#include "tokenizer/onig_regex.h"

namespace embtune {
namespace {

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::unique_ptr<OnigRegex> regex, std::string pattern_desc, std::string content)
      : regex_(std::move(regex)),
        pattern_desc_(std::move(pattern_desc)),
        content_(std::move(content)) {}

  Status decode_chain(std::vector<std::string>* tokens) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    std::string replaced;
    for (std::string& t : *tokens) {
      if (t.empty()) continue;  // HF's find_matches gives an empty text no match at all
      regex_->find_all(t, &matches);
      if (matches.empty()) continue;
      replaced.clear();
      size_t pos = 0;
      for (const auto& [b, e] : matches) {
        replaced.append(t, pos, b - pos);
        replaced += content_;
        pos = e;
      }
      replaced.append(t, pos, std::string::npos);
      t.swap(replaced);
    }
    return Status();
  }

  std::string describe() const override {
    return "Replace(" + pattern_desc_ + " -> " + content_ + ")";
  }

 private:
  std::unique_ptr<OnigRegex> regex_;
  std::string pattern_desc_;
  std::string content_;
};

}  // namespace

Status replace_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  if (!j.contains("pattern") || !j.at("pattern").is_object()) {
    return make_error(
        "Replace decoder: \"pattern\" must be an object {\"String\": ...} or {\"Regex\": ...}");
  }
  if (!j.contains("content") || !j.at("content").is_string()) {
    return make_error("Replace decoder: \"content\" must be a string");
  }
  std::string desc;
  std::unique_ptr<OnigRegex> regex;
  ET_RETURN_IF_ERROR(compile_pattern_json(j.at("pattern"), "Replace decoder", &regex, &desc));
  *out = std::make_unique<ReplaceDecoder>(std::move(regex), desc,
                                          j.at("content").get<std::string>());
  return Status();
}

}  // namespace embtune
