// defines: infer_schema (the decisions from the three tables' profiles), inferred_schema_toml and
// write_inferred_schema.
#include "ftmamba/data/schema_infer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <tuple>

#include "ftmamba/core/error.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/data/column_profile.h"
#include "ftmamba/data/multi_valued.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::data {
namespace {

namespace fs = std::filesystem;

// A column is multi-valued when at least this share of its cells holds the separator ...
constexpr double kMultiValuedMinShare = 0.10;
// ... and its values, once split, repeat at least this many times more often than its whole cells do.
constexpr double kMultiValuedMinGain = 2.0;
// Text with at least this share of distinct cells (and at least kIdentifierLikeMinCells cells) names rows
// rather than describing them: a title, a name, a free-text description.
constexpr double kIdentifierLikeShare = 0.9;
constexpr int64_t kIdentifierLikeMinCells = 20;
// Whole numbers are read as codes only when each distinct value is in this many cells on average, so that a
// small table's ages are not taken for codes.
constexpr int64_t kCodeMinCellsPerValue = 5;
// Without the same name, a column of interactions.csv links to an id column when this share of its values are
// ids there.
constexpr double kIdLinkMinShare = 0.5;

std::string count_text(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// "92% of 3,500 cells", or "all 60 cells". Rounded down, so never "100%" for less than all; "<1%" for a few.
std::string share_text(int64_t part, int64_t whole, const std::string& noun) {
  if (part == whole) return "all " + count_text(whole) + " " + noun;
  const int64_t p = whole > 0 ? (100 * part) / whole : 0;
  const std::string percent = p == 0 && part > 0 ? "<1%" : std::to_string(p) + "%";
  return percent + " of " + count_text(whole) + " " + noun;
}

std::string cells_text(int64_t n) { return count_text(n) + (n == 1 ? " empty cell" : " empty cells"); }

// Whole numbers in full (1010016, not 1.01e+06), others to 6 significant digits.
std::string number_text(double v) {
  return std::floor(v) == v && std::fabs(v) < 1e15 ? fmt::format("{:.0f}", v) : fmt::format("{:g}", v);
}

// Schema::load refuses an empty column name and one with a control character.
bool nameable(const std::string& name) {
  return !name.empty() && std::none_of(name.begin(), name.end(),
                                       [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; });
}

// The words of a column name, lower case: "t_dat" -> {t, dat}, "unixTime" -> {unix, time}.
std::vector<std::string> name_words(const std::string& name) {
  std::vector<std::string> words(1);
  for (size_t i = 0; i < name.size(); ++i) {
    const auto ch = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(ch)) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    const bool camel_break = std::isupper(ch) && i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]));
    if (camel_break && !words.back().empty()) words.emplace_back();
    words.back() += static_cast<char>(std::tolower(ch));
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

bool has_word(const std::string& name, std::initializer_list<const char*> words) {
  for (const auto& w : name_words(name))
    for (const char* candidate : words)
      if (w == candidate) return true;
  return false;
}

bool named_like_time(const std::string& name) {
  const auto words = name_words(name);
  return has_word(name, {"ts", "time", "timestamp", "date", "datetime", "epoch", "unixtime"}) ||
         (words.size() > 1 && words.back() == "at");  // created_at
}

// product_type_no, colour_group_code, perceived_colour_value_id: numbers that name a category.
bool named_like_code(const std::string& name) {
  const auto words = name_words(name);
  return words.size() > 1 &&
         (words.back() == "no" || words.back() == "code" || words.back() == "id" || words.back() == "nr");
}

bool named_like_weight(const std::string& name) {
  return has_word(name, {"rating", "ratings", "weight", "weights", "plays", "playcount", "count", "counts", "score",
                         "scores", "quantity", "qty", "clicks", "views", "listens"});
}

std::string at_line(const CellExample& e) { return e.text + " on line " + std::to_string(e.line); }

ColumnDecision decision(const TableProfile& t, const ColumnProfile& c, ColumnRole role, std::string reason) {
  return {t.file_name, c.name, role, std::move(reason)};
}

// The separator a text column's cells split on, when they hold several values, and why.
struct MultiValuedEvidence {
  std::string separator;
  std::string reason;
};

