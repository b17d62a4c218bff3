// WordPiece vocabulary training (see wordpiece_trainer.h): word counting, alphabet, pair merges,
// and the tokenizer.json / vocab.txt writer.
#include "tokenizer/wordpiece_trainer.h"

#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_set>
#include <utility>

#include "core/file.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "tokenizer/pre_tokenizer.h"

namespace embtune {

namespace {

using PairKey = uint64_t;  // (left id << 32) | right id: ordering as HF's (u32, u32) tuples
PairKey pair_key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

// One entry of the merge queue. `pos`: index into the position sets (words holding the pair).
struct QueueEntry {
  uint64_t count;
  PairKey pair;
  size_t pos;
};
// std::priority_queue pops the greatest: the highest count, then the smallest pair.
struct QueueLess {
  bool operator()(const QueueEntry& x, const QueueEntry& y) const {
    if (x.count != y.count) return x.count < y.count;
    return x.pair > y.pair;
  }
};

// Merges every non-overlapping (a, b), left to right, into `rep`; appends the pair count changes
// (HF's Word::merge: the pairs around each merge lose one, the pairs with `rep` gain one).
void merge_word(std::vector<uint32_t>* w, uint32_t a, uint32_t b, uint32_t rep,
                std::vector<std::pair<PairKey, int>>* changes) {
  std::vector<uint32_t>& s = *w;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == a && i + 1 < s.size() && s[i + 1] == b) {
      if (i > 0) {
        changes->emplace_back(pair_key(s[i - 1], a), -1);
        changes->emplace_back(pair_key(s[i - 1], rep), 1);
      }
      s[i] = rep;
      s.erase(s.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      if (i + 1 < s.size()) {
        changes->emplace_back(pair_key(b, s[i + 1]), -1);
        changes->emplace_back(pair_key(rep, s[i + 1]), 1);
      }
    }
    ++i;
  }
}

}  // namespace

WordPieceTrainer::WordPieceTrainer(WordPieceTrainerOptions opt) : opt_(std::move(opt)) {}

Status WordPieceTrainer::feed(const std::vector<std::string>& texts) {
  const auto normalizer = make_bert_normalizer(opt_.normalizer);
  const auto pre = make_bert_pre_tokenizer();
  const int nt = std::max(1, omp_get_max_threads());
  std::vector<std::unordered_map<std::string, uint64_t>> local(static_cast<size_t>(nt));
  std::vector<size_t> bad(static_cast<size_t>(nt), SIZE_MAX);
#pragma omp parallel num_threads(nt)
  {
    const size_t t = static_cast<size_t>(omp_get_thread_num());
    std::vector<char32_t> cps;
    PreTokenizedString ps;
    std::string word;
#pragma omp for schedule(dynamic, 256)
    for (size_t i = 0; i < texts.size(); ++i) {
      size_t bad_offset = 0;
      cps.clear();
      if (!utf8_decode(texts[i], &cps, &bad_offset)) {
        bad[t] = std::min(bad[t], i);
        continue;
      }
      ps.text.assign_original(cps, 0, cps.size());
      normalizer->normalize(&ps.text);
      ps.splits.clear();
      if (!ps.text.chars.empty()) {
        ps.splits.push_back({0, static_cast<uint32_t>(ps.text.chars.size()), -1});
      }
      pre->pre_tokenize(&ps);
      for (const Split& sp : ps.splits) {
        word.clear();
        for (uint32_t k = sp.begin; k < sp.end; ++k) utf8_append(ps.text.chars[k].c, &word);
        if (!word.empty()) ++local[t][word];
      }
    }
  }
  const size_t first_bad = *std::min_element(bad.begin(), bad.end());
  if (first_bad != SIZE_MAX) return make_error("text %zu: invalid UTF-8", first_bad + 1);
  for (auto& m : local) {
    for (auto& [w, c] : m) words_[w] += c;
  }
  return Status();
}

Status WordPieceTrainer::feed_file(const std::string& path) {
  if (!file_exists(path)) return make_error("%s: no such file", path.c_str());
  std::vector<std::string> batch;
  constexpr size_t kBatch = 1 << 16;
  Status s = for_each_text_line(path, [&](size_t, std::string_view line) -> Status {
    batch.emplace_back(line);
    if (batch.size() >= kBatch) {
      ET_RETURN_IF_ERROR(feed(batch));
      batch.clear();
    }
    return Status();
  });
  ET_RETURN_IF_ERROR(s);
  return feed(batch).wrap(path);
}

