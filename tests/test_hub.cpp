// Hub downloads against a fake Hugging Face hub run in-process (cpp-httplib on 127.0.0.1, plus a
// second server as its "CDN"): listing, redirects, 404s, dropped connections and Range resumption,
// sha256 checks, the cache layout on disk, offline use, tokens, and `embtune --model org/name`.
// Not a test of the real hub (no network here).
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "io/hub.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;
using test::TempDir;

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

struct RepoFile {
  std::string path, content;
  bool lfs = false;
  std::string etag;  // sha256 (LFS) or git blob sha1, computed by sha256sum / git hash-object
};

// A request as one of the fake servers saw it.
struct Seen {
  std::string server, method, path, range, authorization;
};

std::string tool_hash(const std::string& cmd, const std::string& content) {
  TempDir tmp;
  test::write_text(tmp.file("f"), content);
  const auto r = run_command(cmd + " " + sh_quote(tmp.file("f")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return r.out.substr(0, r.out.find_first_of(" \n"));
}

// The model repo "org/tiny" at kCommit: an `embtune init` model plus files embtune must skip.
// "old-org/tiny" redirects (relative Location) to it, as the hub does for a renamed repo;
// "org/pickled" has only pytorch_model.bin.
class FakeHub {
 public:
  explicit FakeHub(std::vector<RepoFile> files) : files_(std::move(files)) {
    for (const char* v : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) unsetenv(v);
    hub_.set_tcp_nodelay(true);
    cdn_.set_tcp_nodelay(true);
    hub_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      record("hub", req);
      const std::string repo = req.matches[1].str() + "/" + req.matches[2].str(), rev = req.matches[3];
      if (req.matches[1] == "old-org") {
        res.status = 307;
        res.set_header("Location", "/api/models/org/" + req.matches[2].str() + "/revision/" + rev);
        return;
      }
      if (repo == "org/pickled") {
        res.set_content(nlohmann::json({{"id", repo}, {"sha", kCommit},
                                        {"siblings", {{{"rfilename", "config.json"}}, {{"rfilename", "pytorch_model.bin"}},
                                                      {{"rfilename", "vocab.txt"}}}}}).dump(),
                        "application/json");
        return;
      }
      if (repo == "org/gated") {
        res.status = 401;
        res.set_header("X-Error-Code", "GatedRepo");
        res.set_header("X-Error-Message", "Access to model org/gated is restricted");
        return;
      }
      if (repo != "org/tiny") return not_found(res, "RepoNotFound", "Repository not found");
      if (rev != "main" && rev != kCommit) return not_found(res, "RevisionNotFound", "Invalid rev id: " + rev);
      nlohmann::json siblings = nlohmann::json::array();
      for (const auto& f : files_) siblings.push_back({{"rfilename", f.path}});
      res.set_content(nlohmann::json({{"id", repo}, {"modelId", repo}, {"sha", kCommit}, {"siblings", siblings}}).dump(),
                      "application/json");
    });
    hub_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      record("hub", req);
      if (req.matches[1] == "old-org") {
        res.status = 307;
        res.set_header("Location", "/org/" + req.matches[2].str() + "/resolve/" + req.matches[3].str() + "/" +
                                       req.matches[4].str());
        return;
      }
      const RepoFile* f = find(req.matches[4]);
      if (req.matches[1].str() + "/" + req.matches[2].str() != "org/tiny" || !f)
        return not_found(res, "EntryNotFound", "Entry not found");
      res.set_header("X-Repo-Commit", kCommit);
      if (f->lfs) {
        res.status = 302;
        res.set_header("X-Linked-Etag", "\"" + f->etag + "\"");
        res.set_header("X-Linked-Size", std::to_string(f->content.size()));
        res.set_header("ETag", "\"0000000000000000000000000000000000000000\"");  // the LFS pointer's
        res.set_header("Location", cdn_url() + "/cdn/" + f->etag + "?signature=x");
        return;
      }
      res.set_header("ETag", "\"" + f->etag + "\"");
      res.set_content(f->content, "application/octet-stream");
    });
    cdn_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
      record("cdn", req);
      const RepoFile* f = nullptr;
      for (const auto& x : files_)
        if (x.lfs && x.etag == req.matches[1]) f = &x;
      if (!f) return not_found(res, "", "no such object");
      std::string content = f->content;
      if (corrupt_) content[content.size() / 3] ^= 0x20;
      const bool drop = drops_left_.fetch_sub(1) > 0;
      if (!drop && ignore_range_) {
        // A server without Range support: 200 and the whole file (chunked, which httplib does not
        // cut to the requested range).
        res.status = 200;
        res.set_chunked_content_provider("application/octet-stream", [content](size_t, httplib::DataSink& sink) {
          sink.write(content.data(), content.size());
          sink.done();
          return true;
        });
        return;
      }
      // httplib answers a Range request with 206 and calls the provider from the range's start.
      res.set_content_provider(content.size(), "application/octet-stream",
                               [content, drop](size_t offset, size_t length, httplib::DataSink& sink) {
                                 if (drop) {  // half of what was asked, then the connection closes
                                   sink.write(content.data() + offset, length / 2);
                                   return false;
                                 }
                                 sink.write(content.data() + offset, length);
                                 return true;
                               });
    });
    start(hub_, &hub_port_, &hub_thread_);
    start(cdn_, &cdn_port_, &cdn_thread_);
  }
  ~FakeHub() { stop(); }

  void stop() {
    for (auto [server, thread] : {std::pair{&hub_, &hub_thread_}, std::pair{&cdn_, &cdn_thread_}}) {
      if (!thread->joinable()) continue;
      server->stop();
      thread->join();
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(hub_port_); }
  std::string cdn_url() const { return "http://127.0.0.1:" + std::to_string(cdn_port_); }
  // The next n CDN transfers break off halfway.
  void drop_next(int n) { drops_left_ = n; }
  void set_corrupt(bool c) { corrupt_ = c; }
  void set_ignore_range(bool i) { ignore_range_ = i; }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  void clear_seen() {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.clear();
  }
  const std::vector<RepoFile>& files() const { return files_; }
  const RepoFile* find(const std::string& path) const {
    for (const auto& f : files_)
      if (f.path == path) return &f;
    return nullptr;
  }

 private:
  static void start(httplib::Server& s, int* port, std::thread* t) {
    *port = s.bind_to_any_port("127.0.0.1");
    *t = std::thread([&s] { s.listen_after_bind(); });
    while (!s.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  static void not_found(httplib::Response& res, const std::string& code, const std::string& message) {
    res.status = 404;
    if (!code.empty()) res.set_header("X-Error-Code", code);
    res.set_header("X-Error-Message", message);
    res.set_content(nlohmann::json({{"error", message}}).dump(), "application/json");
  }
  void record(const char* server, const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back({server, req.method, req.path, req.get_header_value("Range"), req.get_header_value("Authorization")});
  }

  std::vector<RepoFile> files_;
  httplib::Server hub_, cdn_;
  int hub_port_ = -1, cdn_port_ = -1;
  std::thread hub_thread_, cdn_thread_;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::atomic<int> drops_left_{0};
  std::atomic<bool> corrupt_{false}, ignore_range_{false};
};

// Files embtune must never request, whatever the listing says.
const char* const kSkipped[] = {"pytorch_model.bin", "tf_model.h5", "onnx/model.onnx", "onnx/config.json",
                                "openvino/openvino_model.xml", ".gitattributes", "rust_model.ot"};

class Hub : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_tmp_ = new TempDir;
    model_dir_ = model_tmp_->file("tiny");
    const std::string err = test::make_tiny_word_model(model_dir_, {"hello", "world", "model", "hub"});
    ASSERT_EQ(err, "");
    test::write_text(model_dir_ + "/README.md", "# tiny\n");
    for (auto& e : fs::recursive_directory_iterator(model_dir_)) {
      if (!e.is_regular_file()) continue;
      RepoFile f;
      f.path = fs::relative(e.path(), model_dir_).string();
      f.content = test::read_text(e.path().string());
      f.lfs = f.path.size() > 12 && f.path.substr(f.path.size() - 12) == ".safetensors";
      repo_.push_back(f);
    }
    for (const char* s : kSkipped) repo_.push_back({s, std::string("not for embtune: ") + s, s[0] != '.', ""});
    for (auto& f : repo_) f.etag = tool_hash(f.lfs ? "sha256sum" : "git hash-object", f.content);
  }
  static void TearDownTestSuite() {
    delete model_tmp_;
    model_tmp_ = nullptr;
    repo_.clear();
  }

  HubOptions options(const FakeHub& hub) const {
    HubOptions o;
    o.endpoint = hub.url();
    o.cache_dir = tmp_.file("hub");
    o.token = "hf_secret";
    o.quiet = true;
    o.timeout_s = 5;
    o.retries = 2;
    o.retry_delay_ms = 1;
    return o;
  }
  std::string repo_root() const { return tmp_.file("hub/models--org--tiny"); }

  static TempDir* model_tmp_;
  static std::string model_dir_;
  static std::vector<RepoFile> repo_;
  TempDir tmp_;
};
TempDir* Hub::model_tmp_ = nullptr;
std::string Hub::model_dir_;
std::vector<RepoFile> Hub::repo_;

