// Models from the Hugging Face hub: `org/name[@revision]` downloaded with libcurl into the hub's
// standard cache (the layout huggingface_hub writes and reads), resumable, sha256-checked, and
// usable offline from that cache. Not a hub client in general: model repos only, and only the files
// a sentence-transformers / BERT model directory needs (no pickles, ONNX, OpenVINO, TF or Flax).
//
// Cache layout (shared with huggingface_hub, sentence-transformers and transformers):
//   <cache>/models--org--name/blobs/<etag>              file contents (<etag>.incomplete while downloading)
//   <cache>/models--org--name/snapshots/<commit>/<path> relative symlinks to ../../blobs/<etag>
//   <cache>/models--org--name/refs/<revision>           the commit hash a branch or tag resolved to
//
// Usage:
//   std::string dir;
//   ET_RETURN_IF_ERROR(hub_snapshot("sentence-transformers/all-MiniLM-L6-v2", HubOptions::from_env(), &dir));
//   // dir is a model directory (the snapshot), ready for SentenceEncoder::load.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace embtune {

struct HubOptions {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
  std::string cache_dir;  // HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
  std::string token;      // HF_TOKEN, else the token file ($HF_TOKEN_PATH, else $HF_HOME/token); "" sends none
  bool offline = false;   // HF_HUB_OFFLINE=1: the cache only, no request at all
  bool quiet = false;     // no progress bars or notes on stderr (warnings still print)
  double timeout_s = 10;  // connecting, and the longest a transfer may stall
  int retries = 5;        // resumptions of a transfer that broke off before any new byte arrived
  int retry_delay_ms = 1000;

  // The settings huggingface_hub reads from the environment, named above; quiet from
  // hub_set_quiet().
  static HubOptions from_env();
};

// The quiet setting HubOptions::from_env() gives (the CLI's -q); false until set.
void hub_set_quiet(bool quiet);

struct HubSpec {
  std::string repo_id;             // "org/name"
  std::string revision = "main";   // a branch, tag or 40-hex commit hash
};

// True for `org/name` or `org/name@revision` in the hub's repo-id alphabet (letters, digits,
// '-', '_', '.') that is not an existing local file or directory.
bool looks_like_hub_id(const std::string& s);

// Splits `org/name[@revision]`; errors say what is malformed.
Status hub_parse_spec(const std::string& spec, HubSpec* out);

// The cache root the options name, and "models--org--name" under it.
std::string hub_repo_cache_dir(const HubOptions& opt, const std::string& repo_id);

// Whether a repo file is one embtune downloads: *.json, *.safetensors, *.txt, *.model (SentencePiece)
// and README.md at the top level or in a module folder (`1_Pooling`, `2_Dense`, or a folder named by
// modules.json in `module_dirs`); never pickled, ONNX, OpenVINO, TF, Flax or Rust weights.
bool hub_file_wanted(const std::string& rfilename, const std::vector<std::string>& module_dirs);

// Makes `spec` a complete snapshot in the cache and sets *local_dir to it (a model directory).
// Files already in the cache are not fetched again; an interrupted download resumes with a Range
// request; LFS files whose sha256 differs from their etag are deleted and reported. With
// opt.offline, or when the hub cannot be reached and the cache holds a complete snapshot of the
// revision, the cache is used (the latter with a warning on stderr). Errors name the model, the
// revision and what is missing.
Status hub_snapshot(const std::string& spec, const HubOptions& opt, std::string* local_dir);

// The name of embtune's own starter model (models/embtune-starter in the source tree): as a
// --model argument it names the bundled copy, wherever embtune finds it (bundled_model_dir).
inline constexpr const char* kStarterModelName = "embtune-starter";

// The directory of a model shipped with embtune, "" when absent: NAME under $EMBTUNE_MODELS_DIR,
// then under ../models and ../share/embtune/models beside the running binary (a build tree inside
// the source tree, and an installed prefix).
std::string bundled_model_dir(const std::string& name);

// What a --model argument names: an existing path is returned as it is; "embtune-starter" (when no
// such path exists) the bundled starter model; a hub id
// (looks_like_hub_id) is downloaded with HubOptions::from_env() and its snapshot returned;
// anything else is returned as it is, for the loader to report.
Status resolve_model_argument(const std::string& model, std::string* dir);

}  // namespace embtune
