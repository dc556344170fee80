// defines: HashedId, an id text kept as two independent 64-bit hashes (the 64-character H&M customer ids
// are never stored), and HashedIdMap, a flat hash map keyed by it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace ftmamba::data {

// MurmurHash64A, and a word-wise xor-multiply-rotate with a SplitMix64 finish. Together they tell ~1.4 M
// ids apart with a collision chance near 2^-88. Never {0, 0}, which marks an empty HashedIdMap slot.
struct HashedId {
  uint64_t h1 = 0, h2 = 0;
  bool operator==(const HashedId&) const = default;
};
HashedId hash_id(std::string_view id);

// HashedId -> Value with open addressing and linear probing: one slot holds the key and the value, so a
// lookup in a table of ~1.4 M ids costs one cache miss. std::unordered_map (a bucket array and a node per
// id, 2-3 dependent misses) made `import hm` twice as slow (see DESIGN-NOTES.md). Load factor <= 0.7.
template <class Value>
class HashedIdMap {
 public:
  struct Entry {
    HashedId id;
    Value value;
  };

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Room for n ids without growing.
  void reserve(size_t n) {
    size_t capacity = 1024;
    while (capacity * 7 < n * 10) capacity *= 2;
    if (capacity > slots_.size()) rehash(capacity);
  }

  const Value* find(const HashedId& id) const {
    if (slots_.empty()) return nullptr;
    for (size_t s = id.h1 & mask_;; s = (s + 1) & mask_) {
      const Entry& e = slots_[s];
      if (e.id == id) return &e.value;
      if (is_empty(e)) return nullptr;
    }
  }
  Value* find(const HashedId& id) { return const_cast<Value*>(std::as_const(*this).find(id)); }
  bool contains(const HashedId& id) const { return find(id) != nullptr; }

  // Adds id -> value unless id is there; returns the id's value and whether it was added.
  std::pair<Value*, bool> try_emplace(const HashedId& id, const Value& value) {
    if ((size_ + 1) * 10 > slots_.size() * 7) rehash(slots_.empty() ? 1024 : slots_.size() * 2);
    size_t s = id.h1 & mask_;
    for (; !is_empty(slots_[s]); s = (s + 1) & mask_)
      if (slots_[s].id == id) return {&slots_[s].value, false};
    slots_[s] = Entry{id, value};
    ++size_;
    return {&slots_[s].value, true};
  }

  // Calls f(const Entry&) for every entry, in slot order. An entry stays where it is until an insert
  // grows the table, so a complete map can be pointed into.
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& e : slots_)
      if (!is_empty(e)) f(e);
  }

 private:
  static bool is_empty(const Entry& e) { return e.id.h1 == 0 && e.id.h2 == 0; }
  void rehash(size_t capacity) {  // capacity: a power of two
    std::vector<Entry> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    for (const Entry& e : old) {
      if (is_empty(e)) continue;
      size_t s = e.id.h1 & mask_;
      while (!is_empty(slots_[s])) s = (s + 1) & mask_;
      slots_[s] = e;
    }
  }

  std::vector<Entry> slots_;  // (capacity)
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace ftmamba::data
