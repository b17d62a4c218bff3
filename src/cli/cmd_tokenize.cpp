// `embtune tokenize`: ids, tokens, offsets or type ids of each input line (a text, or with --pair
// a pair of texts), one JSON array per line; with --decode the way back, a JSON array of ids per
// line to one JSON string per line. Not a trainer of tokenizers.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "io/text_input.h"
#include "tokenizer/tokenizer.h"

namespace embtune::cli {

namespace {

struct TokenizeArgs {
  std::string tokenizer, input;
  bool ids = false, tokens = false, offsets = false, no_special = false;
  bool decode = false, keep_special = false;
  bool type_ids = false, pair = false, overflow = false;
  int max_length = -1;
  int stride = -1;
  std::string strategy, side;
};

// --pair: a JSON array of two strings, else two texts around one tab.
Status parse_pair(const std::string& line, std::pair<std::string, std::string>* out) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_array() && j.size() == 2 && j[0].is_string() && j[1].is_string()) {
    *out = {j[0].get<std::string>(), j[1].get<std::string>()};
    return Status();
  }
  const size_t tab = line.find('\t');
  if (tab != std::string::npos && line.find('\t', tab + 1) == std::string::npos) {
    *out = {line.substr(0, tab), line.substr(tab + 1)};
    return Status();
  }
  return make_error(
      "not a pair of texts (--pair reads a JSON array of two strings, or two texts separated by "
      "one tab, per line)");
}

// One encoding as the chosen output prints it.
nlohmann::json encoding_json(const Tokenizer& tok, const TokenizeArgs& a, const Encoding& e) {
  nlohmann::json j = nlohmann::json::array();
  for (size_t i = 0; i < e.ids.size(); i++) {
    if (a.tokens) j.push_back(tok.id_to_token(e.ids[i]));
    else if (a.offsets) j.push_back({e.offsets[i].first, e.offsets[i].second});
    else if (a.type_ids) j.push_back(e.type_ids[i]);
    else j.push_back(e.ids[i]);
  }
  return j;
}

