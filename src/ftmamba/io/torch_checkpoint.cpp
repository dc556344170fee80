// defines: read_torch_checkpoint (see torch_checkpoint.h).
#include "ftmamba/io/torch_checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <memory>
#include <variant>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::io {
namespace {

// A value of the pickle: what a state dict is made of, and no more.
struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Storage {
  std::string key;
  torch::ScalarType dtype;
  int64_t numel;
};
struct Global {
  std::string name;  // "module.name"
};
struct Mark {};
struct Value {
  std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<ValuePtr>,
               std::vector<std::pair<ValuePtr, ValuePtr>>, Global, Storage, torch::Tensor, Mark>
      v;
  bool is_dict() const { return std::holds_alternative<std::vector<std::pair<ValuePtr, ValuePtr>>>(v); }
};
using Tuple = std::vector<ValuePtr>;
using Dict = std::vector<std::pair<ValuePtr, ValuePtr>>;

template <class T>
ValuePtr make(T x) {
  auto p = std::make_shared<Value>();
  p->v = std::move(x);
  return p;
}

torch::ScalarType storage_dtype(const std::string& global) {
  static const std::map<std::string, torch::ScalarType> kinds = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  const auto it = kinds.find(global);
  if (it == kinds.end()) throw Error("a storage of type '" + global + "', which ftmamba does not read");
  return it->second;
}

class Unpickler {
 public:
  Unpickler(const char* data, size_t size, caffe2::serialize::PyTorchStreamReader& archive, std::string where)
      : p_(data), end_(data + size), begin_(data), archive_(archive), where_(std::move(where)) {}