std::string link_target(const std::string& path) {
  std::error_code ec;
  return fs::read_symlink(path, ec).string();
}

int count(const std::vector<Seen>& seen, const std::string& server, const std::string& method = "") {
  int n = 0;
  for (const auto& s : seen) n += s.server == server && (method.empty() || s.method == method);
  return n;
}

TEST(HubSpec, ParsesIdsAndRevisionsAndRefusesOthers) {
  HubSpec s;
  ASSERT_TRUE(hub_parse_spec("sentence-transformers/all-MiniLM-L6-v2", &s).ok());
  EXPECT_EQ(s.repo_id, "sentence-transformers/all-MiniLM-L6-v2");
  EXPECT_EQ(s.revision, "main");
  ASSERT_TRUE(hub_parse_spec("BAAI/bge-small-en-v1.5@refs/pr/1", &s).ok());
  EXPECT_EQ(s.repo_id, "BAAI/bge-small-en-v1.5");
  EXPECT_EQ(s.revision, "refs/pr/1");
  ASSERT_TRUE(hub_parse_spec("org/name@" + kCommit, &s).ok());
  EXPECT_EQ(s.revision, kCommit);
  for (const char* bad : {"name", "a/b/c", "org/", "/name", "org/-x", "org/x.", "or--g/x", "org/a..b", "org/name@",
                          "org/name@../x", "org/name@a//b", "org/na me", "./x"}) {
    const Status st = hub_parse_spec(bad, &s);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.message().find(bad), std::string::npos) << st.message();
  }
  TempDir tmp;
  ASSERT_EQ(mkdir(tmp.file("org").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(tmp.file("org/name").c_str(), 0755), 0);
  const std::string cwd = fs::current_path().string();
  fs::current_path(tmp.path());
  EXPECT_FALSE(looks_like_hub_id("org/name"));  // an existing directory wins
  EXPECT_TRUE(looks_like_hub_id("org/other"));
  EXPECT_TRUE(looks_like_hub_id("org/other@v1.0"));
  fs::current_path(cwd);
  EXPECT_FALSE(looks_like_hub_id(tmp.path()));
  HubOptions o;
  o.cache_dir = "/c";
  EXPECT_EQ(hub_repo_cache_dir(o, "org/name"), "/c/models--org--name");
}

