// The catalog log (serve/catalog_log, serve/catalog_journal): each change is one line, appended in order and read
// back as written; a line cut short at the end is skipped with a log line, any other bad line is an error naming
// the file, the line and the key; compaction keeps each item's latest change only.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/io/append_file.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/serve/catalog_journal.h"
#include "ftmamba/serve/catalog_log.h"
#include "scratch_dir.h"

namespace serve = ftmamba::serve;
using ftmamba_test::error_message;

namespace {

class CatalogLogTest : public ftmamba_test::ScratchDirTest {};

std::vector<std::string> described(const std::vector<serve::CatalogChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    std::string s = c.item_id + (c.removed ? " removed" : "");
    for (const auto& [name, value] : c.features) s += " " + name + "=" + value;
    out.push_back(s);
  }
  return out;
}

size_t lines_of(const std::filesystem::path& p) {
  const std::string text = ftmamba::io::read_file(p);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_F(CatalogLogTest, ALineReadsBackAsWritten) {
  const serve::CatalogChange upsert{"I \"9\"", false, {{"genre", "drama|crime"}, {"price", "3.5"}, {"é", ""}}};
  const serve::CatalogChange removal{"I10", true, {}};
  const auto p = write("log.jsonl", serve::catalog_log_line(upsert) + serve::catalog_log_line(removal));
  EXPECT_EQ(described(serve::read_catalog_log(p, {})),
            (std::vector<std::string>{"I \"9\" genre=drama|crime price=3.5 é=", "I10 removed"}));
  EXPECT_TRUE(serve::read_catalog_log(dir_ / "missing.jsonl", {}).empty());
  EXPECT_EQ(error_message([] { serve::read_catalog_log("/dev/zero", {}); }),
            "/dev/zero: is a character device, not a regular file (only regular files are read)");
}

TEST_F(CatalogLogTest, ALastLineCutShortIsSkippedAndLogged) {
  const auto p = write("log.jsonl", R"({"item_id": "A", "removed": true})"
                                    "\n"
                                    R"({"item_id": "B", "feat)");
  std::vector<std::string> logged;
  const auto changes = serve::read_catalog_log(p, [&](const std::string& line) { logged.push_back(line); });
  EXPECT_EQ(described(changes), (std::vector<std::string>{"A removed"}));
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find(p.string() + ":2: a change cut short"), std::string::npos) << logged[0];
}

TEST_F(CatalogLogTest, ABadLineNamesTheFileTheLineAndTheKey) {
  const std::string good = R"({"item_id": "A", "removed": true})"
                           "\n";
  const auto message = [&](const std::string& bad) {
    const auto p = write("log.jsonl", good + "\n" + bad + "\n");
    return error_message([&] { serve::read_catalog_log(p, {}); });
  };
  const std::string at = (dir_ / "log.jsonl").string() + ":3: ";
  EXPECT_EQ(message("{nope"), at + "malformed JSON");
  EXPECT_EQ(message(R"([1])"), at + "a change is a JSON object");
  EXPECT_EQ(message(R"({"item_id": 7, "removed": true})"), at + "key 'item_id': a non-empty string is expected");
  EXPECT_EQ(message(R"({"removed": true})"), at + "key 'item_id' is missing");
  EXPECT_EQ(message(R"({"item_id": "B", "removed": false})"), at + "key 'removed': only true is allowed");
  EXPECT_EQ(message(R"({"item_id": "B", "features": {"price": 3.5}})"),
            at + "key 'features.price': a string is expected");
  EXPECT_EQ(message(R"({"item_id": "B", "colour": "red"})"), at + "unknown key 'colour'");
  EXPECT_EQ(message(R"({"item_id": "B"})"), at + "a change has either 'features' or 'removed': true, not neither");
  EXPECT_EQ(message(R"({"item_id": "B", "removed": true, "features": {}})"),
            at + "a change has either 'features' or 'removed': true, not both");
}

TEST_F(CatalogLogTest, TheJournalAppendsEachChangeAndCompactsToTheLatest) {
  const auto p = dir_ / "catalog.jsonl";
  {
    serve::CatalogJournal journal;
    std::lock_guard lock(journal.mutex());
    journal.open_log(p, {});
    journal.compact_log();
    EXPECT_EQ(lines_of(p), 0u);
    journal.record_upserts({{"I1", {{"genre", "a"}}}, {"I2", {{"genre", "b"}}}});
    journal.record_removal("I1");
    journal.record_upserts({{"I2", {{"genre", "c"}}}});
    // Every change is on disk once recorded, in the order made.
    EXPECT_EQ(described(serve::read_catalog_log(p, {})),
              (std::vector<std::string>{"I1 genre=a", "I2 genre=b", "I1 removed", "I2 genre=c"}));
  }
  serve::CatalogJournal next;  // a restarted server
  std::lock_guard lock(next.mutex());
  next.open_log(p, {});
  EXPECT_EQ(next.size(), 2u);
  next.compact_log();
  EXPECT_EQ(described(serve::read_catalog_log(p, {})), (std::vector<std::string>{"I1 removed", "I2 genre=c"}));
  next.record_removal("I2");
  EXPECT_EQ(lines_of(p), 3u);
}

TEST_F(CatalogLogTest, AnAppendTheDiskRefusesIsAnErrorNamingTheFile) {
  ftmamba::io::AppendFile full("/dev/full");  // every write fails with ENOSPC
  EXPECT_EQ(error_message([&] { full.append("{}\n"); }), "/dev/full: append failed: No space left on device");
  EXPECT_EQ(
      error_message([&] { ftmamba::io::AppendFile(dir_ / "no-such-folder" / "log.jsonl"); }),
      (dir_ / "no-such-folder" / "log.jsonl").string() + ": cannot open for appending: No such file or directory");
}
