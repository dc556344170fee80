// defines: ItemIndex::save and ItemIndex::load, an index folder: index.faiss (FAISS's own bytes),
// vectors.safetensors (each slot's exact embedding, its item row, whether it is live) and index.json (the
// parameters, what the index was built from, and the SHA-256 of the other two files, written last).
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/serve/item_index.h"

namespace ftmamba::serve {
namespace fs = std::filesystem;
namespace {

constexpr int kFormat = 1;

// Whether FAISS read back the kind of index the parameters name.
bool faiss_type_matches(const faiss::Index* index, IndexType type) {
  switch (type) {
    case IndexType::kFlat:
      return dynamic_cast<const faiss::IndexFlatIP*>(index) != nullptr;
    case IndexType::kHnsw:
      return dynamic_cast<const faiss::IndexHNSWFlat*>(index) != nullptr;
    case IndexType::kIvf:
      return dynamic_cast<const faiss::IndexIVFFlat*>(index) != nullptr;
    case IndexType::kIvfPq:
      return dynamic_cast<const faiss::IndexIVFPQ*>(index) != nullptr;
  }
  return false;
}

const nlohmann::json& member(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw Error(where + ": no \"" + key + "\" (not an item index written by ftmamba index)");
  return j[key];
}

int64_t count_member(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto& v = member(j, key, where);
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    throw Error(where + ": \"" + key + "\" must be a non-negative integer");
  return v.get<int64_t>();
}

// The file's bytes, checked against the SHA-256 index.json records for it.
std::string read_checked(const fs::path& file, const nlohmann::json& hashes, const std::string& meta) {
  const std::string name = file.filename().string();
  if (!hashes.is_object() || !hashes.contains(name) || !hashes[name].is_string())
    throw Error(meta + ": sha256." + name + " must be the hex SHA-256 of " + name);
  if (!fs::exists(file)) throw Error(file.string() + ": missing (the index folder is incomplete: rebuild it)");
  const std::string bytes = io::read_file(file);
  const std::string hash = io::sha256_bytes(bytes);
  if (hash != hashes[name].get<std::string>())
    throw Error(file.string() + ": SHA-256 " + hash + " differs from " + hashes[name].get<std::string>() +
                ", recorded in " + meta +
                " when the index was written: the file is corrupt, truncated or was "
                "changed (rebuild it with ftmamba index)");
  return bytes;
}

}  // namespace

void ItemIndex::save(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the index folder: " + ec.message());
  faiss::VectorIOWriter writer;
  try {
    faiss::write_index(index_.get(), &writer);
  } catch (const faiss::FaissException& e) {
    throw Error((dir / kFaissFile).string() + ": FAISS could not serialise the index: " + e.what());
  }
  const std::string_view faiss_bytes(reinterpret_cast<const char*>(writer.data.data()), writer.data.size());
  io::write_file_atomic(dir / kFaissFile, faiss_bytes);

  const int64_t slots = static_cast<int64_t>(slot_row_.size()), dim = identity_.dim;
  const auto vectors = torch::from_blob(const_cast<float*>(vectors_.data()), {slots, dim}, torch::kFloat32);
  const auto slot_rows = torch::from_blob(const_cast<int64_t*>(slot_row_.data()), {slots}, torch::kInt64);
  const auto slot_live = torch::from_blob(const_cast<uint8_t*>(slot_live_.data()), {slots}, torch::kUInt8);
  io::save_safetensors(dir / kVectorsFile, {{"vectors", vectors}, {"slot_rows", slot_rows}, {"slot_live", slot_live}});

  nlohmann::json meta = {
      {"format", kFormat},
      {"params", to_json(params_)},
      {"dim", dim},
      {"normalized", identity_.normalized},
      {"metric", "inner_product"},
      {"weights", identity_.weights},
      {"items", live_},
      {"rows", rows()},
      {"slots", slots},
      {"sha256", {{kFaissFile, io::sha256_bytes(faiss_bytes)}, {kVectorsFile, io::sha256_file(dir / kVectorsFile)}}},
  };
  io::write_file_atomic(dir / kMetaFile, meta.dump(2) + "\n");
}

ItemIndex ItemIndex::load(const fs::path& dir, const IndexIdentity& expected) {
  const fs::path meta_file = dir / kMetaFile;
  const std::string where = meta_file.string();
  if (!fs::exists(meta_file))
    throw Error(where + ": missing: the run has no item index (ftmamba index --run RUN builds one)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(io::read_file(meta_file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": malformed JSON: " + e.what());
  }
  if (!meta.is_object()) throw Error(where + ": not a JSON object");
  if (!member(meta, "format", where).is_number_integer() || meta["format"].get<int>() != kFormat)
    throw Error(where + ": unknown format (this ftmamba reads format " + std::to_string(kFormat) + ")");

  ItemIndex out;
  out.params_ = index_params_from_json(member(meta, "params", where), where);
  out.identity_.dim = count_member(meta, "dim", where);
  const auto& normalized = member(meta, "normalized", where);
  if (!normalized.is_boolean()) throw Error(where + ": \"normalized\" must be true or false");
  out.identity_.normalized = normalized.get<bool>();
  out.identity_.weights = member(meta, "weights", where);
  if (out.identity_.dim != expected.dim)
    throw Error(where + ": the index holds embeddings of dimension " + std::to_string(out.identity_.dim) +
                " but the run's are of dimension " + std::to_string(expected.dim) +
                ": it was built for another run (rebuild it with ftmamba index)");
  if (out.identity_.weights != expected.weights)
    throw Error(where + ": the index was built from weights " + out.identity_.weights.dump() + " but the run's are " +
                expected.weights.dump() +
                ": it was built for another run or before the run changed (rebuild it with ftmamba index)");
  const int64_t slots = count_member(meta, "slots", where), rows = count_member(meta, "rows", where);
  const int64_t items = count_member(meta, "items", where);
  const auto& hashes = member(meta, "sha256", where);

  const fs::path faiss_file = dir / kFaissFile;
  const std::string faiss_bytes = read_checked(faiss_file, hashes, where);
  try {
    faiss::VectorIOReader reader;
    reader.data.assign(faiss_bytes.begin(), faiss_bytes.end());
    out.index_.reset(faiss::read_index(&reader));
  } catch (const faiss::FaissException& e) {
    throw Error(faiss_file.string() + ": not a readable FAISS index (corrupt or truncated): " + e.what());
  } catch (const std::exception& e) {  // a corrupt size field: bad_alloc, length_error
    throw Error(faiss_file.string() + ": not a readable FAISS index (corrupt or truncated): " + e.what());
  }
  if (!faiss_type_matches(out.index_.get(), out.params_.type) || out.index_->d != out.identity_.dim ||
      out.index_->metric_type != faiss::METRIC_INNER_PRODUCT || out.index_->ntotal != slots)
    throw Error(faiss_file.string() + ": the FAISS index is not the " + out.params_.describe() + " index of " +
                std::to_string(slots) + " inner-product vectors of dimension " + std::to_string(out.identity_.dim) +
                " that " + where + " describes");

  const fs::path vectors_file = dir / kVectorsFile;
  read_checked(vectors_file, hashes, where);
  auto tensors = io::load_safetensors(vectors_file);
  const auto tensor = [&](const char* name, torch::ScalarType dtype, std::vector<int64_t> shape) {
    const auto it = tensors.find(name);
    if (it == tensors.end() || it->second.scalar_type() != dtype || it->second.sizes().vec() != shape)
      throw Error(vectors_file.string() + ": tensor '" + name + "' is missing or not of the shape " + where +
                  " describes");
    return it->second.contiguous();
  };
  const auto vectors = tensor("vectors", torch::kFloat32, {slots, out.identity_.dim});
  const auto slot_rows = tensor("slot_rows", torch::kInt64, {slots});
  const auto slot_live = tensor("slot_live", torch::kUInt8, {slots});
  out.vectors_.assign(vectors.data_ptr<float>(), vectors.data_ptr<float>() + vectors.numel());
  out.slot_row_.assign(slot_rows.data_ptr<int64_t>(), slot_rows.data_ptr<int64_t>() + slots);
  out.slot_live_.assign(slot_live.data_ptr<uint8_t>(), slot_live.data_ptr<uint8_t>() + slots);
  out.row_slot_.assign(rows, -1);
  for (int64_t s = 0; s < slots; ++s) {
    const int64_t row = out.slot_row_[s];
    if (row < 0 || row >= rows || out.slot_live_[s] > 1 || (out.slot_live_[s] == 1 && out.row_slot_[row] >= 0))
      throw Error(vectors_file.string() + ": slot " + std::to_string(s) + " is inconsistent (row " +
                  std::to_string(row) + " of " + std::to_string(rows) + ")");
    if (out.slot_live_[s] == 1) {
      out.row_slot_[row] = s;
      ++out.live_;
    }
  }
  if (out.live_ != items)
    throw Error(vectors_file.string() + ": " + std::to_string(out.live_) + " live items, but " + where + " records " +
                std::to_string(items));
  return out;
}

}  // namespace ftmamba::serve
