// defines: serving_index_search (see serving_index.h).
#include "ftmamba/serve/serving_index.h"

#include <memory>
#include <string>

#include "ftmamba/core/error.h"
#include "ftmamba/serve/index_build.h"
#include "ftmamba/serve/item_index.h"

namespace ftmamba::serve {

ItemSearchFactory serving_index_search(const std::filesystem::path& run_dir, ServingIndex which) {
  if (which == ServingIndex::kExact) return {};
  return [run_dir, which](const Recommender& recommender) -> std::shared_ptr<ItemSearch> {
    const std::filesystem::path dir = run_dir / kIndexDir;
    if (!std::filesystem::exists(dir / ItemIndex::kMetaFile)) {
      if (which == ServingIndex::kAuto) return nullptr;
      throw Error((dir / ItemIndex::kMetaFile).string() +
                  ": not found; build the run's item index with `ftmamba index --run " + run_dir.string() + "`");
    }
    const int64_t dim = recommender.item_embeddings().size(1);
    auto index = std::make_shared<ItemIndex>(ItemIndex::load(dir, run_index_identity(recommender.run(), dim)));
    const int64_t items = recommender.data().n_items();
    if (index->rows() != items)
      throw Error(dir.string() + ": the index was built over " + std::to_string(index->rows()) +
                  " items, the catalog being served has " + std::to_string(items) +
                  "; rebuild it over this catalog with `ftmamba index --run " + run_dir.string() +
                  " --data DIR` (the --data given to serve), or serve with --index exact");
    return index;
  };
}

}  // namespace ftmamba::serve
