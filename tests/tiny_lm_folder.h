// defines: ftmamba_test::write_tiny_lm_folder, a language-model folder for the `lm` tests: a random Mamba LM
// (d_model 16, 2 layers, vocabulary 264: 256 bytes, 6 merges, 2 spare rows as the checkpoints pad the embedding)
// saved in transformers' layout, with a byte-level tokenizer.json (NFC, merges for "hello" and " wor").
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/io/atomic_file.h"
#include "ftmamba/lm/byte_level.h"
#include "ftmamba/lm/hf_checkpoint.h"

namespace ftmamba_test {

inline constexpr int64_t kTinyLmVocab = 264;

// eos < 0: config.json names no end-of-text token. embedding_std > 0: the embedding drawn with that deviation
// (the init's 0.02 caps the tied head's logits near 0.3 at this width, too little for a fine-tuning test to learn).
inline void write_tiny_lm_folder(const std::filesystem::path& dir, int64_t eos, int64_t seed = 5,
                                 double embedding_std = 0.0) {
  namespace lm = ftmamba::lm;
  using nlohmann::json;
  lm::HfMambaConfig c;
  c.model.vocab_size = kTinyLmVocab;
  c.model.d_model = 16;
  c.model.n_layers = 2;
  c.model.mixer.d_state = 4;
  c.eos_token_id = eos;
  torch::manual_seed(static_cast<uint64_t>(seed));
  ftmamba::nn::MambaLM model(c.model);
  if (embedding_std > 0) {
    torch::NoGradGuard no_grad;
    model->embedding->weight.normal_(0.0, embedding_std);
  }
  lm::save_hf_mamba(*model, c, dir);
  json vocab = json::object();
  const auto spell = [](const std::string& bytes) {
    std::string s;
    lm::append_byte_level(bytes, s);
    return s;
  };
  for (int b = 0; b < 256; ++b) vocab[spell(std::string(1, static_cast<char>(b)))] = b;
  json merges = json::array();
  int64_t id = 256;
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}, {"o", "r"}}) {
    vocab[spell(a) + spell(b)] = id++;
    merges.push_back(spell(a) + " " + spell(b));
  }
  const json tokenizer = {{"added_tokens", json::array()},
                          {"normalizer", {{"type", "NFC"}}},
                          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
                          {"decoder", {{"type", "ByteLevel"}}},
                          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
  ftmamba::io::write_file_atomic(dir / "tokenizer.json", tokenizer.dump());
}

}  // namespace ftmamba_test
