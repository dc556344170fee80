// defines: BpeModel, the merges of a byte-pair encoding applied to one pre-token, as Hugging Face tokenizers' BPE
// model applies them: the pair of lowest rank is merged first, the leftmost of equal ranks, until no pair of
// neighbours has a merge.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ftmamba::lm {

class BpeModel {
 public:
  // `merges` in rank order (the first merges first), each a pair of vocabulary tokens whose concatenation is in the
  // vocabulary too. Error naming the merge (its position and tokens) otherwise. `unk_id` < 0: a character outside
  // the vocabulary is dropped, as tokenizers does without an unk_token. `ignore_merges`: a pre-token that is itself
  // in the vocabulary is that one token.
  BpeModel(std::unordered_map<std::string, int64_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, int64_t unk_id, bool ignore_merges);

  // The ids of one pre-token (its characters as the vocabulary spells them, byte-level mapped), appended to `ids`.
  void encode(std::string_view word, std::vector<int64_t>& ids) const;

  const std::unordered_map<std::string, int64_t>& vocab() const { return vocab_; }

 private:
  static uint64_t pair_key(int64_t left, int64_t right) {
    return (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
  }
  struct Merge {
    int32_t rank;
    int64_t merged_id;
  };

  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> rank and the id of their concatenation
  int64_t unk_id_;
  bool ignore_merges_;
};

}  // namespace ftmamba::lm
