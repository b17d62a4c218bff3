// "TemplateProcessing": the "single" template, e.g. [CLS]:0 $A:0 [SEP]:0, and the "pair" template,
// e.g. [CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1, with the ids of their special tokens.
// Not the template string syntax ("[CLS] $A [SEP]"): tokenizer.json holds the parsed pieces.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "tokenizer/post_processor.h"

namespace embtune {
namespace {

struct Piece {
  bool is_sequence;
  int sequence;              // 0 for $A, 1 for $B when is_sequence
  std::string special;       // the special token's name when !is_sequence
  std::vector<int32_t> ids;  // its ids
  int32_t type_id;
};

class TemplateProcessing : public PostProcessor {
 public:
  TemplateProcessing(std::vector<Piece> single, std::vector<Piece> pair, bool has_pair)
      : single_(std::move(single)), pair_(std::move(pair)), has_pair_(has_pair) {
    bool before = true;
    for (const Piece& p : single_) {
      if (p.is_sequence) {
        before = false;
        type_id_ = p.type_id;
        continue;
      }
      for (int32_t id : p.ids) (before ? prefix_ : suffix_).push_back({id, p.type_id});
    }
    for (const Piece& p : pair_) added_pair_ += static_cast<int>(p.ids.size());
  }

  int added_tokens(bool is_pair) const override {
    return is_pair ? added_pair_ : static_cast<int>(prefix_.size() + suffix_.size());
  }

  void process(Encoding* enc, bool add_special_tokens) const override {
    encoding_wrap(enc, add_special_tokens, prefix_, type_id_, suffix_);
  }

  Status process_encodings(std::vector<Encoding>* encs, bool add_special_tokens) const override {
    // As HF 0.23, which merges one encoding per piece: the template's type ids go to the texts'
    // kept tokens, while their overflowing windows keep the type ids they had (0 for A, 1 for B).
    if (encs->size() == 1) {
      Encoding& e = (*encs)[0];
      process(&e, add_special_tokens);
      if (add_special_tokens) {
        for (Encoding& o : e.overflowing) encoding_add_specials(&o, prefix_, suffix_);
      }
      return Status();
    }
    if (!has_pair_) {
      return make_error("TemplateProcessing has no \"pair\" template, so it cannot encode pairs");
    }
    const Encoding& a = (*encs)[0];
    const Encoding& b = (*encs)[1];
    // HF's apply_template: the windows in the order encoding_merge gives them.
    Encoding merged;
    apply_pair(a, true, b, true, add_special_tokens, &merged);
    for (const Encoding& ao : a.overflowing) {
      merged.overflowing.emplace_back();
      apply_pair(ao, false, b, true, add_special_tokens, &merged.overflowing.back());
      for (const Encoding& bo : b.overflowing) {
        merged.overflowing.emplace_back();
        apply_pair(ao, false, bo, false, add_special_tokens, &merged.overflowing.back());
      }
    }
    for (const Encoding& bo : b.overflowing) {
      merged.overflowing.emplace_back();
      apply_pair(a, true, bo, false, add_special_tokens, &merged.overflowing.back());
    }
    encs->clear();
    encs->push_back(std::move(merged));
    return Status();
  }

  std::string describe() const override {
    std::string d = "TemplateProcessing(";
    for (size_t i = 0; i < single_.size(); ++i) {
      d += (i ? " " : "") + (single_[i].is_sequence ? std::string("$A") : single_[i].special);
    }
    return d + ")";
  }

