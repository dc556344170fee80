// defines: InferenceData: built from a dataset or a run's training data, saved to and loaded from a run folder,
// and inference_data_for, which picks the source a recommendation uses.
#include "ftmamba/run/inference_data.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/run/run.h"

namespace ftmamba::run {
namespace fs = std::filesystem;
namespace {

std::unordered_map<std::string, int64_t> index_of(const std::vector<std::string>& ids) {
  std::unordered_map<std::string, int64_t> index;
  index.reserve(ids.size());
  for (size_t r = 0; r < ids.size(); ++r) index.emplace(ids[r], static_cast<int64_t>(r));
  return index;
}

void put(io::NamedTensors& out, const std::string& side, const data::EncodedFeatures& f) {
  out.emplace_back(side + ".numerical", f.numerical.to(torch::kFloat32).contiguous());
  out.emplace_back(side + ".missing", f.missing.to(torch::kUInt8).contiguous());
  out.emplace_back(side + ".categorical", f.categorical.to(torch::kInt32).contiguous());
}

// A stored tensor, checked for its dtype and shape; an error names the file and the tensor.
torch::Tensor take(const std::map<std::string, torch::Tensor>& tensors, const fs::path& file, const std::string& name,
                   torch::ScalarType dtype, const std::vector<int64_t>& shape) {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(file.string() + ": tensor '" + name + "' is missing");
  const auto& t = it->second;
  if (t.scalar_type() != dtype || t.sizes() != c10::IntArrayRef(shape))
    throw Error(file.string() + ": tensor '" + name + "' has dtype " + c10::toString(t.scalar_type()) + " and shape " +
                c10::str(t.sizes()) + ", expected " + c10::toString(dtype) + " " + c10::str(c10::IntArrayRef(shape)));
  return t;
}

data::EncodedFeatures take_side(const std::map<std::string, torch::Tensor>& tensors, const fs::path& file,
                                const std::string& side, int64_t n, const data::FeatureEncoding& enc) {
  data::EncodedFeatures f;
  f.numerical = take(tensors, file, side + ".numerical", torch::kFloat32, {n, enc.n_num()});
  f.missing = take(tensors, file, side + ".missing", torch::kUInt8, {n, enc.n_num()}).to(torch::kFloat32);
  f.categorical = take(tensors, file, side + ".categorical", torch::kInt32, {n, enc.n_cat()}).to(torch::kInt64);
  if (f.numerical.numel() > 0 && !torch::isfinite(f.numerical).all().item<bool>())
    throw Error(file.string() + ": tensor '" + side + ".numerical' holds a non-finite value");
  // Each feature's index lies in its own vocabulary: [offset, offset + vocabulary size).
  const auto cards = enc.cardinalities();
  for (int64_t j = 0; j < enc.n_cat(); ++j) {
    const auto col = f.categorical.select(1, j);
    if (n > 0 && (col.min().item<int64_t>() < enc.offsets[j] || col.max().item<int64_t>() >= enc.offsets[j] + cards[j]))
      throw Error(file.string() + ": tensor '" + side + ".categorical': feature '" + enc.categorical_names[j] +
                  "' holds an index outside its vocabulary; the file does not belong to this run");
  }
  return f;
}

// Ids as tensors rather than header metadata, so that a catalog of millions stays far from the header's size
// limit: NAME.bytes (U8, every id's bytes end to end) and NAME.offsets (I64, n + 1: where each begins, then the end).
void put_ids(io::NamedTensors& out, const std::string& name, const std::vector<std::string>& ids) {
  std::vector<int64_t> offsets{0};
  std::string bytes;
  for (const auto& id : ids) {
    bytes += id;
    offsets.push_back(static_cast<int64_t>(bytes.size()));
  }
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  out.emplace_back(name + ".bytes", t);
  out.emplace_back(name + ".offsets", torch::tensor(offsets, torch::kInt64));
}

std::vector<std::string> take_ids(const std::map<std::string, torch::Tensor>& tensors, const fs::path& file,
                                  const std::string& name) {
  const auto bytes_it = tensors.find(name + ".bytes"), offsets_it = tensors.find(name + ".offsets");
  if (bytes_it == tensors.end() || offsets_it == tensors.end())
    throw Error(file.string() + ": tensors '" + name + ".bytes' and '" + name + ".offsets' are missing");
  const auto& bytes = bytes_it->second;
  const auto& offsets = offsets_it->second;
  if (bytes.scalar_type() != torch::kUInt8 || bytes.dim() != 1 || offsets.scalar_type() != torch::kInt64 ||
      offsets.dim() != 1 || offsets.size(0) < 1)
    throw Error(file.string() + ": tensors '" + name + ".bytes' (U8) and '" + name + ".offsets' (I64) must be lists");
  const int64_t* off = offsets.data_ptr<int64_t>();
  const int64_t n = offsets.size(0) - 1;
  if (off[0] != 0 || off[n] != bytes.size(0))
    throw Error(file.string() + ": tensor '" + name + ".offsets' does not span '" + name + ".bytes'");
  const char* text = reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>());
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (off[i + 1] < off[i])
      throw Error(file.string() + ": tensor '" + name + ".offsets' decreases at " + std::to_string(i));
    ids.emplace_back(text + off[i], static_cast<size_t>(off[i + 1] - off[i]));
  }
  return ids;
}

