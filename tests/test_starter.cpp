// The starter model: its recipe (scripts/starter/) run at a reduced size so that it cannot rot, the
// WordNet reader's errors, `train --save-dtype`, and the committed model under models/.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace embtune;
using namespace embtune::test;

namespace {

std::string build_dir() { return fs::path(embtune_bin()).parent_path().string(); }

// WordNet (Debian wordnet-base) is needed by the recipe; under CI=true its absence is a failure.
bool skip_without_wordnet() {
  if (fs::exists("/usr/share/wordnet/data.noun")) return false;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") ADD_FAILURE() << "wordnet-base is missing under CI=true (scripts/setup.sh installs it)";
  return true;
}

std::vector<std::vector<float>> embed(const std::string& model, const std::string& input, const std::string& dir) {
  const std::string out = dir + "/emb.jsonl";
  CommandResult r = run_command(sh_quote(embtune_bin()) + " -q embed --model " + sh_quote(model) + " --input " +
                                sh_quote(input) + " --output " + sh_quote(out));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::vector<float>> rows;
  std::ifstream f(out);
  for (std::string line; std::getline(f, line);) rows.push_back(nlohmann::json::parse(line).get<std::vector<float>>());
  return rows;
}

const std::string kLine1 =
    "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04431553 n 0000 | that which is perceived "
    "or known or inferred to have its own distinct existence (living or nonliving)  \n";
const std::string kLine2 =
    "00002137 03 n 02 abstraction 0 abstract_entity 0 000 | a general concept formed by extracting common features; "
    "\"the abstraction of the common properties\"; \"an abstract idea\"  \n";
const std::string kComputing =
    "06999999 10 n 01 compiler_pass 0 001 ;c 06128570 n 0000 | one pass of a compiler over the program  \n";

void write_wordnet(const std::string& dir, const std::string& noun) {
  fs::create_directories(dir);
  write_text(dir + "/data.noun", "  1 This software and database is being provided\n" + noun);
  for (const char* p : {"verb", "adj", "adv"}) write_text(dir + "/data." + p, "");
}

}  // namespace

TEST(StarterWordnet, ReadsLemmasDefinitionsExamplesAndLeavesOutComputing) {
  TempDir tmp;
  write_wordnet(tmp.file("wn"), kLine1 + kLine2 + kComputing);
  CommandResult r = run_command("python3 " + sh_quote(source_dir() + "/scripts/starter/wordnet.py") + " --wordnet-dir " +
                                sh_quote(tmp.file("wn")) + " --out " + sh_quote(tmp.file("docs.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream f(tmp.file("docs.jsonl"));
  std::vector<nlohmann::json> docs;
  for (std::string line; std::getline(f, line);) docs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(docs.size(), 2u);  // the computing-domain synset is left out
  EXPECT_EQ(docs[0]["title"], "entity");
  EXPECT_EQ(docs[0]["text"],
            "that which is perceived or known or inferred to have its own distinct existence (living or nonliving).");
  EXPECT_EQ(docs[1]["title"], "abstraction, abstract entity");
  EXPECT_EQ(docs[1]["text"],
            "a general concept formed by extracting common features. the abstraction of the common properties. an "
            "abstract idea.");
  EXPECT_NE(r.out.find("1 of the computing domains left out"), std::string::npos) << r.out;
}

TEST(StarterWordnet, MalformedOrMissingDataIsAnErrorNamingFileAndLineWithNoOutput) {
  TempDir tmp;
  write_wordnet(tmp.file("wn"), kLine1 + "00002137 03 n zz abstraction | broken\n");
  const std::string cmd = "python3 " + sh_quote(source_dir() + "/scripts/starter/wordnet.py") + " --out " +
                          sh_quote(tmp.file("docs.jsonl")) + " --wordnet-dir ";
  CommandResult r = run_command(cmd + sh_quote(tmp.file("wn")));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("data.noun:3: malformed synset line"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("docs.jsonl")));

  write_wordnet(tmp.file("wn2"), kLine1 + "00002137 03 n 01 abstraction 0 000 no gloss bar\n");
  r = run_command(cmd + sh_quote(tmp.file("wn2")));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("data.noun:3: no ' | ' before the gloss"), std::string::npos) << r.out;

  r = run_command(cmd + sh_quote(tmp.file("absent")));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("install the Debian package wordnet-base"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("docs.jsonl")));
}

