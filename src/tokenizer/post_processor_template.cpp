// "TemplateProcessing": the "single" template, e.g. [CLS]:0 $A:0 [SEP]:0, with the ids of its
// special tokens. Not the pair template: embtune encodes one sequence at a time.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "tokenizer/post_processor.h"

namespace embtune {
namespace {

struct Piece {
  bool is_sequence;
  std::string special;       // the special token's name when !is_sequence
  std::vector<int32_t> ids;  // its ids
  int32_t type_id;
};

class TemplateProcessing : public PostProcessor {
 public:
  explicit TemplateProcessing(std::vector<Piece> single) : single_(std::move(single)) {
    bool before = true;
    for (const Piece& p : single_) {
      if (p.is_sequence) {
        before = false;
        type_id_ = p.type_id;
        continue;
      }
      for (int32_t id : p.ids) (before ? prefix_ : suffix_).push_back({id, p.type_id});
    }
  }

  int added_tokens() const override { return static_cast<int>(prefix_.size() + suffix_.size()); }

  void process(Encoding* enc, bool add_special_tokens) const override {
    encoding_wrap(enc, add_special_tokens, prefix_, type_id_, suffix_);
  }

  std::string describe() const override {
    std::string d = "TemplateProcessing(";
    for (size_t i = 0; i < single_.size(); ++i) {
      d += (i ? " " : "") + (single_[i].is_sequence ? std::string("$A") : single_[i].special);
    }
    return d + ")";
  }

 private:
  std::vector<Piece> single_;
  std::vector<AddedSpecial> prefix_, suffix_;  // the special tokens around $A
  int32_t type_id_ = 0;                        // $A's type id
};

}  // namespace

Status template_processing_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out) {
  std::map<std::string, std::vector<int32_t>> special_ids;
  if (j.contains("special_tokens")) {
    const nlohmann::json& st = j.at("special_tokens");
    if (!st.is_object())
      return make_error("TemplateProcessing \"special_tokens\" must be an object");
    for (const auto& [name, tok] : st.items()) {
      if (!tok.is_object() || !tok.contains("ids") || !tok.at("ids").is_array()) {
        return make_error("TemplateProcessing special token \"%s\" needs an \"ids\" array",
                          name.c_str());
      }
      std::vector<int32_t> ids;
      for (const nlohmann::json& id : tok.at("ids")) {
        if (!id.is_number_integer()) {
          return make_error("TemplateProcessing special token \"%s\" has a non-integer id",
                            name.c_str());
        }
        ids.push_back(id.get<int32_t>());
      }
      special_ids[name] = std::move(ids);
    }
  }
  if (!j.contains("single") || !j.at("single").is_array()) {
    return make_error("TemplateProcessing needs a \"single\" array of pieces");
  }
  std::vector<Piece> single;
  for (const nlohmann::json& item : j.at("single")) {
    const bool is_sequence = item.is_object() && item.contains("Sequence");
    const bool is_special = item.is_object() && item.contains("SpecialToken");
    if (!is_sequence && !is_special) {
      return make_error(
          "TemplateProcessing \"single\" pieces must be {\"Sequence\": ...} or "
          "{\"SpecialToken\": ...}");
    }
    const nlohmann::json& body = item.at(is_sequence ? "Sequence" : "SpecialToken");
    Piece p{is_sequence, "", {}, 0};
    if (body.contains("type_id") && body.at("type_id").is_number_integer()) {
      p.type_id = body.at("type_id").get<int32_t>();
    }
    if (!body.contains("id") || !body.at("id").is_string()) {
      return make_error("TemplateProcessing piece needs a string \"id\"");
    }
    std::string id = body.at("id").get<std::string>();
    if (is_sequence) {
      if (id != "A") return make_error("TemplateProcessing \"single\" may only use sequence A");
    } else {
      auto it = special_ids.find(id);
      if (it == special_ids.end()) {
        return make_error(
            "TemplateProcessing uses special token \"%s\" missing from "
            "\"special_tokens\"",
            id.c_str());
      }
      p.special = id;
      p.ids = it->second;
    }
    single.push_back(std::move(p));
  }
  if (std::count_if(single.begin(), single.end(), [](const Piece& p) { return p.is_sequence; }) !=
      1) {
    return make_error("TemplateProcessing \"single\" must contain the sequence $A exactly once");
  }
  *out = std::make_unique<TemplateProcessing>(std::move(single));
  return Status();
}

}  // namespace embtune
