// embtune: the library behind the `embtune` tool — sentence-transformers model directories,
// Hugging Face tokenizers and BERT-family encoders in native C++. Not a stable ABI yet.
//
// Overview (layers, each depending only on those below):
//   model/   SentenceEncoder (tokenizer -> BertModel -> pooling -> Dense -> Normalize), BertModel
//   ops/     matmul (oneDNN), layer norm, attention on packed batches, pooling; scalar twins
//   tokenizer/  the tokenizer.json pipeline (normalizer -> pre-tokenizer -> model -> post-processor)
//   io/      safetensors, model-directory JSON files, text input, .npy
//   core/    Status errors, mapped and atomic files, half floats, progress bars
//
// Usage:
//   #include <embtune/embtune.h>
//   std::unique_ptr<embtune::SentenceEncoder> enc;
//   embtune::Status s = embtune::SentenceEncoder::load("all-MiniLM-L6-v2", &enc);
//   if (!s.ok()) { fprintf(stderr, "%s\n", s.message().c_str()); return 1; }
//   std::vector<float> emb;                      // texts.size() x enc->dim()
//   embtune::EmbedOptions opt;
//   opt.prompt_name = "query";                   // optional, from config_sentence_transformers.json
//   s = enc->embed({"how do I reset my password?"}, opt, &emb);
//
// Errors from user input and I/O come back as Status (file, record, hint); broken invariants
// abort with file:line. No exception crosses the library boundary.
#pragma once

#include "core/status.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io/st_dir.h"
#include "io/text_input.h"
#include "model/bert.h"
#include "model/sentence_encoder.h"
#include "tokenizer/tokenizer.h"