// --save-dtype f16 writes F16 tensors equal to the f32 run's weights rounded to f16.
TEST(StarterTrain, SaveDtypeF16WritesTheF32WeightsRounded) {
  TempDir tmp;
  ASSERT_EQ(make_tiny_word_model(tmp.file("base"), {"cat", "dog", "sat", "mat", "ran", "far", "the", "a"}), "");
  std::string rows;
  const char* words[] = {"cat", "dog", "sat", "mat", "ran", "far"};
  for (int i = 0; i < 24; i++)
    rows += nlohmann::json({{"anchor", std::string("the ") + words[i % 6] + " " + words[(i + 1) % 6]},
                            {"positive", std::string("a ") + words[(i + 2) % 6] + " " + words[i % 6] + " far"}})
                .dump() +
            "\n";
  write_text(tmp.file("train.jsonl"), rows);
  const std::string cmd = sh_quote(embtune_bin()) + " -q train --model " + sh_quote(tmp.file("base")) + " --train " +
                          sh_quote(tmp.file("train.jsonl")) + " --batch-size 8 --max-steps 3 --lr 1e-3 --out ";
  CommandResult r = run_command(cmd + sh_quote(tmp.file("f32")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(cmd + sh_quote(tmp.file("f16")) + " --save-dtype f16");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(cmd + sh_quote(tmp.file("bad")) + " --save-dtype f8");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("bad/model.safetensors")));

  SafetensorsFile a, b;
  ASSERT_TRUE(a.open(tmp.file("f32/model.safetensors")).ok());
  ASSERT_TRUE(b.open(tmp.file("f16/model.safetensors")).ok());
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const TensorView& t : a.tensors()) {
    const TensorView* h = b.find(t.name);
    ASSERT_NE(h, nullptr) << t.name;
    EXPECT_EQ(t.dtype, DType::F32) << t.name;
    EXPECT_EQ(h->dtype, DType::F16) << t.name;
    std::vector<float> x(t.numel()), y(t.numel());
    ASSERT_TRUE(tensor_to_f32(t, x.data()).ok());
    ASSERT_TRUE(tensor_to_f32(*h, y.data()).ok());
    for (size_t i = 0; i < x.size(); i++)  // f16: 11 significant bits; subnormals below 6e-5
      ASSERT_LE(std::fabs(x[i] - y[i]), std::fabs(x[i]) * (1.0f / 2048) + 6e-8f) << t.name << "[" << i << "]";
  }
}

// The whole recipe at a reduced size (200 synsets per part of speech, 5 steps): every step runs,
// the model is written in f16 with its test report, and it embeds.
TEST(StarterRecipe, ReducedRunWritesAnF16ModelWithItsTestReport) {
  if (skip_without_wordnet()) GTEST_SKIP() << "wordnet-base not installed";
  TempDir tmp;
  const std::string out = tmp.file("starter");
  CommandResult r = run_command("cd " + sh_quote(source_dir()) + " && STARTER_QUICK=1 WORK=" + sh_quote(tmp.file("work")) +
                                " bash scripts/starter/make_starter.sh " + sh_quote(build_dir()) + " " + sh_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* step : {"1/6", "2/6", "3/6", "4/6", "5/6", "6/6", "done"})
    EXPECT_NE(r.out.find(std::string("== ") + step), std::string::npos) << step;
  SafetensorsFile w;
  ASSERT_TRUE(w.open(out + "/model.safetensors").ok());
  const TensorView* emb = w.find("embeddings.word_embeddings.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->dtype, DType::F16);
  EXPECT_EQ(emb->shape, (std::vector<int64_t>{2000, 256}));
  const nlohmann::json report = nlohmann::json::parse(read_text(out + "/test_report/report.json"));
  const std::string dump = report.dump();
  for (const char* system : {"\"base\"", "\"tuned\"", "\"bm25\""}) EXPECT_NE(dump.find(system), std::string::npos) << system;
  EXPECT_TRUE(fs::exists(out + "/test_report/report.html"));
  EXPECT_TRUE(fs::exists(out + "/README.md"));
  EXPECT_TRUE(fs::exists(out + "/prepare_report.json"));
  for (const char* f : {"/embtune_train.json", "/prepare_report.json", "/README.md"})  // no path of the machine
    EXPECT_EQ(read_text(out + f).find(tmp.file("work")), std::string::npos) << f;
  EXPECT_NE(read_text(out + "/README.md").find("Against BM25 as the baseline"), std::string::npos);
  write_text(tmp.file("texts.txt"), "a dog barked\nthe cat sat\n");
  auto e = embed(out, tmp.file("texts.txt"), tmp.path());
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].size(), 256u);
}

