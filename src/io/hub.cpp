// Hugging Face hub downloads: the settings huggingface_hub reads from the environment, the file
// listing, HEAD/GET of each file (redirects, tokens, Range resumption), the blob/snapshot/refs
// cache and its offline use. Not a general HTTP client, and not the model loader.
#include "io/hub.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/file.h"
#include "core/progress.h"
#include "core/strings.h"

namespace embtune {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_quiet{false};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// huggingface_hub's _is_true: "1", "ON", "YES" or "TRUE" in any case.
bool env_is_true(const char* name) {
  std::string v = env(name);
  for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

std::string expand_home(const std::string& p) {
  if (p == "~" || p.rfind("~/", 0) == 0) return env("HOME") + p.substr(1);
  return p;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) b++;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) e--;
  return s.substr(b, e - b);
}

bool is_hex(const std::string& s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_commit_hash(const std::string& s) { return is_hex(s, 40); }

// One part of a repo id: the hub's alphabet, no leading/trailing '-' or '.', no "--" or "..".
bool valid_id_part(const std::string& s) {
  if (s.empty() || s.size() > 96) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  if (s.front() == '-' || s.front() == '.' || s.back() == '-' || s.back() == '.') return false;
  return s.find("--") == std::string::npos && s.find("..") == std::string::npos;
}

// A relative path whose '/'-separated components are all non-empty and none "." or "..": no
// leading or trailing '/', no "//", nothing that climbs out of the folder it is joined to.
bool plain_relative_path(const std::string& p) {
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    const std::string_view part(p.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// A revision becomes a file under refs/: a plain relative path of [A-Za-z0-9-_./].
bool valid_revision(const std::string& r) {
  if (r.size() > 256) return false;
  for (char c : r)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '/') return false;
  return plain_relative_path(r);
}

// A repo file name from the listing becomes a path under the snapshot: a plain relative path
// without backslashes or control characters.
bool safe_repo_path(const std::string& p) {
  for (unsigned char c : p)
    if (c < 0x20 || c == '\\' || c == 0x7f) return false;
  return plain_relative_path(p);
}

// Percent-encoding of everything but RFC 3986's unreserved characters and those in `safe`.
std::string url_quote(const std::string& s, const char* safe) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (c && std::strchr(safe, c))) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// "https://host:port" of a URL ("" when it has no scheme), and the host:port part alone.
std::string url_origin(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t path = url.find_first_of("/?#", scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}
std::string url_netloc(const std::string& url) {
  const std::string o = url_origin(url);
  const size_t scheme = o.find("://");
  return scheme == std::string::npos ? "" : o.substr(scheme + 3);
}

// A Location header made absolute against the URL that sent it.
std::string resolve_location(const std::string& base, const std::string& loc) {
  if (loc.find("://") != std::string::npos) return loc;
  if (!loc.empty() && loc[0] == '/') return url_origin(base) + loc;
  const size_t query = base.find_first_of("?#", url_origin(base).size());
  const std::string path = base.substr(0, query);
  return path.substr(0, path.rfind('/') + 1) + loc;
}

// huggingface_hub's _normalize_etag: W/"x" and "x" both give x.
std::string normalize_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

std::string format_size(int64_t bytes) {
  char buf[32];
  if (bytes >= 1000 * 1000) std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  else if (bytes >= 1000) std::snprintf(buf, sizeof buf, "%.1f kB", bytes / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld B", (long long)bytes);
  return buf;
}

Status make_dirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("%s: cannot create directory: %s", dir.c_str(), ec.message().c_str());
  return Status::ok_status();
}

Status sha256_file(const std::string& path, std::string* hex_out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("%s: cannot open: %s", path.c_str(), std::strerror(errno));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
  std::vector<unsigned char> buf(1 << 20);
  ssize_t n = 0;
  while (ok && (n = read(fd, buf.data(), buf.size())) > 0) ok = EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n)) == 1;
  const int read_errno = errno;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  ok = ok && n == 0 && EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
  EVP_MD_CTX_free(ctx);
  close(fd);
  if (!ok) return make_error("%s: cannot compute sha256: %s", path.c_str(), n < 0 ? std::strerror(read_errno) : "OpenSSL failed");
  static const char* hex = "0123456789abcdef";
  hex_out->clear();
  for (unsigned int i = 0; i < md_len; i++) {
    *hex_out += hex[md[i] >> 4];
    *hex_out += hex[md[i] & 15];
  }
  return Status::ok_status();
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct HttpReply {
  long status = 0;                             // of the last response (0: none arrived)
  std::map<std::string, std::string> headers;  // of the last response; names lower-cased
  std::string body;                            // what was not written to the file (capped)
  std::string transport_error;                 // "" when the exchange completed
  bool content_range_mismatch = false;         // a 206 that does not start where we asked
};

// What the callbacks of one transfer share.
struct Transfer {
  HttpReply* reply = nullptr;
  int fd = -1;          // the file the body of a 200/206 goes to; -1: into reply->body
  int64_t offset = 0;   // bytes in the file
  bool checked = false; // the first body byte of the final response was seen
  Progress* progress = nullptr;
  int write_errno = 0;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->reply->headers.clear();
    const size_t sp = line.find(' ');
    t->reply->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    t->checked = false;
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->reply->headers[name] = trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  const long status = t->reply->status;
  if (t->fd < 0 || (status != 200 && status != 206)) {
    if (t->reply->body.size() < 65536) t->reply->body.append(data, std::min<size_t>(len, 65536));
    return len;
  }
  if (!t->checked) {
    t->checked = true;
    if (status == 200 && t->offset > 0) {
      // The server ignored the Range header: start the file over.
      if (ftruncate(t->fd, 0) != 0) {
        t->write_errno = errno;
        return 0;
      }
      t->offset = 0;
    } else if (status == 206) {
      const std::string& cr = t->reply->headers["content-range"];  // "bytes START-END/TOTAL"
      const size_t sp = cr.find(' ');
      if (sp == std::string::npos || std::strtoll(cr.c_str() + sp + 1, nullptr, 10) != t->offset) {
        t->reply->content_range_mismatch = true;
        return 0;
      }
    }
  }
  for (size_t done = 0; done < len;) {
    const ssize_t w = write(t->fd, data + done, len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      t->write_errno = errno;
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  t->offset += static_cast<int64_t>(len);
  if (t->progress) t->progress->update((t->offset + 999) / 1000);  // kB, rounded up as the total is
  return len;
}

// One libcurl handle for all the requests of a snapshot, so connections are reused.
class HubHttp {
 public:
  explicit HubHttp(const HubOptions& opt) : opt_(opt) { curl_ = curl_easy_init(); }
  ~HubHttp() {
    if (curl_) curl_easy_cleanup(curl_);
  }
  HubHttp(const HubHttp&) = delete;
  HubHttp& operator=(const HubHttp&) = delete;

  // method: "GET" or "HEAD". follow: let libcurl follow redirects (it does not pass our
  // Authorization header on to another host). auth: send the token. fd >= 0: a 200/206 body is
  // appended to it, resuming at *offset with a Range request when *offset > 0.
  HttpReply request(const char* method, const std::string& url, bool follow, bool auth, int fd = -1,
                    int64_t* offset = nullptr, Progress* progress = nullptr) {
    HttpReply reply;
    if (!curl_) {
      reply.transport_error = "libcurl failed to initialise";
      return reply;
    }
    Transfer t;
    t.reply = &reply;
    t.fd = fd;
    t.offset = offset ? *offset : 0;
    t.progress = progress;
    curl_easy_reset(curl_);
    struct curl_slist* headers = nullptr;
    if (auth && !opt_.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + opt_.token).c_str());
    char errbuf[CURL_ERROR_SIZE] = {0};
    const std::string range = std::to_string(t.offset) + "-";
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    if (std::strcmp(method, "HEAD") == 0) curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
    else curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    if (fd >= 0 && t.offset > 0) curl_easy_setopt(curl_, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "embtune/0.1.0");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    const long timeout_ms = static_cast<long>(opt_.timeout_s * 1000);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, std::max(1L, timeout_ms / 1000));
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &t);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (offset) *offset = t.offset;
    if (t.write_errno) {
      reply.transport_error = std::string("cannot write the file: ") + std::strerror(t.write_errno);
    } else if (reply.content_range_mismatch) {
      reply.transport_error = "the server answered the Range request with other bytes (Content-Range: " +
                              reply.headers["content-range"] + ")";
    } else if (rc != CURLE_OK) {
      reply.transport_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    }
    return reply;
  }

 private:
  const HubOptions& opt_;
  CURL* curl_ = nullptr;
};