// --decode: every line must be a JSON array of integers; nothing is printed unless all decode.
int run_decode(const Tokenizer& tok, const TokenizeArgs& a, const std::vector<std::string>& lines) {
  std::string out;
  std::vector<int32_t> ids;
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json j = nlohmann::json::parse(lines[i], nullptr, false);
    bool ok = j.is_array();
    ids.clear();
    for (size_t k = 0; ok && k < j.size(); ++k) {
      ok = j[k].is_number_integer() && j[k].get<int64_t>() >= INT32_MIN &&
           j[k].get<int64_t>() <= INT32_MAX;
      if (ok) ids.push_back(static_cast<int32_t>(j[k].get<int64_t>()));
    }
    if (!ok) {
      return report_error("tokenize", make_error("%s: line %zu: not a JSON array of integer ids "
                                                 "(--decode reads one such array per line)",
                                                 a.input.c_str(), i + 1));
    }
    Status s = tok.decode(ids, !a.keep_special, &text);
    if (!s.ok()) {
      return report_error("tokenize", s.wrap(a.input + ": line " + std::to_string(i + 1)));
    }
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_tokenize(const TokenizeArgs& a) {
  std::unique_ptr<Tokenizer> tok;
  Status s = Tokenizer::load(a.tokenizer, &tok);
  if (!s.ok()) return report_error("tokenize", s);
  TextInputOptions in;
  in.format = "text";
  in.allow_empty = true;
  std::vector<std::string> lines;
  s = read_texts(a.input, in, &lines);
  if (!s.ok()) return report_error("tokenize", s);
  if (a.decode) return run_decode(*tok, a, lines);
  EncodeOptions eo;
  eo.add_special_tokens = !a.no_special;
  eo.max_length = a.max_length;
  eo.stride = a.stride;
  if (a.strategy == "longest_first") eo.strategy = TruncationStrategy::kLongestFirst;
  if (a.strategy == "only_first") eo.strategy = TruncationStrategy::kOnlyFirst;
  if (a.strategy == "only_second") eo.strategy = TruncationStrategy::kOnlySecond;
  if (a.side == "right") eo.direction = TruncationDirection::kRight;
  if (a.side == "left") eo.direction = TruncationDirection::kLeft;
  std::vector<Encoding> enc;
  if (a.pair) {
    std::vector<std::pair<std::string, std::string>> pairs(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      s = parse_pair(lines[i], &pairs[i]);
      if (!s.ok()) return report_error("tokenize", s.wrap(a.input + ": line " + std::to_string(i + 1)));
    }
    s = tok->encode_pair_batch(pairs, eo, &enc);
  } else {
    // A line holding a JSON string literal is that string (how tabs, newlines and control
    // characters get into a one-text-per-line file), as tokenize_peer.js reads it.
    for (std::string& line : lines) {
      if (line.empty() || line[0] != '"') continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_string()) line = j.get<std::string>();
    }
    s = tok->encode_batch(lines, eo, &enc);
  }
  if (!s.ok()) return report_error("tokenize", s.wrap(a.input));
  std::string out;
  for (const Encoding& e : enc) {
    nlohmann::json j = encoding_json(*tok, a, e);
    if (a.overflow) {
      j = nlohmann::json::array({std::move(j)});
      for (const Encoding& o : e.overflowing) j.push_back(encoding_json(*tok, a, o));
    }
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

void add_tokenize_command(CLI::App& app, const GlobalOptions&) {
  auto a = std::make_shared<TokenizeArgs>();
  CLI::App* sub = app.add_subcommand("tokenize", "Tokenize each line of a file");
  sub->add_option("--tokenizer", a->tokenizer,
                  "tokenizer.json, vocab.txt, a SentencePiece .model, or a model directory")
      ->required();
  sub->add_option("--input", a->input,
                  "Text file, one text per line; a line that is a JSON string literal is decoded first "
                  "(--decode: one JSON array of ids per line)")
      ->required();
  auto* g = sub->add_option_group("output", "What to print per line (default --ids)");
  CLI::Option* ids = g->add_flag("--ids", a->ids, "Token ids");
  CLI::Option* tokens = g->add_flag("--tokens", a->tokens, "Token strings");
  CLI::Option* offsets = g->add_flag("--offsets", a->offsets, "[start, end) character offsets into the line");
  CLI::Option* type_ids = g->add_flag("--type-ids", a->type_ids, "Token type ids (with --pair: 1 for the second text under BERT)");
  g->require_option(0, 1);
  CLI::Option* no_special = sub->add_flag("--no-special", a->no_special, "Leave out the special tokens the post-processor adds");
  CLI::Option* max_length =
      sub->add_option("--max-length", a->max_length, "Truncate to N tokens (special tokens included)")->check(CLI::PositiveNumber);
  CLI::Option* decode = sub->add_flag("--decode", a->decode,
                                      "Decode instead: each line a JSON array of ids, printed as one JSON string");
  CLI::Option* pair = sub->add_flag("--pair", a->pair,
                                    "Each line a pair of texts: a JSON array of two strings, or two texts separated by one tab");
  CLI::Option* stride =
      sub->add_option("--stride", a->stride, "Tokens each overflowing window repeats from the previous one (with truncation)")
          ->check(CLI::NonNegativeNumber);
  CLI::Option* strategy = sub->add_option("--truncation-strategy", a->strategy, "Which text of a pair truncation cuts")
                              ->check(CLI::IsMember({"longest_first", "only_first", "only_second"}));
  CLI::Option* side = sub->add_option("--truncation-side", a->side, "Which end truncation keeps: right keeps the start")
                          ->check(CLI::IsMember({"right", "left"}));
  CLI::Option* overflow = sub->add_flag("--overflow", a->overflow,
                                        "Also print what truncation cut off: each line becomes a JSON array of arrays, the kept "
                                        "encoding first, then each overflowing window");
  decode->excludes(ids)->excludes(tokens)->excludes(offsets)->excludes(no_special)->excludes(max_length);
  for (CLI::Option* o : {type_ids, pair, stride, strategy, side, overflow}) decode->excludes(o);
  sub->add_flag("--keep-special", a->keep_special,
                "With --decode: keep the special tokens (by default they are skipped, as tokenizers' decode does)")
      ->needs(decode);
  on_parsed(sub, [a]() { return run_tokenize(*a); });
}

}  // namespace embtune::cli