TEST(HubSpec, DownloadsOnlyWhatAModelDirectoryNeeds) {
  const std::vector<std::string> none;
  for (const char* yes : {"config.json", "model.safetensors", "model-00001-of-00002.safetensors",
                          "model.safetensors.index.json", "vocab.txt", "merges.txt", "tokenizer.json",
                          "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model", "spiece.model",
                          "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                          "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors", "README.md"})
    EXPECT_TRUE(hub_file_wanted(yes, none)) << yes;
  for (const char* no : {"pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack",
                         "rust_model.ot", "model.onnx", "onnx/model.onnx", "onnx/config.json", "openvino/openvino_model.xml",
                         "openvino/openvino_model.bin", "2_Dense/pytorch_model.bin", ".gitattributes", "train_script.py",
                         "docs/README.md", "1_Pooling/README.md", "../config.json", "a/../config.json", "/config.json"})
    EXPECT_FALSE(hub_file_wanted(no, none)) << no;
  EXPECT_FALSE(hub_file_wanted("dense/config.json", none));
  EXPECT_TRUE(hub_file_wanted("dense/config.json", {"dense"}));  // a folder modules.json names
}

// Sets environment variables for one test and restores them.
class ScopedEnv {
 public:
  void set(const char* name, const char* value) {
    if (!saved_.count(name)) {
      const char* old = std::getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST(HubEnv, ReadsTheVariablesHuggingfaceHubReads) {
  TempDir tmp;
  ScopedEnv env;
  for (const char* v : {"HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_TOKEN",
                        "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"})
    env.set(v, nullptr);
  env.set("HOME", tmp.path().c_str());
  HubOptions o = HubOptions::from_env();
  EXPECT_EQ(o.endpoint, "https://huggingface.co");
  EXPECT_EQ(o.cache_dir, tmp.path() + "/.cache/huggingface/hub");
  EXPECT_EQ(o.token, "");
  EXPECT_FALSE(o.offline);

  env.set("XDG_CACHE_HOME", tmp.file("xdg").c_str());
  EXPECT_EQ(HubOptions::from_env().cache_dir, tmp.file("xdg") + "/huggingface/hub");
  env.set("HF_HOME", tmp.file("hf").c_str());
  EXPECT_EQ(HubOptions::from_env().cache_dir, tmp.file("hf") + "/hub");
  ASSERT_EQ(mkdir(tmp.file("hf").c_str(), 0755), 0);
  test::write_text(tmp.file("hf/token"), "hf_from_file\n");
  EXPECT_EQ(HubOptions::from_env().token, "hf_from_file");
  env.set("HF_TOKEN", "hf_from_env");
  EXPECT_EQ(HubOptions::from_env().token, "hf_from_env");
  env.set("HF_HUB_CACHE", tmp.file("cache").c_str());
  env.set("HF_ENDPOINT", "http://127.0.0.1:1/mirror/");
  o = HubOptions::from_env();
  EXPECT_EQ(o.cache_dir, tmp.file("cache"));
  EXPECT_EQ(o.endpoint, "http://127.0.0.1:1/mirror");
  for (const char* yes : {"1", "true", "ON", "yes"}) {
    env.set("HF_HUB_OFFLINE", yes);
    EXPECT_TRUE(HubOptions::from_env().offline) << yes;
  }
  for (const char* no : {"0", "false", ""}) {
    env.set("HF_HUB_OFFLINE", no);
    EXPECT_FALSE(HubOptions::from_env().offline) << no;
  }
}

TEST_F(Hub, DownloadsIntoTheHubCacheLayout) {
  FakeHub hub(repo_);
  std::string dir;
  const Status s = hub_snapshot("org/tiny", options(hub), &dir);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(dir, repo_root() + "/snapshots/" + kCommit);
  EXPECT_EQ(test::read_text(repo_root() + "/refs/main"), kCommit);

  for (const auto& f : hub.files()) {
    const std::string pointer = dir + "/" + f.path;
    const bool skipped = std::find_if(std::begin(kSkipped), std::end(kSkipped),
                                      [&](const char* x) { return f.path == x; }) != std::end(kSkipped);
    if (skipped) {
      EXPECT_FALSE(fs::exists(fs::symlink_status(pointer))) << f.path;
      continue;
    }
    // snapshots/<commit>/<path> -> ../../blobs/<etag>, one more ../ per folder in <path>.
    std::string up = "../../";
    for (char c : f.path) up += c == '/' ? "../" : "";
    EXPECT_TRUE(fs::is_symlink(pointer)) << f.path;
    EXPECT_EQ(link_target(pointer), up + "blobs/" + f.etag) << f.path;
    EXPECT_EQ(test::read_text(repo_root() + "/blobs/" + f.etag), f.content) << f.path;
    EXPECT_EQ(test::read_text(pointer), f.content) << f.path;
  }
  EXPECT_EQ(link_target(dir + "/1_Pooling/config.json").substr(0, 9), "../../../");
  for (auto& e : fs::directory_iterator(repo_root() + "/blobs"))
    EXPECT_EQ(e.path().extension(), "") << e.path();  // no .incomplete left

  const auto seen = hub.seen();
  for (const auto& r : seen) {
    for (const char* x : kSkipped) EXPECT_EQ(r.path.find(x), std::string::npos) << r.path;
    // The token goes to the hub, never to the CDN on another host.
    EXPECT_EQ(r.authorization, r.server == "hub" ? "Bearer hf_secret" : "") << r.server << " " << r.path;
  }
  EXPECT_EQ(seen.front().path, "/api/models/org/tiny/revision/main");
  EXPECT_EQ(count(seen, "cdn", "GET"), 1);  // model.safetensors, the only LFS file wanted

  // The directory loads as the model and is what the source directory was.
  for (const char* f : {"config.json", "vocab.txt", "modules.json", "1_Pooling/config.json", "model.safetensors"})
    EXPECT_EQ(test::read_text(dir + "/" + f), test::read_text(model_dir_ + "/" + f)) << f;
}

TEST_F(Hub, SecondCallOnlyAsksForTheListing) {
  FakeHub hub(repo_);
  std::string dir1, dir2;
  ASSERT_TRUE(hub_snapshot("org/tiny", options(hub), &dir1).ok());
  hub.clear_seen();
  const Status s = hub_snapshot("org/tiny", options(hub), &dir2);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(dir1, dir2);
  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/api/models/org/tiny/revision/main");

  // A pointer whose blob was deleted is fetched again, and only that file.
  const RepoFile* vocab = hub.find("vocab.txt");
  ASSERT_TRUE(vocab);
  fs::remove(repo_root() + "/blobs/" + vocab->etag);
  hub.clear_seen();
  ASSERT_TRUE(hub_snapshot("org/tiny", options(hub), &dir2).ok());
  EXPECT_EQ(hub.seen().size(), 3u);  // listing, HEAD and GET of vocab.txt
  EXPECT_EQ(test::read_text(dir2 + "/vocab.txt"), vocab->content);
}

TEST_F(Hub, ConcurrentRunsFetchEachFileOnce) {
  FakeHub hub(repo_);
  std::string dirs[2];
  Status st[2];
  std::thread a([&] { st[0] = hub_snapshot("org/tiny", options(hub), &dirs[0]); });
  std::thread b([&] { st[1] = hub_snapshot("org/tiny", options(hub), &dirs[1]); });
  a.join();
  b.join();
  ASSERT_TRUE(st[0].ok()) << st[0].message();
  ASSERT_TRUE(st[1].ok()) << st[1].message();
  EXPECT_EQ(dirs[0], dirs[1]);
  std::map<std::string, int> gets;
  for (const auto& r : hub.seen())
    if (r.method == "GET" && r.path.find("/api/") != 0) gets[r.path]++;
  for (const auto& [path, n] : gets) EXPECT_EQ(n, 1) << path;
  EXPECT_EQ(test::read_text(dirs[0] + "/model.safetensors"), hub.find("model.safetensors")->content);
  for (auto& e : fs::recursive_directory_iterator(repo_root()))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(Hub, CommitRevisionAndRenamedRepo) {
  FakeHub hub(repo_);
  std::string dir;
  // Relative redirects (a renamed repo) are followed for the listing and for every file.
  Status s = hub_snapshot("old-org/tiny", options(hub), &dir);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(dir, tmp_.file("hub/models--old-org--tiny/snapshots/") + kCommit);
  EXPECT_EQ(test::read_text(dir + "/config.json"), test::read_text(model_dir_ + "/config.json"));
  // A commit hash needs no ref.
  s = hub_snapshot("org/tiny@" + kCommit, options(hub), &dir);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(dir, repo_root() + "/snapshots/" + kCommit);
  EXPECT_FALSE(fs::exists(repo_root() + "/refs"));
}

TEST_F(Hub, MissingRepoOrRevisionIsAClearError) {
  FakeHub hub(repo_);
  std::string dir;
  Status s = hub_snapshot("org/nonesuch", options(hub), &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("org/nonesuch"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("HTTP 404 (Repository not found)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("never downloaded"), std::string::npos) << s.message();
  s = hub_snapshot("org/tiny@v9", options(hub), &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("org/tiny@v9"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("revision \"v9\" not found"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(repo_root()));

  HubOptions no_token = options(hub);
  no_token.token.clear();
  s = hub_snapshot("org/gated", no_token, &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("HTTP 401 (Access to model org/gated is restricted)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("HF_TOKEN"), std::string::npos) << s.message();

  s = hub_snapshot("org/pickled", options(hub), &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pytorch_model.bin"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("safetensors only"), std::string::npos) << s.message();
}

TEST_F(Hub, DroppedConnectionResumesWithRange) {
  FakeHub hub(repo_);
  const RepoFile* weights = hub.find("model.safetensors");
  ASSERT_TRUE(weights);
  const int64_t size = static_cast<int64_t>(weights->content.size());
  hub.drop_next(1);
  std::string dir;
  const Status s = hub_snapshot("org/tiny", options(hub), &dir);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<std::string> ranges;
  for (const auto& r : hub.seen())
    if (r.server == "cdn") ranges.push_back(r.range);
  EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=" + std::to_string(size / 2) + "-"}));
  EXPECT_EQ(test::read_text(dir + "/model.safetensors"), weights->content);
}

TEST_F(Hub, ServerIgnoringRangeRestartsTheFile) {
  FakeHub hub(repo_);
  hub.drop_next(1);
  hub.set_ignore_range(true);
  std::string dir;
  const Status s = hub_snapshot("org/tiny", options(hub), &dir);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(count(hub.seen(), "cdn"), 2);
  EXPECT_EQ(test::read_text(dir + "/model.safetensors"), hub.find("model.safetensors")->content);
}

TEST_F(Hub, InterruptedRunLeavesNoBlobAndTheNextRunResumes) {
  FakeHub hub(repo_);
  const RepoFile* weights = hub.find("model.safetensors");
  ASSERT_TRUE(weights);
  const int64_t size = static_cast<int64_t>(weights->content.size());
  hub.drop_next(100);
  HubOptions o = options(hub);
  o.retries = 1;
  std::string dir;
  Status s = hub_snapshot("org/tiny", o, &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model.safetensors"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("resumes"), std::string::npos) << s.message();
  const std::string blob = repo_root() + "/blobs/" + weights->etag;
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(fs::symlink_status(repo_root() + "/snapshots/" + kCommit + "/model.safetensors")));
  EXPECT_FALSE(fs::exists(repo_root() + "/refs/main"));  // offline use sees no snapshot
  // Each attempt gets half of what is left, which resets the retries (as in huggingface_hub), until
  // one byte is left and two attempts bring nothing.
  const int64_t kept = size - 1;
  ASSERT_EQ(static_cast<int64_t>(fs::file_size(blob + ".incomplete")), kept);
  EXPECT_NE(s.message().find("at " + std::to_string(kept) + " of " + std::to_string(size) + " bytes"), std::string::npos)
      << s.message();
  HubOptions offline = o;
  offline.offline = true;
  EXPECT_FALSE(hub_snapshot("org/tiny", offline, &dir).ok());

  hub.drop_next(0);
  hub.clear_seen();
  s = hub_snapshot("org/tiny", o, &dir);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<std::string> ranges;
  for (const auto& r : hub.seen())
    if (r.server == "cdn") ranges.push_back(r.range);
  EXPECT_EQ(ranges, (std::vector<std::string>{"bytes=" + std::to_string(kept) + "-"}));
  EXPECT_EQ(test::read_text(blob), weights->content);
  EXPECT_FALSE(fs::exists(blob + ".incomplete"));
}

TEST_F(Hub, WrongSha256IsAnErrorAndLeavesNothing) {
  FakeHub hub(repo_);
  hub.set_corrupt(true);
  const RepoFile* weights = hub.find("model.safetensors");
  std::string dir;
  const Status s = hub_snapshot("org/tiny", options(hub), &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sha256"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(weights->etag), std::string::npos) << s.message();
  const std::string blob = repo_root() + "/blobs/" + weights->etag;
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(blob + ".incomplete"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(repo_root() + "/snapshots/" + kCommit + "/model.safetensors")));
}

TEST_F(Hub, OfflineAndUnreachableHubUseTheCache) {
  std::string dir, cached;
  HubOptions o;
  {
    FakeHub hub(repo_);
    o = options(hub);
    HubOptions offline = o;
    offline.offline = true;
    Status s = hub_snapshot("org/tiny", offline, &dir);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("HF_HUB_OFFLINE"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("refs/main"), std::string::npos) << s.message();
    EXPECT_TRUE(hub.seen().empty());
    ASSERT_TRUE(hub_snapshot("org/tiny", o, &cached).ok());
  }
  // The servers are gone: offline mode asks nothing, a failing hub falls back with a warning.
  HubOptions offline = o;
  offline.offline = true;
  Status s = hub_snapshot("org/tiny", offline, &dir);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(dir, cached);
  ASSERT_TRUE(hub_snapshot("org/tiny@" + kCommit, offline, &dir).ok());
  EXPECT_EQ(dir, cached);
  testing::internal::CaptureStderr();
  s = hub_snapshot("org/tiny", o, &dir);
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(dir, cached);
  EXPECT_NE(err.find("warning"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot reach"), std::string::npos) << err;
  // Not in the cache and no hub: the error names the model and what is missing.
  s = hub_snapshot("org/other", o, &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("org/other"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("cannot reach"), std::string::npos) << s.message();
  // A snapshot whose blob is gone is not complete.
  for (auto& e : fs::directory_iterator(repo_root() + "/blobs")) fs::remove(e.path());
  s = hub_snapshot("org/tiny", offline, &dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("its blob is gone"), std::string::npos) << s.message();
}

TEST_F(Hub, CommandsTakeHubIds) {
  FakeHub hub(repo_);
  const std::string bin = sh_quote(test::embtune_bin());
  const std::string env = "env -u HF_TOKEN -u HF_HUB_OFFLINE -u HF_HUB_CACHE -u HUGGINGFACE_HUB_CACHE -u HF_TOKEN_PATH "
                          "HF_ENDPOINT=" + hub.url() + " HF_HOME=" + sh_quote(tmp_.file("hf")) + " ";
  test::write_text(tmp_.file("in.txt"), "hello world\nhub model\n");
  auto r = run_command(bin + " embed --model " + sh_quote(model_dir_) + " --input " + sh_quote(tmp_.file("in.txt")) +
                       " --output " + sh_quote(tmp_.file("local.jsonl")) + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(env + bin + " -q embed --model org/tiny --input " + sh_quote(tmp_.file("in.txt")) + " --output " +
                  sh_quote(tmp_.file("hub.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "");  // -q: no progress, no notes
  EXPECT_EQ(test::read_text(tmp_.file("hub.jsonl")), test::read_text(tmp_.file("local.jsonl")));
  const std::string snapshot = tmp_.file("hf/hub/models--org--tiny/snapshots/") + kCommit;
  EXPECT_TRUE(fs::is_symlink(snapshot + "/model.safetensors"));

  r = run_command(env + "HF_HUB_OFFLINE=1 " + bin + " download org/tiny");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, snapshot + "\n");
  r = run_command(env + bin + " download org/nonesuch");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("download: error: hub model org/nonesuch@main"), std::string::npos) << r.out;
  r = run_command(env + bin + " info --model org/nonesuch");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("org/nonesuch: no such local directory"), std::string::npos) << r.out;

  // Training from a hub id copies the files, not the cache's symlinks.
  test::write_text(tmp_.file("train.jsonl"), "{\"anchor\": \"hello\", \"positive\": \"world\"}\n"
                                             "{\"anchor\": \"hub\", \"positive\": \"model\"}\n");
  r = run_command(env + bin + " train --model org/tiny --train " + sh_quote(tmp_.file("train.jsonl")) + " --out " +
                  sh_quote(tmp_.file("tuned")) + " --batch-size 2 --max-steps 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* f : {"config.json", "vocab.txt", "1_Pooling/config.json", "model.safetensors"}) {
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(tmp_.file("tuned/") + f))) << f;
  }
  EXPECT_EQ(test::read_text(tmp_.file("tuned/vocab.txt")), test::read_text(model_dir_ + "/vocab.txt"));
  // The model card names the base model as the hub does.
  EXPECT_NE(test::read_text(tmp_.file("tuned/README.md")).find("base_model: org/tiny\n"), std::string::npos);
}

}  // namespace
}  // namespace embtune
