// defines: Schema::load (strict reading of schema.toml: every key known, typed and present) and
// Schema::to_toml.
#include "ftmamba/data/schema.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string_view>

#include "ftmamba/core/error.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/data/csv_format.h"
#include "ftmamba/data/toml_line.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::data {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxSchemaBytes = size_t{16} << 20;  // a schema is a few lines; this bounds a hostile one

std::string read_text(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw DataError(name + ": file not found");
  if (fs::is_directory(st)) throw DataError(name + ": is a directory, expected schema.toml");
  int fd = -1;
  try {
    fd = io::open_regular_file(path);  // a FIFO or device is refused, never waited on
  } catch (const Error& e) {
    throw DataError(e.what());
  }
  std::FILE* f = ::fdopen(fd, "rb");
  if (f == nullptr) {
    ::close(fd);
    throw DataError(name + ": cannot open file");
  }
  std::string text;
  char buf[4096];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= kMaxSchemaBytes) text.append(buf, got);
  std::fclose(f);
  if (text.size() > kMaxSchemaBytes)
    throw DataError(name + ": larger than " + std::to_string(kMaxSchemaBytes >> 20) +
                    " MiB (the limit on schema.toml)");
  return text;
}

std::string one_line(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Reads one file's keys, turning every problem into a DataError that names the dotted key.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const { throw DataError(file_, key, what); }

  // Rejects keys outside `allowed`, suggesting the nearest one for a likely misspelling.
  void check_keys(const toml::table& t, const std::string& prefix, const std::vector<std::string>& allowed) const {
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string hint;
      size_t best = key.size() / 2 + 1;
      for (const auto& a : allowed) {
        const size_t d = edit_distance(key, a);
        if (d < best) {
          best = d;
          hint = " (did you mean '" + prefix + a + "'?)";
        }
      }
      fail(printable(prefix + key), "unknown key" + hint + toml_line(v));
    }
  }

  const toml::table& table(const toml::table& parent, const std::string& key) const {
    const toml::node* n = parent.get(key);
    if (n == nullptr) fail(key, "missing required table [" + key + "]");
    if (!n->is_table()) fail(key, std::string("expected a table, got ") + type_name(n->type()) + toml_line(*n));
    return *n->as_table();
  }

  std::optional<std::string> string(const toml::table& t, const std::string& prefix, const std::string& key,
                                    bool required) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      if (required) fail(prefix + key, "missing required key");
      return std::nullopt;
    }
    if (!n->is_string()) {
      fail(prefix + key, std::string("expected a column name (string), got ") + type_name(n->type()) + toml_line(*n));
    }
    std::string s = n->as_string()->get();
    if (s.empty()) fail(prefix + key, "column name is empty" + toml_line(*n));
    if (has_control(s)) fail(prefix + key, "column name contains a control character" + toml_line(*n));
    return s;
  }

  std::vector<std::string> string_list(const toml::table& t, const std::string& prefix, const std::string& key) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    if (!n->is_array()) {
      fail(prefix + key, std::string("expected an array of column names, got ") + type_name(n->type()) + toml_line(*n));
    }
    std::vector<std::string> out;
    const toml::array& arr = *n->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const toml::node& e = *arr.get(i);
      const std::string ekey = prefix + key + "[" + std::to_string(i) + "]";
      if (!e.is_string())
        fail(ekey, std::string("expected a column name (string), got ") + type_name(e.type()) + toml_line(e));
      out.push_back(e.as_string()->get());
      if (out.back().empty()) fail(ekey, "column name is empty" + toml_line(e));
      if (has_control(out.back())) fail(ekey, "column name contains a control character" + toml_line(e));
    }
    return out;
  }

 private:
  std::string file_;
};

TableSchema read_table_schema(const Reader& r, const toml::table& root, const std::string& name) {
  const toml::table& t = r.table(root, name);
  const std::string prefix = name + ".";
  r.check_keys(t, prefix, {"id", "numerical", "categorical", "multi_valued", "separator"});
  TableSchema s;
  s.id = *r.string(t, prefix, "id", true);
  s.numerical = r.string_list(t, prefix, "numerical");
  s.categorical = r.string_list(t, prefix, "categorical");
  s.multi_valued = r.string_list(t, prefix, "multi_valued");
  if (const toml::node* n = t.get("separator")) {
    if (!n->is_string()) r.fail(prefix + "separator", "expected a string such as \"|\"");
    s.separator = n->as_string()->get();
    if (s.separator.empty() || s.separator.size() > 8 || has_control(s.separator) ||
        s.separator.find('"') != std::string::npos)
      r.fail(prefix + "separator", "expected 1 to 8 characters, without quotes or control characters");
  }
  // Each column has one role: a repeated column would become two tokens with the same value.
  std::map<std::string, std::string> role;  // column -> key that names it
  role[s.id] = prefix + "id";
  for (const std::string list : {"numerical", "categorical", "multi_valued"}) {
    const auto& cols = list == "numerical" ? s.numerical : list == "categorical" ? s.categorical : s.multi_valued;
    for (size_t i = 0; i < cols.size(); ++i) {
      const std::string key = prefix + list + "[" + std::to_string(i) + "]";
      const auto [it, fresh] = role.emplace(cols[i], key);
      if (fresh) continue;
      if (it->second == prefix + "id") r.fail(key, "the id column '" + cols[i] + "' cannot also be a feature");
      r.fail(key, "column '" + cols[i] + "' is listed twice (also at " + it->second + ")");
    }
  }
  return s;
}