// "HTTP 404 (Repository not found)": the status with the hub's X-Error-Message or JSON error.
std::string describe_http_error(const HttpReply& r) {
  std::string why;
  auto it = r.headers.find("x-error-message");
  if (it != r.headers.end()) why = it->second;
  if (why.empty()) {
    const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) why = j["error"].get<std::string>();
  }
  std::string s = "HTTP " + std::to_string(r.status);
  if (!why.empty()) s += " (" + why + ")";
  if (r.status == 401 || r.status == 403)
    s += "; a private or gated model needs a token: set HF_TOKEN or log in with `hf auth login`";
  return s;
}

// ---------------------------------------------------------------------------------------------
// The cache

struct RepoCache {
  std::string root;   // <cache>/models--org--name
  std::string locks;  // <cache>/.locks/models--org--name
  std::string blob(const std::string& etag) const { return root + "/blobs/" + etag; }
  std::string snapshot(const std::string& commit) const { return root + "/snapshots/" + commit; }
  std::string ref(const std::string& revision) const { return root + "/refs/" + revision; }
};

// The files of a snapshot that a model directory cannot do without, and whether each resolves:
// "" when the snapshot is complete, else what is missing.
std::string snapshot_missing(const std::string& dir) {
  if (!dir_exists(dir)) return dir + " (never downloaded)";
  std::string missing;
  auto add = [&](const std::string& what) { missing += (missing.empty() ? "" : ", ") + what; };
  std::error_code ec;
  bool weights = false;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = it->path().lexically_relative(dir).string();  // fs::relative would follow the link
    struct stat st;
    if (stat(it->path().c_str(), &st) != 0) {
      add(rel + " (its blob is gone)");
      continue;
    }
    if (ends_with(rel, ".safetensors")) weights = true;
  }
  if (ec) add(dir + " (unreadable: " + ec.message() + ")");
  if (!file_exists(dir + "/config.json") && !file_exists(dir + "/0_Transformer/config.json")) add("config.json");
  if (!weights) add("model.safetensors");
  for (const char* index : {"/model.safetensors.index.json", "/0_Transformer/model.safetensors.index.json"}) {
    const std::string path = dir + index;
    std::string text;
    if (!file_exists(path) || !read_file(path, &text).ok()) continue;
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) continue;
    std::set<std::string> shards;
    for (auto& [k, v] : j["weight_map"].items())
      if (v.is_string()) shards.insert(v.get<std::string>());
    const std::string folder = fs::path(path).parent_path().string();
    for (const std::string& s : shards)
      if (!safe_repo_path(s) || !file_exists(folder + "/" + s)) add(s);
  }
  return missing;
}