std::optional<MultiValuedEvidence> multi_valued_evidence(const ColumnProfile& c) {
  if (c.all_numbers() || c.non_empty == 0) return std::nullopt;
  for (const SeparatorProfile& s : c.separators) {
    if (s.cells_with < 2 || static_cast<double>(s.cells_with) < kMultiValuedMinShare * static_cast<double>(c.non_empty))
      continue;
    if (s.distinct_values < 2 || s.most_values > kMaxValuesPerCell) continue;
    const double cell_repeats = static_cast<double>(c.non_empty) / static_cast<double>(c.distinct);
    const double value_repeats = static_cast<double>(s.values) / static_cast<double>(s.distinct_values);
    if (value_repeats < kMultiValuedMinGain * cell_repeats) continue;
    return MultiValuedEvidence{s.separator,
                               fmt::format("{} hold '{}'-separated values; {} distinct values (up to {} a cell)",
                                           share_text(s.cells_with, c.non_empty, "cells"), s.separator,
                                           count_text(s.distinct_values), s.most_values)};
  }
  return std::nullopt;
}

std::string codes_text(const std::set<double>& values) {
  std::string out;
  size_t shown = 0;
  for (const double v : values) {
    if (shown++ == 6) return out + ", ...";
    out += (out.empty() ? "" : ", ") + number_text(v);
  }
  return out;
}

// The role of a users.csv or items.csv column other than the id, leaving multi-valued evidence to the caller.
ColumnDecision decide_feature(const TableProfile& t, const ColumnProfile& c,
                              const std::optional<MultiValuedEvidence>& multi) {
  const auto make = [&](ColumnRole role, std::string reason) { return decision(t, c, role, std::move(reason)); };
  if (!nameable(c.name))
    return make(ColumnRole::kSkipped, "the header gives it no usable name (empty, or with a control character)");
  if (c.non_empty == 0) return make(ColumnRole::kSkipped, "every cell is empty");
  const std::string empties = c.non_empty < t.rows ? "; " + cells_text(t.rows - c.non_empty) : std::string();
  if (c.all_numbers()) {
    if (c.few_numbers.size() == 1) {  // "1" and "1.0" are one number
      if (c.non_empty < t.rows)
        return make(ColumnRole::kCategorical,
                    fmt::format("one number ({}) or empty: a flag{}", number_text(c.min), empties));
      return make(ColumnRole::kSkipped, "the same number in every row: nothing to learn from");
    }
    if (c.integers == c.non_empty && named_like_code(c.name))
      return make(ColumnRole::kCategorical,
                  fmt::format("whole numbers ({} distinct) named like a code: read as categories{}",
                              count_text(c.distinct), empties));
    const auto distinct = static_cast<int64_t>(c.few_numbers.size());
    if (c.integers == c.non_empty && c.few_numbers.size() <= kMaxCodeValues &&
        c.non_empty >= kCodeMinCellsPerValue * distinct)
      return make(ColumnRole::kCategorical,
                  fmt::format("whole numbers with only {} distinct values ({}): read as codes; list it under "
                              "numerical if their order matters{}",
                              distinct, codes_text(c.few_numbers), empties));
    return make(ColumnRole::kNumerical,
                fmt::format("every non-empty cell is a number ({} distinct){}", count_text(c.distinct), empties));
  }
  if (c.all_iso_dates())
    return make(ColumnRole::kSkipped,
                "ISO dates: a feature is a number or a category; convert the dates to numbers (e.g. days) to use them");
  if (multi) return make(ColumnRole::kMultiValued, multi->reason + empties);
  if (c.non_empty >= kIdentifierLikeMinCells &&
      static_cast<double>(c.distinct) >= kIdentifierLikeShare * static_cast<double>(c.non_empty))
    return make(
        ColumnRole::kSkipped,
        fmt::format("text with {} distinct values in {} cells: identifier-like (a name, a title), not a feature",
                    count_text(c.distinct), count_text(c.non_empty)));
  if (c.distinct == 1 && c.non_empty == t.rows)
    return make(ColumnRole::kSkipped, "the same text in every row: nothing to learn from");
  std::string reason = fmt::format("text, {} distinct values{}", count_text(c.distinct), empties);
  if (c.numbers > 0 && 2 * c.numbers >= c.non_empty && c.first_text)
    reason += fmt::format("; {} of {} cells are not numbers (first: {})", count_text(c.non_empty - c.numbers),
                          count_text(c.non_empty), at_line(*c.first_text));
  return make(ColumnRole::kCategorical, reason);
}