// The committed starter model: its size limit, its storage type and shape, and that it ranks
// definitions above unrelated ones for plain English words (a property a random model lacks).
TEST(StarterModel, CommittedModelIsSmallF16AndRetrievesDefinitions) {
  const std::string dir = source_dir() + "/models/embtune-starter";
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors")) << dir;
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) bytes += e.file_size();
  EXPECT_LE(bytes, 25u * 1000 * 1000) << "the starter model must stay within 25 MB";
  SafetensorsFile w;
  ASSERT_TRUE(w.open(dir + "/model.safetensors").ok());
  for (const TensorView& t : w.tensors()) EXPECT_EQ(t.dtype, DType::F16) << t.name;
  for (const char* f : {"README.md", "tokenizer.json", "vocab.txt", "modules.json", "config.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;

  TempDir tmp;
  const std::vector<std::string> words = {"dog", "bread", "river", "happy", "run", "music"};
  const std::vector<std::string> defs = {
      "a domesticated animal kept as a pet that barks and wags its tail",
      "a food baked from flour and water and yeast",
      "a large natural stream of water flowing to the sea",
      "feeling or showing pleasure and contentment",
      "move fast on foot, faster than walking",
      "an art of sound in time expressing ideas and emotions through melody and rhythm"};
  std::string text;
  for (const auto& s : words) text += s + "\n";
  for (const auto& s : defs) text += s + "\n";
  write_text(tmp.file("texts.txt"), text);
  auto e = embed(dir, tmp.file("texts.txt"), tmp.path());
  ASSERT_EQ(e.size(), 12u);
  int right = 0;
  for (size_t q = 0; q < words.size(); q++) {
    size_t best = 0;
    float best_score = -2;
    for (size_t d = 0; d < defs.size(); d++) {
      float s = 0;
      for (size_t k = 0; k < e[q].size(); k++) s += e[q][k] * e[words.size() + d][k];
      if (s > best_score) best_score = s, best = d;
    }
    right += best == q;
  }
  std::printf("starter model: %d of 6 words put their own definition first\n", right);
  EXPECT_GE(right, 4) << "of 6 words, the starter model should put its own definition first (a random model: 1 expected)";
}

// "--model embtune-starter" names the bundled model: found beside the binary (a build tree inside
// the source tree), or under $EMBTUNE_MODELS_DIR; absent everywhere, a clear error.
TEST(StarterModel, TheNameEmbtuneStarterFindsTheBundledModel) {
  TempDir tmp;
  write_text(tmp.file("t.txt"), "a dog barked\n");
  const std::string embed_cmd = " -q embed --model embtune-starter --input " + sh_quote(tmp.file("t.txt")) + " --output ";
  CommandResult r = run_command("cd " + sh_quote(tmp.path()) + " && " + sh_quote(embtune_bin()) + embed_cmd +
                                sh_quote(tmp.file("a.jsonl")));
  if (fs::path(embtune_bin()).parent_path().parent_path() == fs::path(source_dir())) {
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(nlohmann::json::parse(read_text(tmp.file("a.jsonl"))).size(), 256u);
  }
  // A copy elsewhere, named by EMBTUNE_MODELS_DIR, gives the same embedding.
  ASSERT_EQ(make_tiny_word_model(tmp.file("models/embtune-starter"), {"dog", "barked"}), "");
  r = run_command("cd " + sh_quote(tmp.path()) + " && EMBTUNE_MODELS_DIR=" + sh_quote(tmp.file("models")) + " " +
                  sh_quote(embtune_bin()) + embed_cmd + sh_quote(tmp.file("b.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(read_text(tmp.file("b.jsonl"))).size(), 128u);  // the tiny model's width
  // Nowhere to be found: a copied binary with no models beside it.
  fs::create_directories(tmp.file("bin/bin"));
  fs::copy_file(embtune_bin(), tmp.file("bin/bin/embtune"));
  fs::permissions(tmp.file("bin/bin/embtune"), fs::perms::owner_all);
  r = run_command("cd " + sh_quote(tmp.path()) + " && EMBTUNE_MODELS_DIR= " + sh_quote(tmp.file("bin/bin/embtune")) +
                  embed_cmd + sh_quote(tmp.file("c.jsonl")));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("the starter model was not found"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("c.jsonl")));
}
