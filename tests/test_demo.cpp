// `make demo`'s script: scripts/data/foldoc.py (FOLDOC's dictd files to JSONL documents, its
// cleaning rules and its errors, on a hand-written dictionary) and scripts/demo.sh end to end in
// DEMO_QUICK=1 mode with a tiny random model made here (not the starter model, not models/).
// Not a check of the demo's result: a random tiny model learns nothing in a dozen steps.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

const char* kFoldocDir = "/usr/share/dictd";

std::string foldoc_py() { return test::source_dir() + "/scripts/data/foldoc.py"; }

// dictd's base64 numbers: most significant digit first, alphabet A-Za-z0-9+/.
std::string b64(size_t v) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  do {
    s.insert(s.begin(), kAlphabet[v % 64]);
    v /= 64;
  } while (v);
  return s;
}

// A dictionary of the given entries (text of each) in dictd layout: index lines name each headword
// with the entry's offset and length; `heads[i]` are the index headwords of entry i.
void write_dict(const std::string& dir, const std::vector<std::string>& entries,
                const std::vector<std::vector<std::string>>& heads) {
  fs::create_directories(dir);
  std::string data, index;
  for (size_t i = 0; i < entries.size(); i++) {
    for (const std::string& h : heads[i]) index += h + "\t" + b64(data.size()) + "\t" + b64(entries[i].size()) + "\n";
    data += entries[i];
  }
  test::write_text(dir + "/foldoc.index", index);
  test::write_text(dir + "/foldoc.dict", data);
  ASSERT_EQ(run_command("gzip -f " + sh_quote(dir + "/foldoc.dict") + " && mv " + sh_quote(dir + "/foldoc.dict.gz") +
                        " " + sh_quote(dir + "/foldoc.dict.dz"))
                .exit_code,
            0);
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::string text = test::read_text(path), line;
  for (char c : text) {
    if (c != '\n') { line += c; continue; }
    rows.push_back(nlohmann::json::parse(line));
    line.clear();
  }
  return rows;
}

class FoldocScript : public ::testing::Test {
 protected:
  test::CommandResult run(const std::string& dict_dir, const std::string& extra = "") {
    return run_command("python3 " + sh_quote(foldoc_py()) + " --dict-dir " + sh_quote(dict_dir) + " --out " +
                       sh_quote(tmp_.file("docs.jsonl")) + " --corpus " + sh_quote(tmp_.file("corpus.jsonl")) + " " +
                       extra);
  }
  test::TempDir tmp_;
};

const std::vector<std::string> kEntries = {
    "00-database-short\n     The Free On-line Dictionary of Computing\n",
    "Ada Lovelace\nLovelace\n\n   <person> (1815-1852) The first {programmer}, who wrote\n"
    "   notes on the {Analytical Engine} of {Charles Babbage}. See\n   {(https://example.org/ada)}.\n\n"
    "   [{Jargon File}]\n\n   (2003-01-02)\n\n",
    "spoo\n\n   See {foo}.\n\n",
    "tiny\n\n   <jargon> Too short to keep.\n\n   (1999-09-09)\n\n",
    "hash table\n\n   <programming> 1. A table of entries indexed by a {hash\n   function} of the key, so that"
    " lookups take constant time\n   on average. Details at http://example.com/hash or\n"
    "   <someone@example.com>.\n\n       h = key mod n\n\n   2. <algorithm> Also the array behind it.\n\n"
    "   (1997-03-04)\n\n",
};
const std::vector<std::vector<std::string>> kHeads = {
    {"00-database-short"}, {"ada lovelace", "lovelace"}, {"spoo"}, {"tiny"}, {"hash table"}};