  ValuePtr run() {
    while (true) {
      const size_t at = static_cast<size_t>(p_ - begin_);
      const auto op = static_cast<unsigned char>(byte());
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case '.':
          return pop();  // STOP
        case '(':
          stack_.push_back(make(Mark{}));
          break;
        case ')':
          stack_.push_back(make(Tuple{}));
          break;
        case ']':
          stack_.push_back(make(Tuple{}));
          break;  // EMPTY_LIST: a list is a tuple here
        case '}':
          stack_.push_back(make(Dict{}));
          break;
        case 'N':
          stack_.push_back(make(std::monostate{}));
          break;
        case 0x88:
          stack_.push_back(make(true));
          break;
        case 0x89:
          stack_.push_back(make(false));
          break;
        case 'J':
          stack_.push_back(make(static_cast<int64_t>(static_cast<int32_t>(le(4)))));
          break;
        case 'K':
          stack_.push_back(make(static_cast<int64_t>(le(1))));
          break;
        case 'M':
          stack_.push_back(make(static_cast<int64_t>(le(2))));
          break;
        case 0x8a: {  // LONG1: little-endian two's complement of n bytes
          const size_t n = static_cast<size_t>(le(1));
          if (n > 8) fail(at, "an integer wider than 64 bits");
          uint64_t v = n ? le(n) : 0;
          if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
          stack_.push_back(make(static_cast<int64_t>(v)));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(byte());
          double d;
          std::memcpy(&d, &bits, 8);
          stack_.push_back(make(d));
          break;
        }
        case 'X':
          stack_.push_back(make(text(static_cast<size_t>(le(4)))));
          break;  // BINUNICODE
        case 0x8c:
          stack_.push_back(make(text(static_cast<size_t>(le(1)))));
          break;  // SHORT_BINUNICODE
        case 'U':
          stack_.push_back(make(text(static_cast<size_t>(le(1)))));
          break;  // SHORT_BINSTRING
        case 'T':
          stack_.push_back(make(text(static_cast<size_t>(le(4)))));
          break;  // BINSTRING
        case 'q':
          memo(static_cast<size_t>(le(1)));
          break;  // BINPUT
        case 'r':
          memo(static_cast<size_t>(le(4)));
          break;  // LONG_BINPUT
        case 'h':
          recall(static_cast<size_t>(le(1)), at);
          break;  // BINGET
        case 'j':
          recall(static_cast<size_t>(le(4)), at);
          break;  // LONG_BINGET
        case 't':
          stack_.push_back(make(pop_to_mark(at)));
          break;  // TUPLE
        case 'l':
          stack_.push_back(make(pop_to_mark(at)));
          break;  // LIST
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          Tuple t(op - 0x84);
          for (auto it = t.rbegin(); it != t.rend(); ++it) *it = pop();
          stack_.push_back(make(std::move(t)));
          break;
        }
        case 'a': {  // APPEND
          auto v = pop();
          as<Tuple>(top(), at, "APPEND to a list").push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark(at);
          auto& list = as<Tuple>(top(), at, "APPENDS to a list");
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {  // SETITEM
          auto v = pop();
          auto k = pop();
          as<Dict>(top(), at, "SETITEM on a dict").emplace_back(k, v);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark(at);
          if (items.size() % 2) fail(at, "SETITEMS with an odd number of items");
          auto& dict = as<Dict>(top(), at, "SETITEMS on a dict");
          for (size_t i = 0; i < items.size(); i += 2) dict.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'c': {  // GLOBAL module\nname\n
          const std::string module = line(), name = line();
          stack_.push_back(make(Global{module + "." + name}));
          break;
        }
        case 'Q': {  // BINPERSID: ('storage', storage type, key, location, numel)
          auto pid = pop();
          const auto& t = as<Tuple>(pid, at, "a persistent id as a tuple");
          if (t.size() < 5 || !is<std::string>(t[0]) || std::get<std::string>(t[0]->v) != "storage")
            fail(at, "a persistent id that is not a storage");
          Storage s;
          s.dtype = storage_dtype(as<Global>(t[1], at, "a storage type").name);
          s.key = as<std::string>(t[2], at, "a storage key");
          s.numel = as<int64_t>(t[4], at, "a storage size");
          stack_.push_back(make(s));
          break;
        }
        case 'R': {  // REDUCE: callable(*args)
          auto args = pop();
          auto callable = pop();
          stack_.push_back(reduce(as<Global>(callable, at, "a callable").name, as<Tuple>(args, at, "arguments"), at));
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: the state of an OrderedDict (its _metadata) or a tensor: not needed
        default:
          fail(at, "opcode 0x" + hex(op) + ", which a state dict does not use");
      }
    }
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error(where_ + ": data.pkl at byte " + std::to_string(at) + ": " + what);
  }
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return std::string{digits[(v >> 4) & 15], digits[v & 15]};
  }
  char byte() {
    if (p_ >= end_) fail(static_cast<size_t>(p_ - begin_), "the pickle ends early");
    return *p_++;
  }
  uint64_t le(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(byte())) << (8 * i);
    return v;
  }
  std::string text(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) fail(static_cast<size_t>(p_ - begin_), "a string runs past the end");
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::string line() {
    std::string s;
    for (char c = byte(); c != '\n'; c = byte()) s += c;
    return s;
  }
  ValuePtr pop() {
    if (stack_.empty()) fail(static_cast<size_t>(p_ - begin_), "the stack is empty");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.empty()) fail(static_cast<size_t>(p_ - begin_), "the stack is empty");
    return stack_.back();
  }
  Tuple pop_to_mark(size_t at) {
    Tuple items;
    while (true) {
      if (stack_.empty()) fail(at, "no MARK on the stack");
      auto v = pop();
      if (std::holds_alternative<Mark>(v->v)) break;
      items.push_back(v);
    }
    return Tuple(items.rbegin(), items.rend());
  }
  void memo(size_t index) {
    if (index > (size_t{1} << 24)) fail(static_cast<size_t>(p_ - begin_), "a memo index out of range");
    if (memo_.size() <= index) memo_.resize(index + 1);
    memo_[index] = top();
  }
  void recall(size_t index, size_t at) {
    if (index >= memo_.size() || !memo_[index]) fail(at, "a memo entry that was never stored");
    stack_.push_back(memo_[index]);
  }
  template <class T>
  static bool is(const ValuePtr& v) {
    return std::holds_alternative<T>(v->v);
  }
  template <class T>
  T& as(const ValuePtr& v, size_t at, const std::string& what) const {
    if (!std::holds_alternative<T>(v->v)) fail(at, "expected " + what);
    return std::get<T>(v->v);
  }

  ValuePtr reduce(const std::string& callable, const Tuple& args, size_t at) {
    if (callable == "collections.OrderedDict") return make(Dict{});
    if (callable == "torch._utils._rebuild_parameter") {
      if (args.empty()) fail(at, "_rebuild_parameter without its tensor");
      return make(as<torch::Tensor>(args[0], at, "a tensor to rebuild as a parameter"));
    }
    if (callable == "torch._utils._rebuild_tensor_v2") {
      if (args.size() < 4) fail(at, "_rebuild_tensor_v2 with too few arguments");
      const Storage& s = as<Storage>(args[0], at, "a storage");
      const int64_t offset = as<int64_t>(args[1], at, "a storage offset");
      std::vector<int64_t> size, stride;
      for (const auto& d : as<Tuple>(args[2], at, "a size")) size.push_back(as<int64_t>(d, at, "a dimension"));
      for (const auto& d : as<Tuple>(args[3], at, "strides")) stride.push_back(as<int64_t>(d, at, "a stride"));
      if (size.size() != stride.size()) fail(at, "a tensor whose size and strides differ in length");
      return make(tensor(s, offset, size, stride, at));
    }
    fail(at,
         "the global '" + callable + "', which is not part of a state dict of tensors (refused: it could run code)");
  }

  torch::Tensor tensor(const Storage& s, int64_t offset, const std::vector<int64_t>& size,
                       const std::vector<int64_t>& stride, size_t at) {
    // The elements the view reaches must lie inside the storage (no overflow on the way), and it may not hold
    // more elements than the storage: a state dict's tensors are plain views, and a broadcast one could ask
    // .contiguous() for any amount of memory.
    int64_t last = offset, elements = 1;
    bool empty = false;
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] < 0 || stride[i] < 0) fail(at, "a negative size or stride");
      if (size[i] == 0) empty = true;
      int64_t reach = 0;
      if (size[i] > 0 &&
          (__builtin_mul_overflow(size[i] - 1, stride[i], &reach) || __builtin_add_overflow(last, reach, &last)))
        fail(at, "a tensor's size and strides overflow");
      if (!empty && __builtin_mul_overflow(elements, size[i], &elements)) fail(at, "a tensor's size overflows");
    }
    auto& storage = storages_[s.key];
    if (!storage.defined()) {
      const std::string record = "data/" + s.key;
      if (!archive_.hasRecord(record)) fail(at, "the storage record '" + record + "' is missing");
      auto [data, bytes] = archive_.getRecord(record);
      const size_t itemsize = c10::elementSize(s.dtype);
      if (s.numel < 0 || static_cast<size_t>(s.numel) > bytes || bytes != static_cast<size_t>(s.numel) * itemsize)
        fail(at, "the storage '" + record + "' holds " + std::to_string(bytes) + " bytes, not " +
                     std::to_string(s.numel) + " elements of " + std::to_string(itemsize));
      storage = torch::empty({s.numel}, torch::TensorOptions().dtype(s.dtype));
      if (bytes > 0) std::memcpy(storage.data_ptr(), data.get(), bytes);
    }
    if (!empty && (offset < 0 || last >= storage.numel()))
      fail(at, "a tensor reaches past the end of its storage '" + s.key + "'");
    if (!empty && elements > storage.numel())
      fail(at, "a tensor of more elements than its storage '" + s.key + "' (a broadcast view)");
    if (empty) return torch::empty(size, storage.options());
    return storage.as_strided(size, stride, offset).contiguous();
  }

  const char* p_;
  const char* end_;
  const char* begin_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  std::string where_;
  std::vector<ValuePtr> stack_, memo_;
  std::map<std::string, torch::Tensor> storages_;
};

}  // namespace