// A column of interactions.csv holding the ids of one side's id column.
struct IdLink {
  int id_column = 0;    // in the side's table
  int link_column = 0;  // in interactions.csv
  bool by_name = false;
  int64_t shared = 0;  // distinct values of the link column that are ids
  int64_t percent = 0;
};

std::vector<IdLink> id_links(const TableProfile& side, const TableProfile& inter) {
  std::vector<IdLink> out;
  for (const ColumnProfile& c : side.columns) {
    if (!nameable(c.name) || c.non_empty != side.rows || c.distinct != side.rows) continue;
    for (const ColumnProfile& k : inter.columns) {
      if (!nameable(k.name) || k.non_empty == 0) continue;
      const int64_t shared = shared_values(c, k);
      const double share = static_cast<double>(shared) / static_cast<double>(k.distinct);
      const bool by_name = c.name == k.name;
      // When the side's table was only sampled, the ids past the sample are unknown: any share counts.
      if (!by_name && share < kIdLinkMinShare && !(side.more_rows && shared > 0)) continue;
      out.push_back({c.index, k.index, by_name, shared, (100 * shared) / k.distinct});
    }
  }
  return out;
}

[[noreturn]] void no_id(const TableProfile& side, const TableProfile& inter, const char* what) {
  std::string unique;
  for (const ColumnProfile& c : side.columns)
    if (nameable(c.name) && c.non_empty == side.rows && c.distinct == side.rows)
      unique += (unique.empty() ? "" : ", ") + c.name;
  throw DataError(
      side.path, 1, "",
      fmt::format("no column can be the {} id: that needs a value in every row, each value once (here: {}), and a "
                  "column of {} holding those values (the same column name, or at least {:.0f}% of its values); "
                  "write schema.toml by hand",
                  what, unique.empty() ? "no column" : unique, inter.file_name, 100 * kIdLinkMinShare));
}

std::string id_reason(const TableProfile& side, const TableProfile& inter, const IdLink& link) {
  const std::string rows = side.more_rows ? "the first " + count_text(side.rows) : "all " + count_text(side.rows);
  const std::string& k = inter.columns[link.link_column].name;
  return fmt::format("unique in {} rows; {} {}", rows, inter.file_name,
                     link.by_name ? "has a column of the same name" : "'" + k + "' holds its values");
}

std::string link_reason(const TableProfile& side, const TableProfile& inter, const IdLink& link) {
  const ColumnProfile& k = inter.columns[link.link_column];
  std::string reason = fmt::format("{} are ids of {}{}", share_text(link.shared, k.distinct, "distinct values"),
                                   side.file_name, link.by_name ? " (the same name)" : "");
  if (link.shared < k.distinct)
    reason += side.more_rows ? fmt::format(" (of its first {} rows)", count_text(side.rows))
                             : "; training refuses the interactions of the others";
  if (k.non_empty < inter.rows)
    reason += fmt::format("; {} (first on line {}), which training refuses", cells_text(inter.rows - k.non_empty),
                          k.first_empty ? k.first_empty->line : 0);
  return reason;
}

// The users' and items' ids together, so that they link to different columns of interactions.csv.
std::pair<IdLink, IdLink> choose_ids(const TableProfile& users, const TableProfile& items, const TableProfile& inter) {
  const std::vector<IdLink> u = id_links(users, inter), i = id_links(items, inter);
  if (u.empty()) no_id(users, inter, "users'");
  if (i.empty()) no_id(items, inter, "items'");
  // Same names first, then the shares of linked values, then the most linked values (an id column links to a
  // 1..5 rating as fully as to the user column; the user column has more values).
  const auto key = [](const IdLink& a, const IdLink& b) {
    return std::make_tuple(int{a.by_name} + int{b.by_name}, a.percent + b.percent, a.shared + b.shared);
  };
  std::optional<std::pair<IdLink, IdLink>> best;
  for (const IdLink& a : u)
    for (const IdLink& b : i) {
      if (a.link_column == b.link_column) continue;
      if (!best || key(a, b) > key(best->first, best->second)) best = std::make_pair(a, b);
    }
  if (!best)
    throw DataError(inter.path, 1, "",
                    "the users' and the items' ids are found in the same column only; write schema.toml by hand");
  return *best;
}