Status WordPieceTrainer::train(std::vector<std::string>* vocab) const {
  vocab->clear();
  if (words_.empty()) return make_error("no words to train on (the input has no text)");
  std::unordered_map<std::string, uint32_t> w2id;
  std::vector<std::string>& id2w = *vocab;
  auto add = [&](const std::string& s) -> uint32_t {
    auto it = w2id.find(s);
    if (it != w2id.end()) return it->second;
    id2w.push_back(s);
    w2id.emplace(s, static_cast<uint32_t>(id2w.size() - 1));
    return static_cast<uint32_t>(id2w.size() - 1);
  };
  // 1. special tokens
  for (const std::string& t : opt_.special_tokens) add(t);

  // Words in a fixed order (by text), as code points.
  std::vector<std::pair<std::string, uint64_t>> wc(words_.begin(), words_.end());
  std::sort(wc.begin(), wc.end());
  std::vector<std::vector<char32_t>> wchars(wc.size());
  for (size_t i = 0; i < wc.size(); ++i) {
    size_t bad = 0;
    utf8_decode(wc[i].first, &wchars[i], &bad);
  }

  // 2. alphabet: every character weighted by word count; limit_alphabet drops the rarest.
  std::unordered_map<char32_t, uint64_t> alpha;
  for (size_t i = 0; i < wc.size(); ++i) {
    for (char32_t c : wchars[i]) alpha[c] += wc[i].second;
  }
  std::vector<std::pair<char32_t, uint64_t>> kept(alpha.begin(), alpha.end());
  if (opt_.limit_alphabet > 0 && kept.size() > opt_.limit_alphabet) {
    std::sort(kept.begin(), kept.end(), [](const auto& x, const auto& y) {
      if (x.second != y.second) return x.second < y.second;
      return x.first > y.first;
    });
    kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(kept.size() - opt_.limit_alphabet));
  }
  std::sort(kept.begin(), kept.end());
  for (const auto& [c, n] : kept) {
    std::string s;
    utf8_append(c, &s);
    add(s);
  }

  // 3. the "##c" tokens (a character that does not start its word), then the words as ids.
  const std::string& prefix = opt_.continuing_subword_prefix;
  std::unordered_set<char32_t> cont;
  for (const auto& w : wchars) {
    for (size_t k = 1; k < w.size(); ++k) cont.insert(w[k]);
  }
  std::vector<std::string> cont_tokens;
  {
    std::unordered_set<std::string> listed;
    for (const std::string& t : opt_.prefixed_alphabet_order) {
      if (listed.insert(t).second) cont_tokens.push_back(t);
    }
    std::vector<char32_t> rest(cont.begin(), cont.end());
    std::sort(rest.begin(), rest.end());
    std::vector<std::string> wanted;
    std::unordered_set<std::string> wanted_set;
    for (char32_t c : rest) {
      std::string s;
      utf8_append(c, &s);
      if (!w2id.count(s)) continue;  // dropped by limit_alphabet
      std::string p = prefix + s;
      wanted.push_back(p);
      wanted_set.insert(p);
    }
    // Listed tokens that are not needed are left out; needed ones not listed follow.
    std::vector<std::string> ordered;
    for (const std::string& t : cont_tokens) {
      if (wanted_set.count(t)) ordered.push_back(t);
    }
    for (const std::string& t : wanted) {
      if (!listed.count(t)) ordered.push_back(t);
    }
    for (const std::string& t : ordered) add(t);
  }
  std::vector<std::vector<uint32_t>> words(wc.size());
  std::vector<uint64_t> counts(wc.size());
  for (size_t i = 0; i < wc.size(); ++i) {
    counts[i] = wc[i].second;
    std::string s;
    for (size_t k = 0; k < wchars[i].size(); ++k) {
      s.clear();
      utf8_append(wchars[i][k], &s);
      if (!w2id.count(s)) continue;
      if (k > 0) s = prefix + s;
      words[i].push_back(add(s));
    }
  }

  // 4. pair counts and where each pair occurs
  std::unordered_map<PairKey, int64_t> pair_counts;
  std::unordered_map<PairKey, std::vector<uint32_t>> where;
  for (size_t i = 0; i < words.size(); ++i) {
    const auto& w = words[i];
    for (size_t k = 0; k + 1 < w.size(); ++k) {
      const PairKey p = pair_key(w[k], w[k + 1]);
      pair_counts[p] += static_cast<int64_t>(counts[i]);
      auto& v = where[p];
      if (v.empty() || v.back() != i) v.push_back(static_cast<uint32_t>(i));
    }
  }
  std::vector<std::vector<uint32_t>> pos_sets;
  std::priority_queue<QueueEntry, std::vector<QueueEntry>, QueueLess> queue;
  auto push_where = [&]() {
    for (auto& [p, pos] : where) {
      const int64_t c = pair_counts[p];
      if (c > 0) {
        pos_sets.push_back(std::move(pos));
        queue.push({static_cast<uint64_t>(c), p, pos_sets.size() - 1});
      }
    }
    where.clear();
  };
  push_where();

  // 5. merges
  Progress progress("merges", static_cast<int64_t>(opt_.vocab_size), "tokens", opt_.show_progress);
  std::vector<std::pair<PairKey, int>> changes;
  std::vector<std::pair<std::pair<PairKey, int>, uint32_t>> all_changes;
  while (w2id.size() < opt_.vocab_size && !queue.empty()) {
    QueueEntry top = queue.top();
    queue.pop();
    const int64_t cur = pair_counts[top.pair];
    if (static_cast<int64_t>(top.count) != cur) {
      top.count = static_cast<uint64_t>(cur);
      queue.push(top);
      continue;
    }
    if (top.count < 1 || opt_.min_frequency > top.count) break;
    const uint32_t a = static_cast<uint32_t>(top.pair >> 32);
    const uint32_t b = static_cast<uint32_t>(top.pair & 0xffffffffu);
    std::string part_b = id2w[b];
    if (!prefix.empty() && part_b.compare(0, prefix.size(), prefix) == 0) part_b.erase(0, prefix.size());
    const uint32_t rep = add(id2w[a] + part_b);
    std::vector<uint32_t> pos = std::move(pos_sets[top.pos]);
    pos_sets[top.pos].clear();
    pos_sets[top.pos].shrink_to_fit();
    all_changes.clear();
    for (uint32_t iw : pos) {
      changes.clear();
      merge_word(&words[iw], a, b, rep, &changes);
      for (const auto& ch : changes) all_changes.push_back({ch, iw});
    }
    for (const auto& [ch, iw] : all_changes) {
      pair_counts[ch.first] += static_cast<int64_t>(ch.second) * static_cast<int64_t>(counts[iw]);
      if (ch.second > 0) {
        auto& v = where[ch.first];
        if (v.empty() || v.back() != iw) v.push_back(iw);
      }
    }
    push_where();
    progress.update(static_cast<int64_t>(w2id.size()));
  }
  progress.finish();
  return Status();
}