// The snapshot a revision names in the cache (a commit hash directly, else through refs/), or
// "" with *missing saying why not.
std::string cached_snapshot(const RepoCache& c, const std::string& revision, std::string* missing) {
  std::string commit = revision;
  if (!is_commit_hash(revision)) {
    std::string text;
    if (!file_exists(c.ref(revision)) || !read_file(c.ref(revision), &text).ok()) {
      *missing = c.ref(revision) + " (the revision was never downloaded)";
      return "";
    }
    commit = trim(text);
    if (!is_commit_hash(commit)) {
      *missing = c.ref(revision) + " (holds no commit hash)";
      return "";
    }
  }
  const std::string dir = c.snapshot(commit);
  *missing = snapshot_missing(dir);
  return missing->empty() ? dir : "";
}

// An exclusive lock on a file under .locks/, released when the object dies (and by the kernel if
// the process does).
class FileLock {
 public:
  ~FileLock() {
    if (fd_ >= 0) close(fd_);
  }
  Status lock(const std::string& path) {
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return make_error("%s: cannot create lock file: %s", path.c_str(), std::strerror(errno));
    while (flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) return make_error("%s: cannot lock: %s", path.c_str(), std::strerror(errno));
    return Status::ok_status();
  }

 private:
  int fd_ = -1;
};

struct FileMeta {
  std::string etag, location;
  int64_t size = -1;
  bool auth_for_location = true;
};