std::string iso_reason(const ColumnProfile& c) {
  if (c.with_time == 0) return "ISO dates";
  if (c.with_time == c.iso_dates) return "ISO dates with time";
  return fmt::format("ISO dates, {} of them with time", count_text(c.with_time));
}

// interactions.csv's columns past the user and item: the timestamp, the weight, and the unused rest.
// `out` holds the user's and item's decisions already, by column.
void decide_interaction_rest(const TableProfile& inter, InteractionSchema& schema,
                             std::vector<std::optional<ColumnDecision>>& out) {
  const auto free_columns = [&](auto&& use) {
    for (const ColumnProfile& c : inter.columns)
      if (!out[c.index] && nameable(c.name)) use(c);
  };
  // ISO dates first: they are times whatever the name; numbers only when the name says they are.
  for (const bool iso : {true, false}) {
    free_columns([&](const ColumnProfile& c) {
      const bool candidate = iso ? c.all_iso_dates() : (c.all_numbers() && named_like_time(c.name));
      if (!candidate) return;
      const std::string kind = iso ? iso_reason(c) : "numbers, named like a time (larger = later)";
      if (c.non_empty < inter.rows) {
        out[c.index] = decision(inter, c, ColumnRole::kSkipped,
                                fmt::format("{}, but {} (first on line {}): a timestamp may not be missing", kind,
                                            cells_text(inter.rows - c.non_empty), c.first_empty->line));
      } else if (schema.timestamp) {
        out[c.index] =
            decision(inter, c, ColumnRole::kSkipped, kind + "; '" + *schema.timestamp + "' is the timestamp already");
      } else {
        schema.timestamp = c.name;
        out[c.index] = decision(inter, c, ColumnRole::kTimestamp, kind);
      }
    });
  }
  free_columns([&](const ColumnProfile& c) {
    if (!named_like_weight(c.name) || c.non_empty == 0) return;
    if (!c.all_numbers()) {
      out[c.index] =
          decision(inter, c, ColumnRole::kSkipped, "named like a weight, but not a number: " + at_line(*c.first_text));
    } else if (c.min < 0) {
      out[c.index] = decision(inter, c, ColumnRole::kSkipped,
                              "named like a weight, but a weight is at least 0: " + at_line(c.min_cell));
    } else if (schema.weight) {
      out[c.index] = decision(inter, c, ColumnRole::kSkipped,
                              "named like a weight; '" + *schema.weight + "' is the weight already");
    } else {
      schema.weight = c.name;
      out[c.index] = decision(inter, c, ColumnRole::kWeight,
                              fmt::format("numbers from {} to {}, named like a weight: each pair's loss counts it "
                                          "(train.weighted_loss)",
                                          number_text(c.min), number_text(c.max)));
    }
  });
  for (const ColumnProfile& c : inter.columns) {
    if (out[c.index]) continue;
    out[c.index] = decision(inter, c, ColumnRole::kSkipped,
                            "not used: an interaction has only a user, an item, a timestamp and a weight");
  }
}

// users.csv or items.csv: the id, then every other column, multi-valued ones sharing the table's one separator.
TableSchema decide_side(const TableProfile& t, int id_column, const std::string& id_reason_text,
                        std::vector<ColumnDecision>& decisions) {
  TableSchema s;
  s.id = t.columns[id_column].name;
  std::vector<std::optional<MultiValuedEvidence>> multi(t.columns.size());
  std::vector<std::string> separators;
  for (const ColumnProfile& c : t.columns) {
    if (c.index == id_column || !nameable(c.name)) continue;
    multi[c.index] = multi_valued_evidence(c);
    if (multi[c.index]) separators.push_back(multi[c.index]->separator);
  }
  // schema.toml has one separator a table: the one most multi-valued columns use (the earlier on a tie).
  std::string table_separator;
  size_t most = 0;
  for (const char* sep : kMultiValuedSeparators) {
    const auto n = static_cast<size_t>(std::count(separators.begin(), separators.end(), sep));
    if (n > most) {
      most = n;
      table_separator = sep;
    }
  }
  for (const ColumnProfile& c : t.columns) {
    if (c.index == id_column) {
      decisions.push_back(decision(t, c, ColumnRole::kId, id_reason_text));
      continue;
    }
    std::optional<MultiValuedEvidence> m = multi[c.index];
    ColumnDecision d = decide_feature(t, c, m && m->separator == table_separator ? m : std::nullopt);
    if (m && m->separator != table_separator)
      d.reason += fmt::format(
          " (its cells hold '{}'-separated values, but this table's multi-valued columns use "
          "'{}', and schema.toml has one separator a table)",
          m->separator, table_separator);
    if (d.role == ColumnRole::kNumerical) s.numerical.push_back(c.name);
    if (d.role == ColumnRole::kCategorical) s.categorical.push_back(c.name);
    if (d.role == ColumnRole::kMultiValued) s.multi_valued.push_back(c.name);
    decisions.push_back(std::move(d));
  }
  if (!s.multi_valued.empty()) s.separator = table_separator;
  return s;
}

}  // namespace

