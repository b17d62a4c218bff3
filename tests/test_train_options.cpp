// The declared-once option table of `embtune train`: every field reaches the CLI, JSON round
// trips, --config merges under command-line flags, and bad config files are refused by key.
// Not the engine's use of the options (test_train_cli.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "train/train_options.h"

namespace embtune {
namespace {

using test::run_command;
using test::sh_quote;

TEST(TrainOptions, EveryFieldIsAFlagWithItsHelp) {
  auto r = run_command(sh_quote(test::embtune_bin()) + " train --help");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const TrainOptionField& f : train_option_fields()) {
    const bool on_by_default = f.name == "shuffle";
    const std::string flag = on_by_default ? "--no-" + f.name : f.flag_name();
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
    EXPECT_NE(r.out.find(f.help.substr(0, 20)), std::string::npos) << f.help;
  }
}

TEST(TrainOptions, EveryFieldIsDocumented) {
  const std::string doc = test::read_text(test::source_dir() + "/docs/training.md");
  for (const TrainOptionField& f : train_option_fields()) {
    const std::string flag = f.name == "shuffle" ? "--no-shuffle" : f.flag_name();
    EXPECT_NE(doc.find("`" + flag), std::string::npos) << flag << " is not in docs/training.md";
  }
}

TEST(TrainOptions, JsonRoundTrip) {
  TrainOptions o;
  o.model = "m";
  o.train = "t.jsonl";
  o.loss = "triplet";
  o.columns = {"q", "p", "n"};
  o.lr = 3e-5;
  o.seed = 9;
  o.shuffle = false;
  o.prompt_text = "query: ";
  const nlohmann::json j = train_options_to_json(o);
  EXPECT_FALSE(j.contains("out")) << "invocation settings are not part of the run's options";
  TrainOptions back;
  ASSERT_TRUE(train_options_from_json(j, "cfg.json", &back).ok());
  EXPECT_EQ(train_options_to_json(back), j);
  EXPECT_EQ(*back.prompt_text, "query: ");
  EXPECT_FALSE(TrainOptions().prompt_text.has_value());
}

TEST(TrainOptions, BadConfigKeysAndTypesNameTheKey) {
  TrainOptions o;
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {{R"({"learning_rate": 1})", "learning_rate"},
               {R"({"lr": "fast"})", "\"lr\""},
               {R"({"batch_size": 2.5})", "integer"},
               {R"({"seed": -1})", "seed"},
               {R"({"scheduler": "step"})", "scheduler"},
               {R"({"columns": "a,b"})", "list of strings"},
               {R"([1, 2])", "object"}};
  for (const Case& c : cases) {
    Status s = train_options_from_json(nlohmann::json::parse(c.json), "cfg.json", &o);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_NE(s.message().find("cfg.json"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << s.message();
  }
  // Flag spellings are accepted as keys too.
  ASSERT_TRUE(train_options_from_json(nlohmann::json::parse(R"({"batch-size": 8})"), "cfg.json", &o).ok());
  EXPECT_EQ(o.batch_size, 8);
}

TEST(TrainOptions, ConfigFileUnderCommandLineFlags) {
  test::TempDir tmp;
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("base"), {"question", "answer"}), "");
  std::string rows;
  for (int i = 0; i < 6; i++)
    rows += nlohmann::json({{"anchor", "question " + std::to_string(i)}, {"positive", "answer " + std::to_string(i)}}).dump() + "\n";
  test::write_text(tmp.file("train.jsonl"), rows);
  test::write_text(tmp.file("cfg.json"), nlohmann::json({{"model", tmp.file("base")},
                                                         {"train", tmp.file("train.jsonl")},
                                                         {"max_steps", 2},
                                                         {"batch_size", 3},
                                                         {"lr", 1e-3},
                                                         {"dropout", 0}})
                                             .dump());
  auto r = run_command(sh_quote(test::embtune_bin()) + " train --config " + sh_quote(tmp.file("cfg.json")) + " --out " +
                  sh_quote(tmp.file("out")) + " --lr 2e-4 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto args = nlohmann::json::parse(test::read_text(tmp.file("out/embtune_train.json")));
  EXPECT_EQ(args["max_steps"], 2);
  EXPECT_EQ(args["batch_size"], 3);
  EXPECT_DOUBLE_EQ(args["lr"].get<double>(), 2e-4) << "the command line wins over --config";
  // The written options reproduce the run.
  r = run_command(sh_quote(test::embtune_bin()) + " train --config " + sh_quote(tmp.file("out/embtune_train.json")) +
                  " --out " + sh_quote(tmp.file("again")) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::read_text(tmp.file("out/model.safetensors")), test::read_text(tmp.file("again/model.safetensors")));
  const std::string card = test::read_text(tmp.file("out/README.md"));
  EXPECT_NE(card.find("library_name: sentence-transformers"), std::string::npos);
  EXPECT_NE(card.find("| `--lr` | `0.0002` |"), std::string::npos) << card;

  r = run_command(sh_quote(test::embtune_bin()) + " train --out " + sh_quote(tmp.file("x")) + " --quiet");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--model is required"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace embtune