struct SnapshotRun {
  const HubOptions& opt;
  HubHttp& http;
  RepoCache cache;
  std::string repo_id;
  std::string name;    // "org/name@revision" for messages
  std::string commit;
  int files_fetched = 0;
  int64_t bytes_fetched = 0;
};

// huggingface_hub's get_hf_file_metadata: HEAD without following redirects except relative ones
// (a renamed repo); an LFS file answers with a redirect to its CDN, and its sha256 and size in
// X-Linked-Etag and X-Linked-Size.
Status head_file(SnapshotRun& run, const std::string& file, FileMeta* meta) {
  std::string url = run.opt.endpoint + "/" + url_quote(run.repo_id, "/") + "/resolve/" +
                    url_quote(run.commit, "") + "/" + url_quote(file, "/");
  const std::string first = url;
  HttpReply r;
  for (int hop = 0;; hop++) {
    r = run.http.request("HEAD", url, false, true);
    if (!r.transport_error.empty()) return make_error("%s: %s", url.c_str(), r.transport_error.c_str());
    if (r.status < 300 || r.status > 399) break;
    const std::string loc = r.headers["location"];
    if (loc.empty()) return make_error("%s: HTTP %ld redirect without a Location", url.c_str(), r.status);
    if (loc.find("://") != std::string::npos) break;  // to another host (a CDN): the GET goes there
    if (hop == 10) return make_error("%s: more than 10 redirects", first.c_str());
    url = resolve_location(url, loc);
  }
  if (r.status >= 400) return make_error("%s: %s", url.c_str(), describe_http_error(r).c_str());
  const std::string commit = r.headers["x-repo-commit"];
  if (!commit.empty() && commit != run.commit)
    return make_error("%s: the hub answered for commit %s, not the listed %s", url.c_str(), commit.c_str(), run.commit.c_str());
  const std::string linked = r.headers["x-linked-etag"];
  meta->etag = normalize_etag(linked.empty() ? r.headers["etag"] : linked);
  const std::string size = r.headers.count("x-linked-size") ? r.headers["x-linked-size"] : r.headers["content-length"];
  meta->size = size.empty() ? -1 : std::strtoll(size.c_str(), nullptr, 10);
  meta->location = (r.status >= 300 && r.status <= 399) ? r.headers["location"] : url;
  // A signed CDN URL gets no token (huggingface_hub drops it when the host differs).
  meta->auth_for_location = url_netloc(meta->location) == url_netloc(first);
  if (meta->etag.empty() || meta->etag.find('/') != std::string::npos || meta->etag == "." || meta->etag == "..")
    return make_error("%s: the hub sent no usable ETag (got \"%s\"), so the file cannot be cached", url.c_str(),
                      meta->etag.c_str());
  if (meta->size < 0) return make_error("%s: the hub sent no X-Linked-Size or Content-Length", url.c_str());
  return Status::ok_status();
}