 private:
  // The pair template over the tokens of `a` and `b` (not their windows), which keep their
  // offsets, mask and sequence ids; they take the template's type ids where `retype_*` (a text's
  // kept tokens), else keep theirs (a window).
  void apply_pair(const Encoding& a, bool retype_a, const Encoding& b, bool retype_b,
                  bool add_special_tokens, Encoding* out) const {
    for (const Piece& p : pair_) {
      if (p.is_sequence) {
        const Encoding& e = p.sequence == 0 ? a : b;
        const size_t n = e.ids.size();
        out->ids.insert(out->ids.end(), e.ids.begin(), e.ids.end());
        if (p.sequence == 0 ? retype_a : retype_b) {
          out->type_ids.insert(out->type_ids.end(), n, p.type_id);
        } else {
          out->type_ids.insert(out->type_ids.end(), e.type_ids.begin(), e.type_ids.end());
        }
        out->offsets.insert(out->offsets.end(), e.offsets.begin(), e.offsets.end());
        out->special_tokens_mask.insert(out->special_tokens_mask.end(),
                                        e.special_tokens_mask.begin(),
                                        e.special_tokens_mask.end());
        if (e.sequence_ids.size() == n) {
          out->sequence_ids.insert(out->sequence_ids.end(), e.sequence_ids.begin(),
                                   e.sequence_ids.end());
        } else {
          out->sequence_ids.insert(out->sequence_ids.end(), n, static_cast<int8_t>(p.sequence));
        }
      } else if (add_special_tokens) {
        for (int32_t id : p.ids) {
          out->ids.push_back(id);
          out->type_ids.push_back(p.type_id);
          out->offsets.emplace_back(0, 0);
          out->special_tokens_mask.push_back(1);
          out->sequence_ids.push_back(-1);
        }
      }
    }
  }

  std::vector<Piece> single_, pair_;
  bool has_pair_;
  std::vector<AddedSpecial> prefix_, suffix_;  // the special tokens around $A
  int32_t type_id_ = 0;                        // $A's type id
  int added_pair_ = 0;
};

// The pieces of the template `key` ("single" or "pair"); "single" may only use sequence A.
Status read_template(const nlohmann::json& j, const char* key,
                     const std::map<std::string, std::vector<int32_t>>& special_ids,
                     std::vector<Piece>* out) {
  const bool single = std::string(key) == "single";
  for (const nlohmann::json& item : j.at(key)) {
    const bool is_sequence = item.is_object() && item.contains("Sequence");
    const bool is_special = item.is_object() && item.contains("SpecialToken");
    if (!is_sequence && !is_special) {
      return make_error(
          "TemplateProcessing \"%s\" pieces must be {\"Sequence\": ...} or "
          "{\"SpecialToken\": ...}",
          key);
    }
    const nlohmann::json& body = item.at(is_sequence ? "Sequence" : "SpecialToken");
    Piece p{is_sequence, 0, "", {}, 0};
    if (body.contains("type_id") && body.at("type_id").is_number_integer()) {
      p.type_id = body.at("type_id").get<int32_t>();
    }
    if (!body.contains("id") || !body.at("id").is_string()) {
      return make_error("TemplateProcessing piece needs a string \"id\"");
    }
    std::string id = body.at("id").get<std::string>();
    if (is_sequence) {
      if (id != "A" && (single || id != "B")) {
        return make_error("TemplateProcessing \"%s\" may only use sequence%s", key,
                          single ? " A" : "s A and B");
      }
      p.sequence = id == "A" ? 0 : 1;
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
    out->push_back(std::move(p));
  }
  return Status();
}

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
  std::vector<Piece> single, pair;
  ET_RETURN_IF_ERROR(read_template(j, "single", special_ids, &single));
  if (std::count_if(single.begin(), single.end(), [](const Piece& p) { return p.is_sequence; }) !=
      1) {
    return make_error("TemplateProcessing \"single\" must contain the sequence $A exactly once");
  }
  // HF requires "pair"; a file without one still encodes single texts here.
  const bool has_pair = j.contains("pair") && !j.at("pair").is_null();
  if (has_pair) {
    if (!j.at("pair").is_array()) {
      return make_error("TemplateProcessing \"pair\" must be an array of pieces");
    }
    ET_RETURN_IF_ERROR(read_template(j, "pair", special_ids, &pair));
  }
  *out = std::make_unique<TemplateProcessing>(std::move(single), std::move(pair), has_pair);
  return Status();
}

}  // namespace embtune
