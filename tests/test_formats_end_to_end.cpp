// End-to-end: the ftmamba binary trains, evaluates and recommends from a dataset folder whose tables are
// tab-separated and gzip-compressed (users.tsv, items.csv.gz, interactions.tsv.gz), and its messages name those
// files; a folder with two files for one table fails cleanly, naming both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "binary_runner.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/io/atomic_file.h"
#include "gzip_file.h"

namespace fs = std::filesystem;
using ftmamba_test::run_binary;

namespace {

// A table as text with `delim`, quoting a field that holds the delimiter, a quote or a line end.
std::string as_text(const ftmamba::data::CsvTable& t, char delim) {
  std::string out;
  const auto put_row = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += delim;
      if (row[c].find_first_of(std::string(1, delim) + "\"\r\n") == std::string::npos) {
        out += row[c];
        continue;
      }
      out += '"';
      for (const char ch : row[c]) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      out += '"';
    }
    out += '\n';
  };
  put_row(t.header);
  for (const auto& row : t.rows) put_row(row);
  return out;
}

class FormatsEndToEnd : public ::testing::Test {
 protected:
  static fs::path dir, data;
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("ftmamba_fmt_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    data = dir / "data";
    const auto g = run_binary("generate --preset spotify --pairs 3000 --seed 4 --out " + data.string());
    ASSERT_EQ(g.code, 0) << g.out;
    // The same tables in three other formats; the .csv files go.
    const auto users = ftmamba::data::read_csv(data / "users.csv");
    const auto items = ftmamba::data::read_csv(data / "items.csv");
    const auto inter = ftmamba::data::read_csv(data / "interactions.csv");
    ftmamba::io::write_file_atomic(data / "users.tsv", as_text(users, '\t'));
    ftmamba_test::write_gzip(data / "items.csv.gz", as_text(items, ','));
    ftmamba_test::write_gzip(data / "interactions.tsv.gz", as_text(inter, '\t'));
    for (const char* f : {"users.csv", "items.csv", "interactions.csv"}) fs::remove(data / f);
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
};
fs::path FormatsEndToEnd::dir, FormatsEndToEnd::data;

const char* kSmall =
    " --quiet --set train.epochs=1 --set train.batch_size=256 --set model.d_token=16 --set model.embed_dim=16"
    " --set model.n_layers=1";

}  // namespace

TEST_F(FormatsEndToEnd, TrainsEvaluatesAndRecommendsFromTsvAndGzip) {
  const fs::path run = dir / "run";
  const auto t = run_binary("train --data " + data.string() + " --out " + run.string() + kSmall);
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_TRUE(fs::exists(run / "model.safetensors"));
  EXPECT_TRUE(fs::exists(run / "metrics.json"));
  const auto e = run_binary("eval --run " + run.string() + " --json");
  EXPECT_EQ(e.code, 0) << e.out;
  // A user of users.tsv is known; an unknown one is reported against users.tsv when the dataset is read.
  const auto users = ftmamba::data::read_csv(data / "users.tsv");
  const auto r = run_binary("recommend --run " + run.string() + " --user " + users.rows[0][0] + " --k 3");
  EXPECT_EQ(r.code, 0) << r.out;
  // With --data the dataset is read (without it, the users the run stored answer, and the message names them).
  const auto unknown =
      run_binary("recommend --run " + run.string() + " --data " + data.string() + " --user no-such-user --k 3");
  EXPECT_EQ(unknown.code, 1) << unknown.out;
  EXPECT_NE(unknown.out.find("not in " + (data / "users.tsv").string()), std::string::npos) << unknown.out;
}

TEST_F(FormatsEndToEnd, TwoFilesForATableStopTrainingNamingBoth) {
  const fs::path twice = dir / "twice";
  fs::create_directories(twice);
  for (const auto& e : fs::directory_iterator(data)) fs::copy(e.path(), twice / e.path().filename());
  fs::copy(twice / "users.tsv", twice / "users.csv");
  const fs::path run = dir / "run-twice";
  const auto t = run_binary("train --data " + twice.string() + " --out " + run.string() + kSmall);
  EXPECT_EQ(t.code, 1) << t.out;
  EXPECT_NE(t.out.find((twice / "users.csv").string() + " and " + (twice / "users.tsv").string()), std::string::npos)
      << t.out;
  EXPECT_FALSE(fs::exists(run));
}