// Fetches a blob into blobs/<etag>: appends to blobs/<etag>.incomplete (resuming what an earlier
// run left), checks size and sha256, then renames it into place, so blobs/<etag> is only ever
// complete. A lock under .locks/ keeps two processes from writing the same .incomplete.
Status fetch_blob(SnapshotRun& run, const std::string& file, const FileMeta& meta) {
  const std::string blob = run.cache.blob(meta.etag);
  if (file_exists(blob)) return Status::ok_status();
  ET_RETURN_IF_ERROR(make_dirs(run.cache.root + "/blobs"));
  ET_RETURN_IF_ERROR(make_dirs(run.cache.locks));
  FileLock lock;
  ET_RETURN_IF_ERROR(lock.lock(run.cache.locks + "/" + meta.etag + ".lock"));
  if (file_exists(blob)) return Status::ok_status();  // another process finished it meanwhile

  const std::string part = blob + ".incomplete";
  const int fd = open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("%s: cannot create: %s", part.c_str(), std::strerror(errno));
  struct CloseFd {
    int fd;
    ~CloseFd() { close(fd); }
  } close_fd{fd};
  auto file_size = [&]() {
    struct stat st;
    return fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
  };
  int64_t offset = file_size();
  if (offset > meta.size) {
    if (ftruncate(fd, 0) != 0) return make_error("%s: cannot truncate: %s", part.c_str(), std::strerror(errno));
    offset = 0;
  }
  const int64_t resumed_at = offset;
  std::unique_ptr<Progress> progress;
  if (!run.opt.quiet && meta.size >= (1 << 20))
    progress = std::make_unique<Progress>(file, (meta.size + 999) / 1000, "kB", true);
  int tries_left = run.opt.retries;
  while (offset < meta.size) {
    const int64_t before = offset;
    HttpReply r = run.http.request("GET", meta.location, true, meta.auth_for_location, fd, &offset, progress.get());
    offset = file_size();
    if (r.transport_error.empty() && r.status >= 400 && r.status != 416)
      return make_error("%s: %s: %s", file.c_str(), meta.location.c_str(), describe_http_error(r).c_str());
    if (r.status == 416) {
      // The server has fewer bytes than we hold: start over.
      if (ftruncate(fd, 0) != 0) return make_error("%s: cannot truncate: %s", part.c_str(), std::strerror(errno));
      offset = 0;
    }
    if (r.transport_error.empty() && r.status != 416 && offset >= meta.size) break;
    const std::string why = !r.transport_error.empty() ? r.transport_error
                            : r.status == 416         ? "HTTP 416 (range not satisfiable)"
                                                      : "the server closed the transfer early";
    if (offset > before) tries_left = run.opt.retries;
    else tries_left--;
    if (tries_left < 0)
      return make_error("%s: the download from %s broke off at %lld of %lld bytes (%s); the bytes so far are kept in "
                        "%s and the next run resumes from there",
                        file.c_str(), meta.location.c_str(), (long long)offset, (long long)meta.size, why.c_str(), part.c_str());
    if (!run.opt.quiet)
      std::fprintf(stderr, "embtune: %s: %s at %lld of %lld bytes; resuming\n", file.c_str(), why.c_str(),
                   (long long)offset, (long long)meta.size);
    std::this_thread::sleep_for(std::chrono::milliseconds(run.opt.retry_delay_ms));
  }
  if (progress) progress->finish();
  if (offset != meta.size) {
    unlink(part.c_str());
    return make_error("%s: received %lld bytes from %s but the hub announced %lld; the partial file was deleted, run again",
                      file.c_str(), (long long)offset, meta.location.c_str(), (long long)meta.size);
  }
  if (is_hex(meta.etag, 64)) {
    std::string sha;
    ET_RETURN_IF_ERROR(sha256_file(part, &sha));
    if (sha != meta.etag) {
      unlink(part.c_str());
      return make_error("%s: sha256 of the download is %s but the hub says %s; the file was deleted (run again; if it "
                        "repeats, the server or a proxy corrupts it)",
                        file.c_str(), sha.c_str(), meta.etag.c_str());
    }
  }
  if (fsync(fd) != 0) return make_error("%s: cannot sync: %s", part.c_str(), std::strerror(errno));
  if (std::rename(part.c_str(), blob.c_str()) != 0)
    return make_error("%s: cannot rename into place: %s", blob.c_str(), std::strerror(errno));
  run.files_fetched++;
  run.bytes_fetched += meta.size - resumed_at;
  return Status::ok_status();
}

// snapshots/<commit>/<file> -> ../../blobs/<etag> (one more ../ per folder in <file>), replaced
// atomically.
Status link_pointer(const SnapshotRun& run, const std::string& file, const std::string& etag) {
  const std::string pointer = run.cache.snapshot(run.commit) + "/" + file;
  ET_RETURN_IF_ERROR(make_dirs(fs::path(pointer).parent_path().string()));
  std::string target;
  for (size_t i = 0, depth = std::count(file.begin(), file.end(), '/') + 2; i < depth; i++) target += "../";
  target += "blobs/" + etag;
  const std::string tmp = temp_path_beside(pointer);
  unlink(tmp.c_str());
  if (symlink(target.c_str(), tmp.c_str()) != 0)
    return make_error("%s: cannot create symlink: %s", tmp.c_str(), std::strerror(errno));
  if (std::rename(tmp.c_str(), pointer.c_str()) != 0) {
    const int e = errno;
    unlink(tmp.c_str());
    return make_error("%s: cannot rename into place: %s", pointer.c_str(), std::strerror(e));
  }
  return Status::ok_status();
}