InferredSchema infer_schema(const std::filesystem::path& data_dir, int64_t sample_rows) {
  if (sample_rows <= 0) throw Error("--sample must be a positive number of rows, got " + std::to_string(sample_rows));
  const TableProfile users = profile_table(data_dir / "users.csv", sample_rows);
  const TableProfile items = profile_table(data_dir / "items.csv", sample_rows);
  const TableProfile inter = profile_table(data_dir / "interactions.csv", sample_rows);
  const auto [user_link, item_link] = choose_ids(users, items, inter);

  InferredSchema out;
  out.sample_rows = sample_rows;
  for (const TableProfile* t : {&users, &items, &inter})
    if (t->more_rows) out.sampled_files.push_back(t->file_name);
  out.schema.users = decide_side(users, user_link.id_column, id_reason(users, inter, user_link), out.decisions);
  out.schema.items = decide_side(items, item_link.id_column, id_reason(items, inter, item_link), out.decisions);

  std::vector<std::optional<ColumnDecision>> inter_decisions(inter.columns.size());
  const ColumnProfile& uc = inter.columns[user_link.link_column];
  const ColumnProfile& ic = inter.columns[item_link.link_column];
  out.schema.interactions.user = uc.name;
  out.schema.interactions.item = ic.name;
  inter_decisions[uc.index] = decision(inter, uc, ColumnRole::kUser, link_reason(users, inter, user_link));
  inter_decisions[ic.index] = decision(inter, ic, ColumnRole::kItem, link_reason(items, inter, item_link));
  decide_interaction_rest(inter, out.schema.interactions, inter_decisions);
  for (auto& d : inter_decisions) out.decisions.push_back(std::move(*d));
  return out;
}

std::string inferred_schema_toml(const InferredSchema& inferred) {
  std::string text = "# Inferred by `ftmamba schema infer` from ";
  if (inferred.sampled_files.empty()) {
    text += "every row of the three tables";
  } else {
    std::string files;
    for (const auto& f : inferred.sampled_files) files += (files.empty() ? "" : " and ") + f;
    text += "the first " + count_text(inferred.sample_rows) + " rows of " + files + " and every row of the rest";
  }
  text += ".\n# Check the roles below and edit what is wrong: training reads this file as it stands.\n#\n";
  for (const ColumnDecision& d : inferred.decisions)
    text += "#   " + d.file + "  " + printable(d.column) + "  " + enum_name(d.role) + ": " + printable(d.reason) + "\n";
  return text + "\n" + inferred.schema.to_toml();
}

SchemaInferResult write_inferred_schema(const SchemaInferRequest& request) {
  const fs::path out = request.out.empty() ? request.data_dir / "schema.toml" : request.out;
  std::error_code ec;
  if (!fs::is_directory(request.data_dir, ec))
    throw Error(request.data_dir.string() +
                ": not a folder (expected a dataset folder holding users.csv, items.csv "
                "and interactions.csv)");
  const fs::file_status st = fs::symlink_status(out, ec);
  if (fs::is_directory(st)) throw Error(out.string() + ": is a folder; --out names the schema file to write");
  if (fs::exists(st) && !request.force)
    throw Error(out.string() + " already exists; pass --force to replace it, or --out to write elsewhere");
  SchemaInferResult result{infer_schema(request.data_dir, request.sample_rows), out};
  io::write_file_atomic(out, inferred_schema_toml(result.inferred));
  return result;
}

}  // namespace ftmamba::data