nlohmann::ordered_json wordpiece_tokenizer_json(const std::vector<std::string>& vocab,
                                                const WordPieceTrainerOptions& opt) {
  using json = nlohmann::ordered_json;
  std::unordered_map<std::string, int> ids;
  for (size_t i = 0; i < vocab.size(); ++i) ids.emplace(vocab[i], static_cast<int>(i));
  json added = json::array();
  for (const std::string& t : opt.special_tokens) {
    auto it = ids.find(t);
    if (it == ids.end()) continue;
    added.push_back({{"id", it->second}, {"content", t}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  json normalizer = {{"type", "BertNormalizer"},
                     {"clean_text", opt.normalizer.clean_text},
                     {"handle_chinese_chars", opt.normalizer.handle_chinese_chars},
                     {"strip_accents", opt.normalizer.strip_accents.has_value()
                                           ? json(*opt.normalizer.strip_accents)
                                           : json(nullptr)},
                     {"lowercase", opt.normalizer.lowercase}};
  json post = nullptr;
  auto cls = ids.find("[CLS]");
  auto sep = ids.find("[SEP]");
  if (cls != ids.end() && sep != ids.end()) {
    auto spec = [](const char* id, int type) {
      return json{{"SpecialToken", {{"id", id}, {"type_id", type}}}};
    };
    auto seq = [](const char* id, int type) {
      return json{{"Sequence", {{"id", id}, {"type_id", type}}}};
    };
    post = {{"type", "TemplateProcessing"},
            {"single", {spec("[CLS]", 0), seq("A", 0), spec("[SEP]", 0)}},
            {"pair", {spec("[CLS]", 0), seq("A", 0), spec("[SEP]", 0), seq("B", 1), spec("[SEP]", 1)}},
            {"special_tokens",
             {{"[CLS]", {{"id", "[CLS]"}, {"ids", {cls->second}}, {"tokens", {"[CLS]"}}}},
              {"[SEP]", {{"id", "[SEP]"}, {"ids", {sep->second}}, {"tokens", {"[SEP]"}}}}}}};
  }
  json v = json::object();
  for (size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  json model = {{"type", "WordPiece"},
                {"unk_token", "[UNK]"},
                {"continuing_subword_prefix", opt.continuing_subword_prefix},
                {"max_input_chars_per_word", 100},
                {"vocab", std::move(v)}};
  return json{{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", std::move(added)},
              {"normalizer", std::move(normalizer)},
              {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
              {"post_processor", std::move(post)},
              {"decoder", {{"type", "WordPiece"}, {"prefix", opt.continuing_subword_prefix},
                           {"cleanup", true}}},
              {"model", std::move(model)}};
}

Status write_wordpiece_tokenizer(const std::string& dir, const std::vector<std::string>& vocab,
                                 const WordPieceTrainerOptions& opt) {
  if (vocab.empty()) return make_error("empty vocabulary: nothing written");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("%s: cannot create directory: %s", dir.c_str(), ec.message().c_str());
  std::string txt;
  for (const std::string& t : vocab) {
    if (t.find('\n') != std::string::npos || t.find('\r') != std::string::npos) {
      return make_error("token with a line break cannot be written to vocab.txt");
    }
    txt += t;
    txt += '\n';
  }
  // Both files are complete temporaries before either is renamed.
  AtomicFile vf;
  ET_RETURN_IF_ERROR(vf.open(path_join(dir, "vocab.txt")));
  ET_RETURN_IF_ERROR(vf.write(txt));
  AtomicFile tf;
  ET_RETURN_IF_ERROR(tf.open(path_join(dir, "tokenizer.json")));
  ET_RETURN_IF_ERROR(tf.write(wordpiece_tokenizer_json(vocab, opt).dump(2) + "\n"));
  ET_RETURN_IF_ERROR(tf.commit());
  return vf.commit();
}

}  // namespace embtune