// One file of the snapshot: nothing to do when its pointer resolves, else HEAD, fetch, link.
Status ensure_file(SnapshotRun& run, const std::string& file) {
  struct stat st;
  if (stat((run.cache.snapshot(run.commit) + "/" + file).c_str(), &st) == 0 && S_ISREG(st.st_mode))
    return Status::ok_status();
  FileMeta meta;
  ET_RETURN_IF_ERROR(head_file(run, file, &meta));
  ET_RETURN_IF_ERROR(fetch_blob(run, file, meta));
  return link_pointer(run, file, meta.etag);
}

bool is_module_dir(const std::string& dir, const std::vector<std::string>& module_dirs) {
  // sentence-transformers saves module i of class C as "<i>_<C>" (1_Pooling, 2_Dense, 0_Transformer).
  size_t i = 0;
  while (i < dir.size() && std::isdigit(static_cast<unsigned char>(dir[i]))) i++;
  if (i > 0 && i + 1 < dir.size() && dir[i] == '_') return true;
  return std::find(module_dirs.begin(), module_dirs.end(), dir) != module_dirs.end();
}

// Folders whose weights exist only as PyTorch pickles (or TF/Flax), which embtune cannot read.
std::string pickle_only_folders(const std::vector<std::string>& files, const std::vector<std::string>& module_dirs) {
  std::map<std::string, std::pair<bool, std::string>> by_dir;  // folder -> (has safetensors, a pickle file)
  for (const std::string& f : files) {
    const size_t slash = f.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : f.substr(0, slash);
    const std::string base = slash == std::string::npos ? f : f.substr(slash + 1);
    if (!dir.empty() && !is_module_dir(dir, module_dirs)) continue;
    if (ends_with(base, ".safetensors")) by_dir[dir].first = true;
    if ((base.rfind("pytorch_model", 0) == 0 && ends_with(base, ".bin")) || ends_with(base, ".pt") ||
        ends_with(base, ".pth") || base == "tf_model.h5" || base == "flax_model.msgpack")
      if (by_dir[dir].second.empty()) by_dir[dir].second = f;
  }
  std::string out;
  for (auto& [dir, v] : by_dir)
    if (!v.first && !v.second.empty()) out += (out.empty() ? "" : ", ") + v.second;
  return out;
}

std::vector<std::string> modules_json_dirs(const std::string& snapshot) {
  std::vector<std::string> dirs;
  std::string text;
  if (!read_file(snapshot + "/modules.json", &text).ok()) return dirs;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return dirs;
  for (const auto& m : j)
    if (m.is_object() && m.contains("path") && m["path"].is_string() && safe_repo_path(m["path"].get<std::string>()))
      dirs.push_back(m["path"].get<std::string>());
  return dirs;
}

Status hub_error(const std::string& name, const std::string& what) {
  return make_error("hub model %s: %s", name.c_str(), what.c_str());
}

}  // namespace

// ---------------------------------------------------------------------------------------------

HubOptions HubOptions::from_env() {
  HubOptions o;
  if (!env("HF_ENDPOINT").empty()) o.endpoint = env("HF_ENDPOINT");
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  std::string home = expand_home(env("HF_HOME"));
  if (home.empty()) {
    std::string xdg = expand_home(env("XDG_CACHE_HOME"));
    if (xdg.empty() && !env("HOME").empty()) xdg = env("HOME") + "/.cache";
    if (!xdg.empty()) home = xdg + "/huggingface";
  }
  o.cache_dir = expand_home(env("HF_HUB_CACHE"));
  if (o.cache_dir.empty()) o.cache_dir = expand_home(env("HUGGINGFACE_HUB_CACHE"));
  if (o.cache_dir.empty() && !home.empty()) o.cache_dir = home + "/hub";
  o.token = trim(env("HF_TOKEN"));
  if (o.token.empty()) o.token = trim(env("HUGGING_FACE_HUB_TOKEN"));
  if (o.token.empty()) {
    std::string path = expand_home(env("HF_TOKEN_PATH"));
    if (path.empty() && !home.empty()) path = home + "/token";
    std::string text;
    if (!path.empty() && file_exists(path) && read_file(path, &text).ok()) o.token = trim(text);
  }
  o.offline = env_is_true("HF_HUB_OFFLINE") || env_is_true("TRANSFORMERS_OFFLINE");
  o.quiet = g_quiet;
  return o;
}

void hub_set_quiet(bool quiet) { g_quiet = quiet; }

