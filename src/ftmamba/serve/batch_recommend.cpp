// defines: recommend_to_output (see batch_recommend.h): the output (atomic file or stdout), the two formats, and
// the loop of blocks from the Recommender to the output.
#include "ftmamba/serve/batch_recommend.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>

#include "ftmamba/core/error.h"
#include "ftmamba/core/progress.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/io/atomic_file_writer.h"
#include "ftmamba/serve/recommender.h"
#include "ftmamba/serve/user_list.h"

namespace ftmamba::serve {
namespace {

// Where the bytes go: a file that appears whole on commit(), or stdout.
class Output {
 public:
  Output(const std::string& out, bool force) {
    if (out != kStdout) file_ = std::make_unique<io::AtomicFileWriter>(out, force);
  }
  void write(const std::string& bytes) {
    if (file_) return file_->write(bytes);
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size())
      throw Error(std::string("stdout: write failed: ") + errno_text());
  }
  void commit() {
    if (file_) return file_->commit();
    if (std::fflush(stdout) != 0) throw Error(std::string("stdout: write failed: ") + errno_text());
  }

 private:
  std::unique_ptr<io::AtomicFileWriter> file_;
};

// A score as the shortest text that reads back as the same float.
std::string score_text(double score) { return fmt::format("{}", static_cast<float>(score)); }

void append(std::string& buf, const Recommendations& r, BatchFormat format) {
  if (format == BatchFormat::kCsv) {
    for (const auto& it : r.items)
      buf += data::format_csv_row({r.user, std::to_string(it.rank), it.item, score_text(it.score)});
    return;
  }
  buf += "{\"user\":" + nlohmann::json(r.user).dump() + ",\"items\":[";
  for (size_t i = 0; i < r.items.size(); ++i)
    buf += (i ? ",{\"item\":" : "{\"item\":") + nlohmann::json(r.items[i].item).dump() +
           ",\"score\":" + score_text(r.items[i].score) + "}";
  buf += "]}\n";
}

}  // namespace

BatchFormat batch_format(const BatchRequest& request) {
  if (request.format) return *request.format;
  return request.out.ends_with(".jsonl") ? BatchFormat::kJsonl : BatchFormat::kCsv;
}

BatchSummary recommend_to_output(const BatchRequest& request, torch::Device device, const Log& warn) {
  if (request.out.empty()) throw Error("--out is empty; give a file, or - for stdout");
  const bool to_file = request.out != kStdout;
  if (to_file) io::AtomicFileWriter::check(request.out, request.force);  // before minutes of loading
  BatchSummary s;
  s.out = request.out;
  s.format = batch_format(request);
  s.k = request.k;
  Stopwatch total(device), phase(device);

  const auto rec = Recommender::load(request.run_dir, request.data_dir, device);
  std::vector<int64_t> rows;
  if (request.all_users) {
    rows.resize(rec.data().n_users());
    std::iota(rows.begin(), rows.end(), 0);
  } else {
    auto list = read_user_list(request.users_file, rec, request.skip_unknown, warn);
    rows = std::move(list.rows);
    s.skipped_unknown = list.skipped;
  }
  s.users = static_cast<int64_t>(rows.size());
  s.items = rec.data().n_items();
  s.load_seconds = phase.lap().wall_ms / 1e3;

  Output out(request.out, request.force);
  std::string buf;
  if (s.format == BatchFormat::kCsv) buf = data::format_csv_row({"user", "rank", "item", "score"});
  ProgressBar progress("recommend", s.users, request.progress && ProgressBar::stderr_is_terminal());
  int64_t done = 0;
  rec.recommend_blocks(rows, request.k, request.include_seen, request.block, [&](std::vector<Recommendations>& recs) {
    for (const auto& r : recs) {
      append(buf, r, s.format);
      s.rows += static_cast<int64_t>(r.items.size());
    }
    out.write(buf);
    buf.clear();
    done += static_cast<int64_t>(recs.size());
    progress.update_count(done, "users");
  });
  if (!buf.empty()) out.write(buf);  // the CSV header of an empty list
  progress.finish();
  out.commit();
  s.rank_seconds = phase.lap().wall_ms / 1e3;
  s.seconds = total.seconds();
  return s;
}

nlohmann::ordered_json to_json(const BatchSummary& s) {
  return {{"out", s.out},
          {"format", std::string(enum_name(s.format))},
          {"users", s.users},
          {"items", s.items},
          {"k", s.k},
          {"rows", s.rows},
          {"skipped_unknown", s.skipped_unknown},
          {"load_seconds", s.load_seconds},
          {"rank_seconds", s.rank_seconds},
          {"seconds", s.seconds}};
}

}  // namespace ftmamba::serve
