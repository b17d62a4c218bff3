// The "Strip" decoder (Llama: the space the Metaspace replacement left before the first word):
// removes up to `start` leading and `stop` trailing copies of the character `content` from each
// token. Not whitespace trimming: only that one character counts.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/decoder.h"
#include "tokenizer/json_fields.h"

namespace embtune {
namespace {

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}

  Status decode_chain(std::vector<std::string>* tokens) const override {
    std::vector<char32_t> cps;
    for (std::string& t : *tokens) {
      cps.clear();
      size_t bad = 0;
      if (!utf8_decode(t, &cps, &bad)) return make_error("Strip decoder: a token is not UTF-8");
      size_t start_cut = 0;
      while (start_cut < start_ && start_cut < cps.size() && cps[start_cut] == content_) {
        ++start_cut;
      }
      // The trailing cut stops where the leading one ended. HF 0.23 panics instead when the two
      // would overlap or `stop` passes the start of a token made of `content` only.
      size_t stop_cut = cps.size();
      const size_t max_stop = std::min(stop_, cps.size() - start_cut);
      for (size_t i = 0; i < max_stop && cps[cps.size() - i - 1] == content_; ++i) {
        stop_cut = cps.size() - i - 1;
      }
      t.clear();
      for (size_t i = start_cut; i < stop_cut; ++i) utf8_append(cps[i], &t);
    }
    return Status();
  }

  std::string describe() const override {
    std::string d = "Strip(";
    utf8_append(content_, &d);
    return d + ", " + std::to_string(start_) + ", " + std::to_string(stop_) + ")";
  }

 private:
  char32_t content_;
  size_t start_;
  size_t stop_;
};

}  // namespace

Status strip_decoder_from_json(const nlohmann::json& j, std::unique_ptr<Decoder>* out) {
  if (!j.contains("content") || !j.at("content").is_string()) {
    return make_error("Strip decoder: \"content\" must be a one-character string");
  }
  const std::string content = j.at("content").get<std::string>();
  std::vector<char32_t> cps;
  size_t bad = 0;
  if (!utf8_decode(content, &cps, &bad) || cps.size() != 1) {
    return make_error("Strip decoder: \"content\": \"%s\" is not one character", content.c_str());
  }
  int64_t start = 0, stop = 0;
  ET_RETURN_IF_ERROR(json_read_int(j, "start", &start).wrap("Strip decoder"));
  ET_RETURN_IF_ERROR(json_read_int(j, "stop", &stop).wrap("Strip decoder"));
  if (start < 0 || stop < 0) {
    return make_error("Strip decoder: \"start\" and \"stop\" must not be negative");
  }
  *out = std::make_unique<StripDecoder>(cps[0], static_cast<size_t>(start),
                                        static_cast<size_t>(stop));
  return Status();
}

}  // namespace embtune