// The dataset's ids, columns and seen items (every interaction, whatever its split) beside its encoded features.
InferenceData from_encoded(const data::Dataset& dataset, data::EncodedFeatures users, data::EncodedFeatures items) {
  InferenceData d;
  d.users_source = dataset.users_file.path;
  d.items_source = dataset.items_file.path;
  d.user_schema = dataset.schema.users;
  d.user_ids = dataset.users.ids;
  d.item_ids = dataset.items.ids;
  d.user_index = dataset.users.index;
  d.users = std::move(users);
  d.items = std::move(items);
  const auto& inter = dataset.interactions;
  d.seen.assign(dataset.users.size(), {});
  for (int64_t i = 0; i < inter.size(); ++i) d.seen[inter.user[i]].push_back(inter.item[i]);
  for (auto& s : d.seen) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  return d;
}

}  // namespace

InferenceData InferenceData::from_dataset(const data::Dataset& dataset, const data::FeatureEncoding& user_encoding,
                                          const data::FeatureEncoding& item_encoding) {
  return from_encoded(dataset, user_encoding.transform(dataset.users), item_encoding.transform(dataset.items));
}

InferenceData InferenceData::from_prepared(const PreparedData& data) {
  return from_encoded(data.dataset, data.users, data.items);
}

void InferenceData::save(const fs::path& run_dir) const {
  io::NamedTensors tensors;
  put(tensors, "users", users);
  put(tensors, "items", items);
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> flat;
  for (const auto& s : seen) {
    for (int64_t i : s) flat.push_back(static_cast<int32_t>(i));
    offsets.push_back(static_cast<int64_t>(flat.size()));
  }
  tensors.emplace_back("seen.offsets", torch::tensor(offsets, torch::kInt64));
  tensors.emplace_back("seen.items", torch::tensor(flat, torch::kInt32));
  put_ids(tensors, "user_ids", user_ids);
  put_ids(tensors, "item_ids", item_ids);
  const nlohmann::json schema = {
      {"id", user_schema.id}, {"numerical", user_schema.numerical}, {"categorical", user_schema.categorical}};
  io::save_safetensors(run_dir / kInferenceFile, tensors,
                       {{"format", "ftmamba-inference"}, {"version", "1"}, {"user_schema", schema.dump()}});
}

InferenceData InferenceData::load(const fs::path& run_dir, const data::FeatureEncoding& user_encoding,
                                  const data::FeatureEncoding& item_encoding) {
  const fs::path file = run_dir / kInferenceFile;
  std::map<std::string, std::string> meta;
  const auto tensors = io::load_safetensors(file, &meta);
  if (meta["format"] != "ftmamba-inference" || meta["version"] != "1")
    throw Error(file.string() + ": not an ftmamba inference file (metadata format / version)");
  InferenceData d;
  d.users_source = d.items_source = file;
  d.user_ids = take_ids(tensors, file, "user_ids");
  d.item_ids = take_ids(tensors, file, "item_ids");
  if (d.user_ids.empty() || d.item_ids.empty()) throw Error(file.string() + ": no users or no items");
  d.user_index = index_of(d.user_ids);
  if (d.user_index.size() != d.user_ids.size())
    throw Error(file.string() + ": tensor 'user_ids.bytes' repeats a user id");
  try {
    const auto schema = nlohmann::json::parse(meta.at("user_schema"));
    d.user_schema.id = schema.at("id").get<std::string>();
    d.user_schema.numerical = schema.at("numerical").get<std::vector<std::string>>();
    d.user_schema.categorical = schema.at("categorical").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    throw Error(file.string() + ": metadata 'user_schema': " + e.what());
  }
  d.users = take_side(tensors, file, "users", d.n_users(), user_encoding);
  d.items = take_side(tensors, file, "items", d.n_items(), item_encoding);

  const auto offsets = take(tensors, file, "seen.offsets", torch::kInt64, {d.n_users() + 1});
  const auto it = tensors.find("seen.items");
  if (it == tensors.end() || it->second.scalar_type() != torch::kInt32 || it->second.dim() != 1)
    throw Error(file.string() + ": tensor 'seen.items' must be a list of I32 item rows");
  const int64_t* off = offsets.data_ptr<int64_t>();
  const int32_t* items = it->second.data_ptr<int32_t>();
  const int64_t n_seen = it->second.size(0);
  if (off[0] != 0 || off[d.n_users()] != n_seen)
    throw Error(file.string() + ": tensor 'seen.offsets' does not span 'seen.items'");
  d.seen.resize(d.n_users());
  for (int64_t u = 0; u < d.n_users(); ++u) {
    if (off[u + 1] < off[u])
      throw Error(file.string() + ": tensor 'seen.offsets' decreases at user row " + std::to_string(u));
    for (int64_t j = off[u]; j < off[u + 1]; ++j) {
      const int64_t item = items[j];
      if (item < 0 || item >= d.n_items() || (!d.seen[u].empty() && item <= d.seen[u].back()))
        throw Error(file.string() + ": tensor 'seen.items': user row " + std::to_string(u) +
                    " lists item rows out of range or out of order");
      d.seen[u].push_back(item);
    }
  }
  return d;
}

InferenceData inference_data_for(const Run& run, const fs::path& data_dir) {
  const auto from = [&](const fs::path& dir) {
    return InferenceData::from_dataset(data::Dataset::load(dir), run.user_encoding, run.item_encoding);
  };
  if (!data_dir.empty()) return from(data_dir);
  if (fs::exists(run.dir / kInferenceFile)) return InferenceData::load(run.dir, run.user_encoding, run.item_encoding);
  if (fs::exists(run.data_dir / "schema.toml")) return from(run.data_dir);
  throw Error((run.dir / kInferenceFile).string() +
              ": file not found (the run was written before runs stored their users and items), and the dataset it "
              "was trained on is gone (" +
              (run.data_dir / "schema.toml").string() +
              ": file not found); pass --data DIR with the dataset folder the run was trained on");
}

}  // namespace ftmamba::run
