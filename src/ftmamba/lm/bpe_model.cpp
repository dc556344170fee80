// defines: BpeModel (see bpe_model.h).
#include "ftmamba/lm/bpe_model.h"

#include <queue>

#include "ftmamba/core/error.h"

namespace ftmamba::lm {

BpeModel::BpeModel(std::unordered_map<std::string, int64_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, int64_t unk_id, bool ignore_merges)
    : vocab_(std::move(vocab)), unk_id_(unk_id), ignore_merges_(ignore_merges) {
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& left = merges[rank].first;
    const std::string& right = merges[rank].second;
    const auto where = [&] { return "merge " + std::to_string(rank) + " ('" + left + "' '" + right + "')"; };
    const auto l = vocab_.find(left), r = vocab_.find(right), m = vocab_.find(left + right);
    if (l == vocab_.end() || r == vocab_.end()) throw Error(where() + ": a token is not in the vocabulary");
    if (m == vocab_.end()) throw Error(where() + ": the merged token is not in the vocabulary");
    // Of two equal merges the later counts, as when tokenizers collects them into its map.
    merges_.insert_or_assign(pair_key(l->second, r->second), Merge{static_cast<int32_t>(rank), m->second});
  }
}

void BpeModel::encode(std::string_view word, std::vector<int64_t>& ids) const {
  if (ignore_merges_) {
    const auto whole = vocab_.find(std::string(word));
    if (whole != vocab_.end()) {
      ids.push_back(whole->second);
      return;
    }
  }
  // The symbols, a doubly linked list over a vector: a merged-away symbol keeps its slot with id -1.
  struct Symbol {
    int64_t id;
    int32_t prev, next;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (size_t at = 0; at < word.size();) {
    const auto lead = static_cast<unsigned char>(word[at]);
    const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    const auto found = vocab_.find(std::string(word.substr(at, len)));
    at += len;
    const int64_t id = found != vocab_.end() ? found->second : unk_id_;
    if (id < 0) continue;  // no unk token: dropped, as tokenizers does
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  // Candidates ordered by rank, then position: the lowest rank first, the leftmost of equal ranks.
  struct Candidate {
    int32_t rank, pos;
    int64_t merged_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto push_pair = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    const auto m = merges_.find(pair_key(symbols[left].id, symbols[right].id));
    if (m != merges_.end()) queue.push({m->second.rank, left, m->second.merged_id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.id < 0 || left.next < 0) continue;  // merged away, or nothing on its right any more
    const Symbol& right = symbols[left.next];
    // Still the pair it was queued for? A neighbour may have merged since.
    const auto m = merges_.find(pair_key(left.id, right.id));
    if (m == merges_.end() || m->second.merged_id != top.merged_id) continue;
    const int32_t gone = left.next;
    left.id = top.merged_id;
    left.next = right.next;
    symbols[gone].id = -1;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
}

}  // namespace ftmamba::lm
