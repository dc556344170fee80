// `ftmamba recommend --all | --users FILE` through the binary, on a small generated dataset and a one-epoch run:
// the streamed top-k equals per-user `recommend` (same items, same order, scores to 1e-5) with known items
// masked, in CSV, JSON lines and on stdout; a users file's unknown id names FILE:LINE (or is skipped with a
// warning); --out never replaces a file without --force; and the run recommends after its dataset has moved
// (it stores its users and items), while an older run without them says which file is missing and --data.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"

namespace fs = std::filesystem;

namespace {

using ftmamba_test::run_binary;

struct Scored {
  std::string item;
  double score;
};
using Lists = std::map<std::string, std::vector<Scored>>;  // user -> top-k, best first

class BatchRecommend : public ::testing::Test {
 protected:
  static inline fs::path dir, data, run_dir;
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("ftmamba_batch_recommend_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    data = dir / "data";
    run_dir = dir / "run";
    auto g = run_binary("generate --preset spotify --pairs 6000 --seed 3 --out " + data.string());
    ASSERT_EQ(g.code, 0) << g.out;
    auto t = run_binary("train --data " + data.string() + " --out " + run_dir.string() +
                        " --quiet --set train.epochs=1 --set train.batch_size=256 --set model.d_token=16"
                        " --set model.embed_dim=16");
    ASSERT_EQ(t.code, 0) << t.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }

  static std::vector<std::string> lines_of(const fs::path& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
    return out;
  }
  // user,rank,item,score rows (ids here need no quoting), as one list per user in the order they come (a user
  // listed twice comes twice); ranks must count 1, 2, ... within each list.
  static std::vector<std::pair<std::string, std::vector<Scored>>> parse_csv_lists(const std::string& text) {
    std::stringstream in(text);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "user,rank,item,score");
    std::vector<std::pair<std::string, std::vector<Scored>>> out;
    while (std::getline(in, line)) {
      const auto f = split(line);
      EXPECT_EQ(f.size(), 4u) << line;
      if (f.size() != 4) continue;
      if (f[1] == "1") out.emplace_back(f[0], std::vector<Scored>{});
      if (out.empty()) {
        ADD_FAILURE() << "a list starts at rank " << f[1] << ": " << line;
        continue;
      }
      auto& [user, list] = out.back();
      EXPECT_EQ(user, f[0]) << line;
      EXPECT_EQ(std::stoi(f[1]), static_cast<int>(list.size()) + 1) << line;
      list.push_back({f[2], std::stod(f[3])});
    }
    return out;
  }
  static Lists parse_csv(const std::string& text, std::vector<std::string>* order = nullptr) {
    Lists out;
    for (auto& [user, list] : parse_csv_lists(text)) {
      if (order) order->push_back(user);
      out.emplace(user, std::move(list));
    }
    return out;
  }
  static Lists parse_jsonl(const fs::path& file) {
    Lists out;
    for (const auto& line : lines_of(file)) {
      const auto j = nlohmann::json::parse(line);
      auto& list = out[j.at("user").get<std::string>()];
      for (const auto& it : j.at("items")) list.push_back({it.at("item"), it.at("score")});
    }
    return out;
  }
  // `recommend --user` of the binary, as a list.
  static std::vector<Scored> single(const fs::path& run, const std::string& user, const std::string& extra = "") {
    auto r = run_binary("recommend --run " + run.string() + " --user " + user + " --k 10 --json " + extra);
    EXPECT_EQ(r.code, 0) << r.out;
    std::vector<Scored> out;
    if (r.code != 0) return out;
    const auto j = nlohmann::json::parse(r.out);  // alive through the loop
    for (const auto& it : j.at("items")) out.push_back({it.at("item"), it.at("score")});
    return out;
  }
  static void expect_same(const std::vector<Scored>& got, const std::vector<Scored>& want, const std::string& user) {
    ASSERT_EQ(got.size(), want.size()) << user;
    for (size_t r = 0; r < got.size(); ++r) {
      EXPECT_EQ(got[r].item, want[r].item) << user << " rank " << r + 1;
      EXPECT_NEAR(got[r].score, want[r].score, 1e-5) << user << " rank " << r + 1;
    }
  }
  // Each user's items in interactions.csv (user id in the first column, item id in the second).
  static std::map<std::string, std::set<std::string>> seen_items(const fs::path& dataset) {
    std::map<std::string, std::set<std::string>> out;
    const auto lines = lines_of(dataset / "interactions.csv");
    for (size_t i = 1; i < lines.size(); ++i) {
      const auto f = split(lines[i]);
      out[f[0]].insert(f[1]);
    }
    return out;
  }
  static std::vector<std::string> user_ids(const fs::path& dataset) {
    std::vector<std::string> out;
    const auto lines = lines_of(dataset / "users.csv");
    for (size_t i = 1; i < lines.size(); ++i) out.push_back(split(lines[i])[0]);
    return out;
  }
};

}  // namespace

