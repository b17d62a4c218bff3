// The "WordPiece" decoder (BERT): a token starting with the continuation prefix ("##") is glued to
// the previous one, any other token after the first gets a leading space; with "cleanup", each
// token then loses the space before punctuation and English contractions (HF's
// wordpiece::cleanup). Not the WordPiece model, and not transformers'
// clean_up_tokenization_spaces (which works on the joined text, and which tokenizers never runs).
#include <nlohmann/json.hpp>

#include "tokenizer/decoder.h"
#include "tokenizer/json_fields.h"

namespace embtune {
namespace {

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}

  Status decode_chain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(t.begin(), ' ');
        }
      }
      if (cleanup_) t = wordpiece_cleanup(std::move(t));
    }
    return Status();
  }

  std::string describe() const override {
    return "WordPiece(" + prefix_ + (cleanup_ ? ", cleanup)" : ")");
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

}  // namespace

std::string wordpiece_cleanup(std::string s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},   {" !", "!"},           {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},       {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : kRules) {
    if (s.find(from) != std::string::npos) s = rust_str_replace(s, from, to);
  }
  return s;
}

std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup) {
  return std::make_unique<WordPieceDecoder>(prefix, cleanup);
}

Status wordpiece_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  std::string prefix = "##";
  bool cleanup = true;
  ET_RETURN_IF_ERROR(json_read_string(j, "prefix", &prefix).wrap("WordPiece decoder"));
  ET_RETURN_IF_ERROR(json_read_bool(j, "cleanup", &cleanup).wrap("WordPiece decoder"));
  *out = make_wordpiece_decoder(prefix, cleanup);
  return Status();
}

}  // namespace embtune