namespace {

std::map<std::string, torch::Tensor> read_archive(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path.string());
  } catch (const c10::Error&) {
    throw Error(where +
                ": not a torch.save zip archive (a checkpoint of PyTorch 1.6 or later; an older one must "
                "be saved again)");
  }
  if (archive->hasRecord("byteorder")) {
    auto [data, bytes] = archive->getRecord("byteorder");
    if (bytes == 0 || std::string(static_cast<const char*>(data.get()), bytes) != "little")
      throw Error(where + ": a checkpoint whose byte order is not little-endian, which ftmamba does not read");
  }
  if (!archive->hasRecord("data.pkl")) throw Error(where + ": the archive has no data.pkl");
  auto [data, bytes] = archive->getRecord("data.pkl");
  Unpickler unpickler(static_cast<const char*>(data.get()), bytes, *archive, where);
  const auto root = unpickler.run();
  if (!root->is_dict()) throw Error(where + ": data.pkl holds no dict of tensors");
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [k, v] : std::get<Dict>(root->v)) {
    if (!std::holds_alternative<std::string>(k->v) || !std::holds_alternative<torch::Tensor>(v->v))
      throw Error(where + ": the state dict holds an entry that is not a named tensor");
    tensors[std::get<std::string>(k->v)] = std::get<torch::Tensor>(v->v);
  }
  return tensors;
}

}  // namespace

std::map<std::string, torch::Tensor> read_torch_checkpoint(const std::filesystem::path& path) {
  require_regular_file(path);
  try {
    return read_archive(path);
  } catch (const c10::Error& e) {  // the zip reader's complaints about a damaged archive
    const std::string what = e.what_without_backtrace();
    throw Error(path.string() + ": a damaged torch.save archive: " + what.substr(0, what.find('\n')));
  }
}

}  // namespace ftmamba::io
