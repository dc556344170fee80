// defines: the safetensors reader and writer (format: u64 LE header size, JSON header, raw data).
#include "ftmamba/io/safetensors.h"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"

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

torch::ScalarType dtype_from_name(const std::string& file, const std::string& n) {
  for (const auto& d : kDtypes)
    if (n == d.name) return d.type;
  throw Error(file + ": unsupported safetensors dtype '" + n + "'");
}

// The bytes a tensor of this shape holds, checked before anything is allocated: a negative dimension, or a
// shape whose element count overflows, is an Error rather than LibTorch's exception or a huge allocation.
// Dimensions of 0 are skipped in the overflow check, as LibTorch still multiplies them out.
size_t checked_nbytes(const std::string& file, const std::string& name, const std::vector<int64_t>& shape,
                      size_t element_size) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t numel = 1, nonzero = 1;
  for (const int64_t d : shape) {
    if (d < 0) throw Error(file + ": tensor '" + name + "' has a negative dimension");
    const auto u = static_cast<uint64_t>(d);
    if (u > 0 && nonzero > kMax / u) throw Error(file + ": tensor '" + name + "' has a shape too large");
    nonzero *= u > 0 ? u : 1;
    numel *= u;
  }
  if (numel > kMax / element_size) throw Error(file + ": tensor '" + name + "' has a shape too large");
  return numel * element_size;
}

// An array of integers (shape, data_offsets): a float such as 1e300 would reach nlohmann's cast to an integer,
// which is undefined behaviour.
template <class T>
std::vector<T> integer_array(const std::string& file, const std::string& name, const nlohmann::json& j,
                             const char* key) {
  const auto& a = j.at(key);
  if (!a.is_array()) throw Error(file + ": tensor '" + name + "': " + key + " must be an array of integers");
  for (const auto& v : a) {
    if (!v.is_number_integer() || (std::is_unsigned_v<T> && !v.is_number_unsigned()))
      throw Error(file + ": tensor '" + name + "': " + key + " must hold non-negative integers");
  }
  return a.get<std::vector<T>>();
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
  const std::string bytes = read_file(path);
  if (bytes.size() < 8) throw Error(file + ": truncated safetensors file (no header size)");
  uint64_t hsize = 0;
  for (int i = 0; i < 8; ++i) hsize |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (hsize > bytes.size() - 8) throw Error(file + ": truncated safetensors file (header)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, hsize));
  } catch (const std::exception& e) {
    throw Error(file + ": malformed safetensors header: " + e.what());
  }
  if (!header.is_object()) throw Error(file + ": malformed safetensors header: not a JSON object");
  const size_t data_start = 8 + hsize, data_size = bytes.size() - data_start;
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(file + ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) throw Error(file + ": __metadata__ '" + k + "' must be a string");
        if (metadata) (*metadata)[k] = v.get<std::string>();
      }
      continue;
    }
    try {
      const auto type = dtype_from_name(file, info.at("dtype").get<std::string>());
      const auto shape = integer_array<int64_t>(file, name, info, "shape");
      const auto offs = integer_array<size_t>(file, name, info, "data_offsets");
      const size_t nbytes = checked_nbytes(file, name, shape, c10::elementSize(type));
      if (offs.size() != 2 || offs[1] < offs[0] || offs[1] > data_size || offs[1] - offs[0] != nbytes)
        throw Error(file + ": tensor '" + name + "' has bad data_offsets");
      torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
      if (nbytes) std::memcpy(t.data_ptr(), bytes.data() + data_start + offs[0], nbytes);
      out.emplace(name, t);
    } catch (const nlohmann::json::exception& e) {
      throw Error(file + ": tensor '" + name + "': malformed entry: " + e.what());
    }
  }
  return out;
}

}  // namespace ftmamba::io