Status hub_parse_spec(const std::string& spec, HubSpec* out) {
  const size_t at = spec.find('@');
  const std::string id = spec.substr(0, at);
  const size_t slash = id.find('/');
  if (slash == std::string::npos || id.find('/', slash + 1) != std::string::npos || !valid_id_part(id.substr(0, slash)) ||
      !valid_id_part(id.substr(slash + 1)))
    return make_error("\"%s\" is not a hub model id: expected org/name or org/name@revision (letters, digits, '-', '_', '.')",
                      spec.c_str());
  HubSpec s;
  s.repo_id = id;
  if (at != std::string::npos) {
    s.revision = spec.substr(at + 1);
    if (!valid_revision(s.revision))
      return make_error("\"%s\": \"%s\" is not a revision (a branch, tag or commit hash)", spec.c_str(), s.revision.c_str());
  }
  *out = s;
  return Status::ok_status();
}

bool looks_like_hub_id(const std::string& s) {
  struct stat st;
  if (lstat(s.c_str(), &st) == 0) return false;
  HubSpec spec;
  return hub_parse_spec(s, &spec).ok();
}

std::string hub_repo_cache_dir(const HubOptions& opt, const std::string& repo_id) {
  std::string folder = "models--" + repo_id;
  const size_t slash = folder.find('/');
  if (slash != std::string::npos) folder.replace(slash, 1, "--");
  return path_join(opt.cache_dir, folder);
}

bool hub_file_wanted(const std::string& rfilename, const std::vector<std::string>& module_dirs) {
  if (!safe_repo_path(rfilename)) return false;
  const size_t slash = rfilename.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : rfilename.substr(0, slash);
  const std::string base = slash == std::string::npos ? rfilename : rfilename.substr(slash + 1);
  if (!dir.empty() && !is_module_dir(dir, module_dirs)) return false;
  if (dir.empty() && base == "README.md") return true;
  if (ends_with(base, ".index.json")) return ends_with(base, ".safetensors.index.json");
  return ends_with(base, ".json") || ends_with(base, ".safetensors") || ends_with(base, ".txt") || ends_with(base, ".model");
}

