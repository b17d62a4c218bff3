// `embtune tokenize`: ids, tokens or offsets of each input line, one JSON array per line.
// Not a trainer or decoder of tokenizers: it runs the encode pipeline only.
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
  int max_length = -1;
};

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
  EncodeOptions eo;
  eo.add_special_tokens = !a.no_special;
  eo.max_length = a.max_length;
  std::vector<Encoding> enc;
  s = tok->encode_batch(lines, eo, &enc);
  if (!s.ok()) return report_error("tokenize", s.wrap(a.input));
  std::string out;
  for (const Encoding& e : enc) {
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < e.ids.size(); i++) {
      if (a.tokens) j.push_back(tok->id_to_token(e.ids[i]));
      else if (a.offsets) j.push_back({e.offsets[i].first, e.offsets[i].second});
      else j.push_back(e.ids[i]);
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
  sub->add_option("--tokenizer", a->tokenizer, "tokenizer.json, vocab.txt, or a model directory")->required();
  sub->add_option("--input", a->input, "Text file, one text per line")->required();
  auto* g = sub->add_option_group("output", "What to print per line (default --ids)");
  g->add_flag("--ids", a->ids, "Token ids");
  g->add_flag("--tokens", a->tokens, "Token strings");
  g->add_flag("--offsets", a->offsets, "[start, end) character offsets into the line");
  g->require_option(0, 1);
  sub->add_flag("--no-special", a->no_special, "Leave out the special tokens the post-processor adds");
  sub->add_option("--max-length", a->max_length, "Truncate to N tokens (special tokens included)")->check(CLI::PositiveNumber);
  on_parsed(sub, [a]() { return run_tokenize(*a); });
}

}  // namespace embtune::cli