TEST_F(FoldocScript, CleansEntriesDropsRedirectsAndShortOnes) {
  write_dict(tmp_.file("dict"), kEntries, kHeads);
  auto r = run(tmp_.file("dict"), "--aliases --min-words 8");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto docs = read_jsonl(tmp_.file("docs.jsonl"));
  const std::string ada =
      "(1815-1852) The first programmer, who wrote notes on the Analytical Engine of Charles Babbage. See.";
  const std::string hash =
      "A table of entries indexed by a hash function of the key, so that lookups take constant time on average. "
      "Details at or. Also the array behind it.";
  ASSERT_EQ(docs.size(), 3u) << test::read_text(tmp_.file("docs.jsonl"));
  EXPECT_EQ(docs[0], (nlohmann::json{{"title", "Ada Lovelace"}, {"text", ada}}));
  EXPECT_EQ(docs[1], (nlohmann::json{{"title", "Lovelace"}, {"text", ada}}));  // the alias, same text
  EXPECT_EQ(docs[2], (nlohmann::json{{"title", "hash table"}, {"text", hash}}));
  const auto corpus = read_jsonl(tmp_.file("corpus.jsonl"));
  ASSERT_EQ(corpus.size(), 2u);
  EXPECT_EQ(corpus[0]["text"], ada);
  EXPECT_EQ(corpus[1]["text"], hash);
  EXPECT_NE(r.out.find("redirects 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("too_short 1"), std::string::npos) << r.out;

  // Without --aliases only the first headword line is a title; --max-words cuts at a sentence end.
  r = run(tmp_.file("dict"), "--min-words 8 --max-words 20");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto cut = read_jsonl(tmp_.file("docs.jsonl"));
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_EQ(cut[1]["text"],
            "A table of entries indexed by a hash function of the key, so that lookups take constant time on average.");
}

TEST_F(FoldocScript, MissingOrMalformedDictionaryIsAnErrorAndWritesNothing) {
  auto expect_error = [&](const std::string& dir, const std::string& needle) {
    auto r = run(dir);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(tmp_.file("docs.jsonl")));
    EXPECT_FALSE(fs::exists(tmp_.file("corpus.jsonl")));
  };
  expect_error(tmp_.file("nowhere"), "foldoc.index: not found (install Debian's dict-foldoc");

  write_dict(tmp_.file("d1"), kEntries, kHeads);
  fs::remove(tmp_.file("d1/foldoc.dict.dz"));
  expect_error(tmp_.file("d1"), "foldoc.dict.dz: not found");

  write_dict(tmp_.file("d2"), kEntries, kHeads);
  test::write_text(tmp_.file("d2/foldoc.dict.dz"), "not gzip at all");
  expect_error(tmp_.file("d2"), "not a readable gzip/dictzip file");

  write_dict(tmp_.file("d3"), kEntries, kHeads);
  test::write_text(tmp_.file("d3/foldoc.index"), "ada\tA\tB\nspoo\tA-\tB\n");
  expect_error(tmp_.file("d3"), "foldoc.index:2: 'A-' is not a dictd base64 number");

  write_dict(tmp_.file("d4"), kEntries, kHeads);
  test::write_text(tmp_.file("d4/foldoc.index"), "ada\tA\n");
  expect_error(tmp_.file("d4"), "foldoc.index:1: expected headword TAB offset TAB length, got 2 field(s)");

  write_dict(tmp_.file("d5"), kEntries, kHeads);
  test::write_text(tmp_.file("d5/foldoc.index"), "ada\tA\tB\nspoo\tB\t////\n");
  expect_error(tmp_.file("d5"), "past the end of the dictionary");

  // A truncated dictzip file (gzip's stream cut short).
  write_dict(tmp_.file("d6"), kEntries, kHeads);
  const std::string gz = test::read_text(tmp_.file("d6/foldoc.dict.dz"));
  test::write_text(tmp_.file("d6/foldoc.dict.dz"), gz.substr(0, gz.size() / 2));
  expect_error(tmp_.file("d6"), "not a readable gzip/dictzip file");
}

bool skip_without_foldoc() {
  if (fs::exists(std::string(kFoldocDir) + "/foldoc.index") && fs::exists(std::string(kFoldocDir) + "/foldoc.dict.dz"))
    return false;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") ADD_FAILURE() << "dict-foldoc is missing under CI=true (scripts/setup.sh installs it)";
  return true;
}

std::string demo_command(const test::TempDir& tmp, const std::string& env) {
  const std::string build = fs::path(test::embtune_bin()).parent_path().string();
  return "cd " + sh_quote(tmp.path()) + " && env " + env + " DEMO_OUT=" + sh_quote(tmp.file("demo-out")) +
         " EMBTUNE_CACHE_DIR=" + sh_quote(tmp.file("cache")) + " bash " +
         sh_quote(test::source_dir() + "/scripts/demo.sh") + " " + sh_quote(build);
}

TEST(DemoScript, QuickRunWritesTheReportAndPrintsTheTable) {
  if (skip_without_foldoc()) GTEST_SKIP() << "dict-foldoc not installed";
  test::TempDir tmp;
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("model"), {"the", "of", "computer", "program", "language", "data",
                                                            "system", "network", "file"}),
            "");
  // Stale output from an earlier run is replaced, not mixed in.
  fs::create_directories(tmp.file("demo-out/stale"));
  auto r = run_command(demo_command(tmp, "DEMO_QUICK=1 MODEL=" + sh_quote(tmp.file("model"))));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("demo-out/stale")));
  for (const char* f : {"report.json", "report.html", "docs.jsonl", "pairs.jsonl", "data/test.jsonl", "tuned/config.json"})
    EXPECT_TRUE(fs::exists(tmp.file(std::string("demo-out/") + f))) << f;
  for (const char* step : {"== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6."})
    EXPECT_NE(r.out.find(step), std::string::npos) << step << "\n" << r.out;
  // The printed table: one row per system with an interval, then the differences.
  for (const char* row : {"starter model ", "tuned model ", "BM25 ", "difference from the starter model"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  const nlohmann::json report = nlohmann::json::parse(test::read_text(tmp.file("demo-out/report.json")));
  ASSERT_EQ(report["systems"].size(), 3u);
  EXPECT_EQ(report["systems"][0]["name"], "base");
  EXPECT_EQ(report["systems"][1]["name"], "tuned");
  EXPECT_EQ(report["systems"][2]["name"], "bm25");
  // Retrieval is over every kept definition, not only the test positives.
  const size_t corpus = read_jsonl(tmp.file("demo-out/corpus.jsonl")).size();
  const size_t test_rows = read_jsonl(tmp.file("demo-out/data/test.jsonl")).size();
  EXPECT_GT(corpus, test_rows);
  EXPECT_NE(r.out.find("over " + std::to_string(corpus) + " documents"), std::string::npos) << r.out;
}

TEST(DemoScript, MissingStarterModelIsAClearError) {
  if (skip_without_foldoc()) GTEST_SKIP() << "dict-foldoc not installed";
  test::TempDir tmp;  // no models/embtune-starter below it
  auto r = run_command(demo_command(tmp, "-u MODEL DEMO_QUICK=1"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("the starter model models/embtune-starter is missing"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("demo-out")));
}

}  // namespace
}  // namespace embtune
