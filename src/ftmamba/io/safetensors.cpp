// defines: the safetensors reader and writer (format: u64 LE header size, JSON header, raw data).
#include "ftmamba/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::io {
namespace {

struct DtypeName {
  torch::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {torch::kFloat64, "F64"}, {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"}, {torch::kBFloat16, "BF16"},
    {torch::kInt64, "I64"},   {torch::kInt32, "I32"},   {torch::kInt16, "I16"},   {torch::kInt8, "I8"},
    {torch::kUInt8, "U8"},    {torch::kBool, "BOOL"},
};

const char* dtype_name(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  throw Error(std::string("safetensors: unsupported dtype ") + c10::toString(t));
}

torch::ScalarType dtype_from_name(const std::string& file, const std::string& n, const std::string& tensor) {
  for (const auto& d : kDtypes)
    if (n == d.name) return d.type;
  throw Error(file + ": tensor '" + tensor + "': unsupported safetensors dtype '" + n + "'");
}

// Larger headers are refused before parsing (the Python reader's limit is 100 MB too).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// One tensor of the header, checked: a known dtype, a non-negative shape whose byte count does not overflow,
// and data_offsets inside the data and exactly that long.
struct Entry {
  std::string name;
  torch::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // within the data section
};

Entry checked_entry(const std::string& file, const std::string& name, const nlohmann::json& info, uint64_t data_size) {
  const std::string where = file + ": tensor '" + name + "': ";
  if (!info.is_object()) throw Error(where + "malformed entry: expected an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!info.contains(key)) throw Error(where + "malformed entry: no \"" + key + "\"");
  const auto& dtype = info["dtype"];
  if (!dtype.is_string()) throw Error(where + "dtype must be a string");
  Entry e;
  e.name = name;
  e.type = dtype_from_name(file, dtype.get<std::string>(), name);
  const auto& shape = info["shape"];
  if (!shape.is_array()) throw Error(where + "shape must be an array of integers");
  // LibTorch multiplies out the dimensions other than 0 even when one is 0: those must not overflow either.
  uint64_t numel = 1, nonzero = 1;
  bool overflow = false;
  for (const auto& d : shape) {
    if (!d.is_number_integer()) throw Error(where + "shape must be an array of integers, got " + shape.dump());
    if (d.is_number_unsigned() ? d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) : d.get<int64_t>() < 0)
      throw Error(where + "shape " + shape.dump() + " has a negative or oversized dimension");
    const auto n = static_cast<uint64_t>(d.get<int64_t>());
    overflow = overflow || __builtin_mul_overflow(numel, n, &numel) ||
               (n > 0 && (__builtin_mul_overflow(nonzero, n, &nonzero) || nonzero > static_cast<uint64_t>(INT64_MAX)));
    e.shape.push_back(static_cast<int64_t>(n));
  }
  uint64_t nbytes = 0;
  overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(c10::elementSize(e.type)), &nbytes);
  if (overflow || nbytes > data_size)
    throw Error(where + "shape " + shape.dump() + " of " + dtype.get<std::string>() +
                " needs more bytes than the file's " + std::to_string(data_size) + " of data");
  const auto& offs = info["data_offsets"];
  if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
    throw Error(where + "data_offsets must be two non-negative integers, got " + offs.dump());
  e.begin = offs[0].get<uint64_t>();
  e.end = offs[1].get<uint64_t>();
  if (e.end < e.begin || e.end > data_size)
    throw Error(where + "data_offsets " + offs.dump() + " lie outside the file's " + std::to_string(data_size) +
                " bytes of data");
  if (e.end - e.begin != nbytes)
    throw Error(where + "data_offsets " + offs.dump() + " span " + std::to_string(e.end - e.begin) +
                " bytes, but shape " + shape.dump() + " of " + dtype.get<std::string>() + " needs " +
                std::to_string(nbytes));
  return e;
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  size_t offset = 0;
  for (const auto& [name, t0] : tensors) {
    if (header.contains(name)) throw Error("safetensors: duplicate tensor name '" + name + "'");
    torch::Tensor t = t0.detach().to(torch::kCPU).contiguous();
    const size_t nbytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(t);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // pad so the data starts 8-byte aligned
  std::string bytes(8 + h.size() + offset, '\0');
  const uint64_t hsize = h.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((hsize >> (8 * i)) & 0xff);  // little endian
  std::memcpy(bytes.data() + 8, h.data(), h.size());
  char* out = bytes.data() + 8 + h.size();
  for (const auto& t : data) {
    const size_t nbytes = t.numel() * t.element_size();
    if (nbytes) std::memcpy(out, t.data_ptr(), nbytes);
    out += nbytes;
  }
  write_file_atomic(path, bytes);
}

std::map<std::string, torch::Tensor> load_safetensors(const std::filesystem::path& path,
                                                      std::map<std::string, std::string>* metadata) {
  const std::string file = path.string();
  require_regular_file(path);
  const std::string bytes = read_file(path);
  if (bytes.size() < 8) throw Error(file + ": truncated safetensors file (no header size)");
  uint64_t hsize = 0;
  for (int i = 0; i < 8; ++i) hsize |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (hsize > kMaxHeaderBytes)
    throw Error(file + ": safetensors header size " + std::to_string(hsize) + " exceeds the limit of " +
                std::to_string(kMaxHeaderBytes) + " bytes");
  if (hsize > bytes.size() - 8)
    throw Error(file + ": truncated safetensors file (the header claims " + std::to_string(hsize) +
                " bytes, the file has " + std::to_string(bytes.size() - 8) + " after the size)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, hsize));
  } catch (const std::exception& e) {
    throw Error(file + ": malformed safetensors header: " + e.what());
  }
  if (!header.is_object()) throw Error(file + ": malformed safetensors header: not a JSON object");
  const uint64_t data_start = 8 + hsize, data_size = bytes.size() - data_start;

  // Every entry is checked, and the byte ranges compared, before a single tensor is allocated.
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(file + ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) throw Error(file + ": __metadata__ '" + k + "' must be a string");
        if (metadata) (*metadata)[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(checked_entry(file, name, info, data_size));
  }
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const Entry& prev = *by_offset[i - 1];
    const Entry& cur = *by_offset[i];
    if (cur.begin < prev.end)  // empty tensors occupy no bytes, so never overlap
      throw Error(file + ": tensor '" + cur.name + "' data_offsets [" + std::to_string(cur.begin) + ", " +
                  std::to_string(cur.end) + ") overlap tensor '" + prev.name + "' [" + std::to_string(prev.begin) +
                  ", " + std::to_string(prev.end) + ")");
  }

  std::map<std::string, torch::Tensor> out;
  for (const auto& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), bytes.data() + data_start + e.begin, e.end - e.begin);
    out.emplace(e.name, std::move(t));
  }
  return out;
}

}  // namespace ftmamba::io