TEST_F(BatchRecommend, AllEqualsPerUserWithKnownItemsMasked) {
  const fs::path out = dir / "all.csv";
  auto r = run_binary("recommend --run " + run_dir.string() + " --all --k 10 --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> order;
  const auto all = parse_csv(ftmamba::io::read_file(out), &order);
  const auto ids = user_ids(data);
  EXPECT_EQ(order, ids);  // every user, in the data's order
  const auto seen = seen_items(data);
  for (const auto& [user, list] : all) {
    ASSERT_EQ(list.size(), 10u) << user;
    for (const auto& it : list)
      EXPECT_FALSE(seen.count(user) && seen.at(user).count(it.item)) << user << " " << it.item;
  }
  // Several users, among them the one with the most known items, against `recommend --user`.
  std::string busiest = ids[0];
  for (const auto& [user, items] : seen)
    if (items.size() > seen.at(busiest).size()) busiest = user;
  for (const std::string& user : {ids[0], ids[1], ids[ids.size() / 2], ids.back(), busiest})
    expect_same(all.at(user), single(run_dir, user), user);

  // --include-seen brings known items back: some user's list then holds one.
  const fs::path with_seen = dir / "all-seen.csv";
  r = run_binary("recommend --run " + run_dir.string() + " --all --include-seen --out " + with_seen.string());
  ASSERT_EQ(r.code, 0) << r.out;
  int64_t known = 0;
  for (const auto& [user, list] : parse_csv(ftmamba::io::read_file(with_seen)))
    for (const auto& it : list) known += seen.count(user) && seen.at(user).count(it.item);
  EXPECT_GT(known, 0);
  expect_same(parse_csv(ftmamba::io::read_file(with_seen)).at(busiest), single(run_dir, busiest, "--include-seen"),
              busiest);
}

TEST_F(BatchRecommend, JsonLinesAndStdoutCarryTheSameLists) {
  const fs::path csv = dir / "same.csv", jsonl = dir / "same.jsonl", forced = dir / "same.txt";
  ASSERT_EQ(run_binary("recommend --run " + run_dir.string() + " --all --k 5 --out " + csv.string()).code, 0);
  auto r = run_binary("recommend --run " + run_dir.string() + " --all --k 5 --out " + jsonl.string());
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_binary("recommend --run " + run_dir.string() + " --all --k 5 --format jsonl --out " + forced.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto want = parse_csv(ftmamba::io::read_file(csv));
  for (const auto* got : {&jsonl, &forced}) {
    const auto lists = parse_jsonl(*got);
    ASSERT_EQ(lists.size(), want.size());
    for (const auto& [user, list] : want) expect_same(lists.at(user), list, user);
  }
  auto out = run_binary("recommend --run " + run_dir.string() + " --all --k 5 --out -");
  ASSERT_EQ(out.code, 0) << out.out.substr(0, 500);
  EXPECT_EQ(out.out, ftmamba::io::read_file(csv));
}

TEST_F(BatchRecommend, UsersFileNamesTheLineOfAnUnknownId) {
  const auto ids = user_ids(data);
  const fs::path users = dir / "users.txt";
  // Line 1 a header, line 3 blank, CRLF on line 4, the unknown id on line 5.
  ftmamba::io::write_file_atomic(users, "user_id\n" + ids[5] + "\n\n" + ids[2] + "\r\nNOBODY\n" + ids[5] + "\n");
  const fs::path out = dir / "some.csv";
  auto r = run_binary("recommend --run " + run_dir.string() + " --users " + users.string() + " --out " + out.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find(users.string() + ":5: unknown user 'NOBODY'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--skip-unknown"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos);

  r = run_binary("recommend --run " + run_dir.string() + " --users " + users.string() + " --skip-unknown --out " +
                 out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("warning: " + users.string() + ":5: unknown user 'NOBODY'"), std::string::npos) << r.out;
  std::vector<std::string> order;
  const auto lists = parse_csv(ftmamba::io::read_file(out), &order);
  EXPECT_EQ(order, (std::vector<std::string>{ids[5], ids[2], ids[5]}));  // the file's order, a repeat repeated
  expect_same(lists.at(ids[5]), single(run_dir, ids[5]), ids[5]);
  expect_same(lists.at(ids[2]), single(run_dir, ids[2]), ids[2]);
}

TEST_F(BatchRecommend, OutNeverReplacesAFileWithoutForce) {
  const fs::path out = dir / "kept.csv";
  ftmamba::io::write_file_atomic(out, "mine\n");
  auto r = run_binary("recommend --run " + run_dir.string() + " --all --out " + out.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find(out.string() + " already exists; pass --force"), std::string::npos) << r.out;
  EXPECT_EQ(ftmamba::io::read_file(out), "mine\n");
  r = run_binary("recommend --run " + run_dir.string() + " --all --force --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(lines_of(out).front(), "user,rank,item,score");
  // Usage errors: no --out, --out without a list, two modes at once.
  EXPECT_EQ(run_binary("recommend --run " + run_dir.string() + " --all").code, 2);
  EXPECT_EQ(run_binary("recommend --run " + run_dir.string() + " --user U00001 --out x.csv").code, 2);
  EXPECT_EQ(run_binary("recommend --run " + run_dir.string() + " --all --users f --out x.csv").code, 2);
}

TEST_F(BatchRecommend, RunRecommendsAfterItsDatasetMovesAndAnOldRunNamesWhatIsMissing) {
  // A copy of the dataset and of the run trained on it; the dataset then moves away.
  const fs::path data2 = dir / "data-here", moved = dir / "data-moved", run2 = dir / "run-here";
  auto t = run_binary("generate --preset spotify --pairs 3000 --seed 4 --out " + data2.string());
  ASSERT_EQ(t.code, 0) << t.out;
  t = run_binary("train --data " + data2.string() + " --out " + run2.string() +
                 " --quiet --set train.epochs=1 --set model.d_token=16 --set model.embed_dim=16");
  ASSERT_EQ(t.code, 0) << t.out;
  ASSERT_TRUE(fs::exists(run2 / "inference.safetensors"));
  const auto ids = user_ids(data2);
  const auto before = single(run2, ids[3]);
  const fs::path all_before = dir / "here-before.csv", all_after = dir / "here-after.csv";
  ASSERT_EQ(run_binary("recommend --run " + run2.string() + " --all --out " + all_before.string()).code, 0);
  fs::rename(data2, moved);

  expect_same(single(run2, ids[3]), before, ids[3]);
  auto r = run_binary("recommend --run " + run2.string() + " --all --out " + all_after.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(ftmamba::io::read_file(all_after), ftmamba::io::read_file(all_before));
  const fs::path emb = dir / "items.safetensors";
  r = run_binary("encode --run " + run2.string() + " --side item --out " + emb.string());
  EXPECT_EQ(r.code, 0) << r.out;
  auto cold = run_binary("recommend --run " + run2.string() + " --user NEW --feature age=30 --k 3 --json");
  ASSERT_EQ(cold.code, 0) << cold.out;
  EXPECT_EQ(nlohmann::json::parse(cold.out)["items"].size(), 3u);

  // A run from before runs stored their users and items: without its dataset the error names both files
  // and --data; with --data it answers as before.
  const fs::path old = dir / "run-old";
  fs::copy(run2, old, fs::copy_options::recursive);
  fs::remove(old / "inference.safetensors");
  r = run_binary("recommend --run " + old.string() + " --user " + ids[3]);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find((old / "inference.safetensors").string() + ": file not found"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find((data2 / "schema.toml").string() + ": file not found"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pass --data DIR"), std::string::npos) << r.out;
  expect_same(single(old, ids[3], "--data " + moved.string()), before, ids[3]);
  fs::rename(moved, data2);
  expect_same(single(old, ids[3]), before, ids[3]);  // the dataset it was trained on, where it was
}