InteractionSchema read_interaction_schema(const Reader& r, const toml::table& root) {
  const toml::table& t = r.table(root, "interactions");
  const std::string prefix = "interactions.";
  r.check_keys(t, prefix, {"user", "item", "timestamp", "weight"});
  InteractionSchema s;
  s.user = *r.string(t, prefix, "user", true);
  s.item = *r.string(t, prefix, "item", true);
  s.timestamp = r.string(t, prefix, "timestamp", false);
  s.weight = r.string(t, prefix, "weight", false);
  std::map<std::string, std::string> role;
  const std::pair<const char*, const std::optional<std::string>> cols[] = {
      {"user", s.user}, {"item", s.item}, {"timestamp", s.timestamp}, {"weight", s.weight}};
  for (const auto& [key, col] : cols) {
    if (!col) continue;
    const auto [it, fresh] = role.emplace(*col, prefix + key);
    if (!fresh) r.fail(prefix + key, "column '" + *col + "' is already used by " + it->second);
  }
  return s;
}

CsvSchema read_csv_schema(const Reader& r, const toml::table& root) {
  CsvSchema s;
  if (root.get("csv") == nullptr) return s;
  const toml::table& t = r.table(root, "csv");
  r.check_keys(t, "csv.", {"delimiter"});
  if (const toml::node* n = t.get("delimiter")) {
    if (!n->is_string())
      r.fail("csv.delimiter",
             std::string("expected a one-character string, got ") + type_name(n->type()) + toml_line(*n));
    const std::string& d = n->as_string()->get();
    if (const std::string why = delimiter_problem(d); !why.empty()) r.fail("csv.delimiter", why + toml_line(*n));
    s.delimiter = d[0];
  }
  return s;
}

// One ASCII character as the inside of a TOML basic string.
std::string toml_escaped(char c) {
  if (c == '\t') return "\\t";
  if (c == '\\') return "\\\\";
  if (c == '"') return "\\\"";
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
    static const char* digits = "0123456789ABCDEF";
    return std::string("\\u00") + digits[(c >> 4) & 15] + digits[c & 15];
  }
  return std::string(1, c);
}

toml::array to_array(const std::vector<std::string>& v) {
  toml::array a;
  for (const auto& s : v) a.push_back(s);
  return a;
}

}  // namespace

Schema Schema::load(const std::filesystem::path& path) {
  const std::string name = path.string();
  const std::string text = read_text(path);
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw DataError(name, static_cast<int64_t>(b.line), std::to_string(b.column),
                    "TOML syntax error: " + one_line(e.description()));
  }
  const Reader r(name);
  r.check_keys(root, "", {"users", "items", "interactions", "csv"});
  Schema s;
  s.users = read_table_schema(r, root, "users");
  s.items = read_table_schema(r, root, "items");
  s.interactions = read_interaction_schema(r, root);
  s.csv = read_csv_schema(r, root);
  return s;
}

std::string Schema::to_toml() const {
  const auto side = [](const TableSchema& t) {
    toml::table out{{"id", t.id}, {"numerical", to_array(t.numerical)}, {"categorical", to_array(t.categorical)}};
    if (!t.multi_valued.empty()) {
      out.insert("multi_valued", to_array(t.multi_valued));
      out.insert("separator", t.separator);
    }
    return out;
  };
  toml::table inter{{"user", interactions.user}, {"item", interactions.item}};
  if (interactions.timestamp) inter.insert("timestamp", *interactions.timestamp);
  if (interactions.weight) inter.insert("weight", *interactions.weight);
  const toml::table root{{"users", side(users)}, {"items", side(items)}, {"interactions", std::move(inter)}};
  std::ostringstream os;
  os << root << "\n";
  // Written by hand, so that a tab or another control character reads as an escape ("\t"), never as itself.
  if (csv.delimiter) os << "\n[csv]\ndelimiter = \"" << toml_escaped(*csv.delimiter) << "\"\n";
  return os.str();
}

}  // namespace ftmamba::data