Status hub_snapshot(const std::string& spec_text, const HubOptions& opt, std::string* local_dir) {
  HubSpec spec;
  ET_RETURN_IF_ERROR(hub_parse_spec(spec_text, &spec));
  const std::string name = spec.repo_id + "@" + spec.revision;
  if (opt.cache_dir.empty())
    return hub_error(name, "no cache directory: set HF_HOME or HF_HUB_CACHE (HOME is not set either)");
  RepoCache cache;
  cache.root = hub_repo_cache_dir(opt, spec.repo_id);
  cache.locks = path_join(path_join(opt.cache_dir, ".locks"), fs::path(cache.root).filename().string());

  std::string missing;
  if (opt.offline) {
    const std::string dir = cached_snapshot(cache, spec.revision, &missing);
    if (dir.empty())
      return hub_error(name, "HF_HUB_OFFLINE is set and the cache has no complete snapshot; missing: " + missing);
    *local_dir = dir;
    return Status::ok_status();
  }

  HubHttp http(opt);
  const std::string api = opt.endpoint + "/api/models/" + url_quote(spec.repo_id, "/") + "/revision/" +
                          url_quote(spec.revision, "");
  HttpReply r = http.request("GET", api, true, true);
  nlohmann::json listing;
  std::string failure;
  if (!r.transport_error.empty()) {
    failure = "cannot reach " + opt.endpoint + ": " + r.transport_error;
  } else if (r.status >= 400) {
    auto code = r.headers.find("x-error-code");
    if (r.status == 404 && code != r.headers.end() && code->second == "RevisionNotFound")
      return hub_error(name, "revision \"" + spec.revision + "\" not found at " + opt.endpoint + " (" +
                                 describe_http_error(r) + ")");
    failure = api + ": " + describe_http_error(r);
    if (r.status == 404) failure += "; check the model name (org/name) and revision";
  } else {
    listing = nlohmann::json::parse(r.body, nullptr, false);
    if (!listing.is_object() || !listing.contains("sha") || !listing["sha"].is_string() ||
        !is_commit_hash(listing["sha"].get<std::string>()) || !listing.contains("siblings") || !listing["siblings"].is_array())
      return hub_error(name, api + ": the answer is not a model listing (JSON with \"sha\" and \"siblings\")");
  }
  if (!failure.empty()) {
    const std::string dir = cached_snapshot(cache, spec.revision, &missing);
    if (dir.empty()) return hub_error(name, failure + "; and the cache has no complete snapshot (missing: " + missing + ")");
    std::fprintf(stderr, "embtune: warning: hub model %s: %s; using the cached snapshot %s\n", name.c_str(),
                 failure.c_str(), dir.c_str());
    *local_dir = dir;
    return Status::ok_status();
  }

  SnapshotRun run{opt, http, cache, spec.repo_id, name, listing["sha"].get<std::string>()};
  std::vector<std::string> files;
  for (const auto& s : listing["siblings"])
    if (s.is_object() && s.contains("rfilename") && s["rfilename"].is_string()) files.push_back(s["rfilename"].get<std::string>());
  std::vector<std::string> module_dirs;
  std::string pickles = pickle_only_folders(files, module_dirs);
  auto pickle_error = [&]() {
    return hub_error(name, "has its weights only as " + pickles +
                               " (PyTorch pickle / TF / Flax); embtune reads safetensors only. Pick a revision or "
                               "fork with model.safetensors, or convert it (e.g. with safetensors' convert script)");
  };
  if (!pickles.empty()) return pickle_error();
  // The top-level files first: modules.json there may name more module folders.
  for (const std::string& f : files)
    if (f.find('/') == std::string::npos && hub_file_wanted(f, module_dirs)) ET_RETURN_IF_ERROR(ensure_file(run, f).wrap("hub model " + name));
  module_dirs = modules_json_dirs(cache.snapshot(run.commit));
  pickles = pickle_only_folders(files, module_dirs);
  if (!pickles.empty()) return pickle_error();
  for (const std::string& f : files)
    if (f.find('/') != std::string::npos && hub_file_wanted(f, module_dirs)) ET_RETURN_IF_ERROR(ensure_file(run, f).wrap("hub model " + name));

  if (spec.revision != run.commit) {
    ET_RETURN_IF_ERROR(make_dirs(fs::path(cache.ref(spec.revision)).parent_path().string()));
    AtomicFile ref;
    ET_RETURN_IF_ERROR(ref.open(cache.ref(spec.revision)));
    ET_RETURN_IF_ERROR(ref.write(run.commit));
    ET_RETURN_IF_ERROR(ref.commit());
  }
  const std::string dir = cache.snapshot(run.commit);
  ET_RETURN_IF_ERROR(make_dirs(dir));
  if (run.files_fetched > 0 && !opt.quiet)
    std::fprintf(stderr, "embtune: hub model %s: downloaded %d file%s (%s) into %s\n", name.c_str(), run.files_fetched,
                 run.files_fetched == 1 ? "" : "s", format_size(run.bytes_fetched).c_str(), dir.c_str());
  *local_dir = dir;
  return Status::ok_status();
}

std::string bundled_model_dir(const std::string& name) {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("EMBTUNE_MODELS_DIR"); env && *env) roots.push_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    roots.push_back((exe.parent_path().parent_path() / "models").string());  // a build tree: <repo>/build/embtune
    roots.push_back((exe.parent_path().parent_path() / "share" / "embtune" / "models").string());  // installed
  }
  for (const std::string& r : roots) {
    const std::string d = path_join(r, name);
    if (fs::exists(path_join(d, "modules.json"), ec) || fs::exists(path_join(d, "config.json"), ec)) return d;
  }
  return "";
}

Status resolve_model_argument(const std::string& model, std::string* dir) {
  *dir = model;
  struct stat st;
  if (model == kStarterModelName && lstat(model.c_str(), &st) != 0) {
    *dir = bundled_model_dir(model);
    if (dir->empty())
      return make_error("%s: the starter model was not found (looked in $EMBTUNE_MODELS_DIR, ../models and "
                        "../share/embtune/models beside the embtune binary); build it with "
                        "scripts/starter/make_starter.sh or name a model directory",
                        model.c_str());
    return Status::ok_status();
  }
  if (!looks_like_hub_id(model)) return Status::ok_status();
  const Status s = hub_snapshot(model, HubOptions::from_env(), dir);
  if (!s.ok()) return make_error("%s: no such local directory, and as a Hugging Face hub id: %s", model.c_str(), s.message().c_str());
  return Status::ok_status();
}

}  // namespace embtune
