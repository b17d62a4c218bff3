// Line-oriented text and JSONL input with UTF-8 validation.
// Not streaming: inputs are read whole (embedding needs them all for length sorting anyway).
#include "io/text_input.h"
#include "core/strings.h"

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/utf8.h"

namespace embtune {

namespace {

}  // namespace

Status read_texts(const std::string& path, const TextInputOptions& opt, std::vector<std::string>* out) {
  std::string fmt = opt.format;
  if (fmt == "auto") fmt = (ends_with(path, ".jsonl") || ends_with(path, ".json")) ? "jsonl" : "text";
  if (fmt != "text" && fmt != "jsonl")
    return make_error("input format \"%s\" is unknown (use text or jsonl)", opt.format.c_str());
  std::string data;
  ET_RETURN_IF_ERROR(read_file(path, &data));
  if (data.empty()) return make_error("%s: the input file is empty", path.c_str());
  std::vector<std::string> texts;
  size_t pos = 0, line_no = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    size_t end = nl == std::string::npos ? data.size() : nl;
    std::string line = data.substr(pos, end - pos);
    pos = nl == std::string::npos ? data.size() : nl + 1;
    line_no++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t bad = 0;
    if (!utf8_valid(line, &bad))
      return make_error("%s: line %zu: invalid UTF-8 at byte %zu of the line", path.c_str(), line_no, bad + 1);
    if (fmt == "jsonl") {
      if (is_blank(line)) return make_error("%s: line %zu: empty line (each line must be a JSON object)", path.c_str(), line_no);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        return make_error("%s: line %zu: invalid JSON at byte %zu", path.c_str(), line_no, static_cast<size_t>(e.byte));
      }
      if (!j.is_object()) return make_error("%s: line %zu: expected a JSON object", path.c_str(), line_no);
      auto it = j.find(opt.field);
      if (it == j.end())
        return make_error("%s: line %zu: missing field \"%s\" (choose another with --field)", path.c_str(), line_no,
                          opt.field.c_str());
      if (!it->is_string())
        return make_error("%s: line %zu: field \"%s\" must be a string", path.c_str(), line_no, opt.field.c_str());
      line = it->get<std::string>();
    }
    if (!opt.allow_empty && is_blank(line))
      return make_error("%s: line %zu: empty text (remove the line, or pass --allow-empty to embed it)", path.c_str(),
                        line_no);
    texts.push_back(std::move(line));
  }
  *out = std::move(texts);
  return Status::ok_status();
}

}  // namespace embtune
