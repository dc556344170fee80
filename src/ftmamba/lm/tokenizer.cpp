// defines: Tokenizer (see tokenizer.h).
#include "ftmamba/lm/tokenizer.h"

#include <unicode/uchar.h>

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "ftmamba/core/error.h"
#include "ftmamba/io/json_file.h"
#include "ftmamba/lm/bpe_model.h"
#include "ftmamba/lm/byte_level.h"
#include "ftmamba/lm/regex_split.h"
#include "ftmamba/lm/unicode_text.h"

namespace ftmamba::lm {
// The parts of a loaded pipeline (named, not anonymous: Tokenizer::Pipeline holds them).
namespace tokenizer_parts {

struct AddedToken {
  int64_t id = 0;
  std::string content, pattern;  // pattern: what is matched (the content, normalized when `normalized`)
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// One step of the pre-tokenizer: ByteLevel (a prefix space, then the GPT-2 pattern) or Split on a pattern.
struct PreTokenStep {
  bool byte_level = false;
  bool add_prefix_space = false;
  std::shared_ptr<RegexSplitter> regex;  // null: no split
};

// A piece of the text between added tokens (token < 0), or an added token (its index in Pipeline::added).
struct Span {
  int64_t token;
  size_t begin, end;
};

}  // namespace tokenizer_parts

namespace {

using Json = nlohmann::json;
using tokenizer_parts::AddedToken;
using tokenizer_parts::PreTokenStep;
using tokenizer_parts::Span;

// Reads tokenizer.json's tree, each error naming the file and the key.
class Reader {
 public:
  explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(file_.string() + ": key '" + key + "': " + what);
  }
  const Json& field(const Json& j, const std::string& key, const std::string& name) const {
    if (!j.is_object() || !j.contains(name)) fail(key.empty() ? name : key + "." + name, "missing");
    return j.at(name);
  }
  std::string string(const Json& j, const std::string& key) const {
    if (!j.is_string()) fail(key, "a string is expected");
    return j.get<std::string>();
  }
  bool boolean(const Json& j, const std::string& key, const std::string& name, bool fallback) const {
    if (!j.contains(name) || j.at(name).is_null()) return fallback;
    if (!j.at(name).is_boolean()) fail(key + "." + name, "true or false is expected");
    return j.at(name).get<bool>();
  }
  int64_t id(const Json& j, const std::string& key) const {
    if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() > (int64_t{1} << 30))
      fail(key, "a token id (an integer from 0 to 2^30) is expected");
    return j.get<int64_t>();
  }
  std::string type(const Json& j, const std::string& key) const { return string(field(j, key, "type"), key + ".type"); }

 private:
  std::filesystem::path file_;
};

// Text as a regular expression that matches it literally.
std::string quote_regex(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Rust's char::is_alphanumeric or '_': the word characters of an added token's single_word check.
bool is_word_character(char32_t c) {
  return c == U'_' || u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) ||
         (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
}

char32_t last_code_point(std::string_view s) {
  size_t at = s.size() - 1;
  while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
  size_t len = 0;
  return code_point_at(s, at, &len);
}

}  // namespace

struct Tokenizer::Pipeline {
  std::vector<AddedToken> added;
  std::unordered_map<int64_t, size_t> added_by_id;
  std::unordered_map<std::string, int64_t> added_by_content;
  std::vector<size_t> raw_tokens, normalized_tokens;  // indices into `added`, matched before / after normalizing
  TextNormalizer normalizer;
  std::vector<PreTokenStep> pre_tokenizer;
  std::unique_ptr<BpeModel> bpe;
  std::vector<std::string> model_tokens;        // id -> the vocabulary's token ("" where no token has the id)
  std::vector<int64_t> prefix_ids, suffix_ids;  // a TemplateProcessing's special tokens around the text
  int64_t vocab_size = 0;

  // The text split at the added tokens of `set` (leftmost-longest), as tokenizers' AddedVocabulary finds them.
  std::vector<Span> split_at_added(std::string_view s, const std::vector<size_t>& set) const;
  // The ids of a piece between added tokens, after normalization: pre-tokenized, each pre-token's BPE.
  void encode_piece(std::string_view piece, std::vector<int64_t>& ids) const;
};

std::vector<Span> Tokenizer::Pipeline::split_at_added(std::string_view s, const std::vector<size_t>& set) const {
  std::vector<Span> spans;
  size_t start_offset = 0;
  for (size_t i = 0; i < s.size();) {
    int64_t best = -1;
    size_t best_len = 0;
    for (const size_t t : set) {
      const auto& pat = added[t].pattern;
      if (pat.size() > best_len && s.compare(i, pat.size(), pat) == 0) {
        best = static_cast<int64_t>(t);
        best_len = pat.size();
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = added[static_cast<size_t>(best)];
    size_t start = i, stop = i + best_len;
    i = stop;  // the next match is searched after this one, taken or not
    if (tok.single_word) {
      size_t len = 0;
      const bool word_before = start > 0 && is_word_character(last_code_point(s.substr(0, start)));
      const bool word_after = stop < s.size() && is_word_character(code_point_at(s, stop, &len));
      if (word_before || word_after) continue;
    }
    if (tok.lstrip) {  // the whitespace on its left is the token's, down to the previous match
      size_t left = start;
      while (left > start_offset) {
        size_t back = left - 1;
        while (back > 0 && (static_cast<unsigned char>(s[back]) & 0xC0) == 0x80) --back;
        size_t len = 0;
        if (!is_white_space(code_point_at(s, back, &len))) break;
        left = back;
      }
      start = left;
    }
    if (tok.rstrip) {
      size_t len = 0;
      while (stop < s.size() && is_white_space(code_point_at(s, stop, &len))) stop += len;
    }
    if (start_offset < start) spans.push_back({-1, start_offset, start});
    spans.push_back({best, start, stop});
    start_offset = stop;
    i = std::max(i, stop);
  }
  if (start_offset < s.size()) spans.push_back({-1, start_offset, s.size()});
  return spans;
}

void Tokenizer::Pipeline::encode_piece(std::string_view piece, std::vector<int64_t>& ids) const {
  std::vector<std::string> words{std::string(piece)};
  std::vector<std::string> next;
  std::vector<std::string_view> parts;
  for (const auto& step : pre_tokenizer) {
    next.clear();
    for (auto& word : words) {
      if (step.add_prefix_space && (word.empty() || word[0] != ' ')) word.insert(word.begin(), ' ');
      if (!step.regex) {
        next.push_back(std::move(word));
        continue;
      }
      parts.clear();
      step.regex->split(word, parts);
      for (const auto part : parts) next.emplace_back(part);
    }
    words.swap(next);
  }
  std::string spelled;
  for (const auto& word : words) {
    spelled.clear();
    append_byte_level(word, spelled);
    bpe->encode(spelled, ids);
  }
}

Tokenizer::Tokenizer() : p_(std::make_unique<Pipeline>()) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::load(const std::filesystem::path& tokenizer_json) {
  const Json j = io::read_json_file(tokenizer_json);
  const Reader r(tokenizer_json);
  Tokenizer t;
  Pipeline& p = *t.p_;

  // The model: BPE over a byte-level vocabulary.
  const Json& model = r.field(j, "", "model");
  const std::string model_type = model.contains("type") ? r.type(model, "model") : std::string("BPE");
  if (model_type != "BPE") r.fail("model.type", "'" + model_type + "' is not supported (ftmamba reads BPE tokenizers)");
  for (const char* absent : {"continuing_subword_prefix", "end_of_word_suffix", "dropout"})
    if (model.contains(absent) && !model.at(absent).is_null())
      r.fail(std::string("model.") + absent, "is not supported by a byte-level BPE (null expected)");
  if (r.boolean(model, "model", "byte_fallback", false))
    r.fail("model.byte_fallback", "is not supported by a byte-level BPE (false expected)");
  std::unordered_map<std::string, int64_t> vocab;
  const Json& vocab_json = r.field(model, "model", "vocab");
  if (!vocab_json.is_object()) r.fail("model.vocab", "an object of token: id is expected");
  for (const auto& [token, id] : vocab_json.items()) {
    const int64_t v = r.id(id, "model.vocab." + token);
    vocab.emplace(token, v);
    if (static_cast<size_t>(v) >= p.model_tokens.size()) p.model_tokens.resize(static_cast<size_t>(v) + 1);
    p.model_tokens[static_cast<size_t>(v)] = token;
    p.vocab_size = std::max(p.vocab_size, v + 1);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const Json& merges_json = r.field(model, "model", "merges");
  if (!merges_json.is_array()) r.fail("model.merges", "an array is expected");
  merges.reserve(merges_json.size());
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const Json& m = merges_json[i];
    const std::string key = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        r.fail(key, "'" + s + "' is not two tokens separated by one space");
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      r.fail(key, "a merge is \"a b\" or [\"a\", \"b\"]");
    }
  }
  int64_t unk_id = -1;
  if (model.contains("unk_token") && !model.at("unk_token").is_null()) {
    const std::string unk = r.string(model.at("unk_token"), "model.unk_token");
    const auto found = vocab.find(unk);
    if (found == vocab.end()) r.fail("model.unk_token", "'" + unk + "' is not in the vocabulary");
    unk_id = found->second;
  }
  try {
    p.bpe =
        std::make_unique<BpeModel>(std::move(vocab), merges, unk_id, r.boolean(model, "model", "ignore_merges", false));
  } catch (const Error& e) {
    r.fail("model.merges", e.what());
  }

  // The normalizer.
  std::vector<TextNormalizer::Step> steps;
  const auto add_normalizer = [&](const Json& n, const std::string& key, auto& self) -> void {
    if (n.is_null()) return;
    const std::string type = r.type(n, key);
    if (type == "NFC")
      steps.push_back(TextNormalizer::Step::kNfc);
    else if (type == "NFD")
      steps.push_back(TextNormalizer::Step::kNfd);
    else if (type == "NFKC")
      steps.push_back(TextNormalizer::Step::kNfkc);
    else if (type == "NFKD")
      steps.push_back(TextNormalizer::Step::kNfkd);
    else if (type == "Lowercase")
      steps.push_back(TextNormalizer::Step::kLowercase);
    else if (type == "Sequence") {
      const Json& list = r.field(n, key, "normalizers");
      if (!list.is_array()) r.fail(key + ".normalizers", "an array is expected");
      for (size_t i = 0; i < list.size(); ++i) self(list[i], key + ".normalizers[" + std::to_string(i) + "]", self);
    } else {
      r.fail(key + ".type", "'" + type + "' is not supported (NFC, NFD, NFKC, NFKD, Lowercase, Sequence are)");
    }
  };
  if (j.contains("normalizer")) add_normalizer(j.at("normalizer"), "normalizer", add_normalizer);
  p.normalizer = TextNormalizer(std::move(steps));

  // The pre-tokenizer: ByteLevel, Split, or a Sequence of them, with one ByteLevel (the byte-level alphabet).
  bool byte_level = false;
  const auto add_pre = [&](const Json& n, const std::string& key, auto& self) -> void {
    const std::string type = r.type(n, key);
    if (type == "ByteLevel") {
      PreTokenStep step;
      step.byte_level = true;
      step.add_prefix_space = r.boolean(n, key, "add_prefix_space", true);
      if (r.boolean(n, key, "use_regex", true)) step.regex = std::make_shared<RegexSplitter>(kGpt2SplitPattern);
      p.pre_tokenizer.push_back(std::move(step));
      byte_level = true;
    } else if (type == "Split") {
      const Json& pattern = r.field(n, key, "pattern");
      std::string regex;
      if (pattern.is_object() && pattern.contains("Regex")) {
        regex = r.string(pattern.at("Regex"), key + ".pattern.Regex");
      } else if (pattern.is_object() && pattern.contains("String")) {
        regex = quote_regex(r.string(pattern.at("String"), key + ".pattern.String"));
      } else {
        r.fail(key + ".pattern", "{\"Regex\": ...} or {\"String\": ...} is expected");
      }
      const std::string behavior = r.string(r.field(n, key, "behavior"), key + ".behavior");
      if (behavior != "Isolated") r.fail(key + ".behavior", "'" + behavior + "' is not supported (Isolated is)");
      if (r.boolean(n, key, "invert", false)) r.fail(key + ".invert", "true is not supported");
      PreTokenStep step;
      try {
        step.regex = std::make_shared<RegexSplitter>(regex);
      } catch (const Error& e) {
        r.fail(key + ".pattern", e.what());
      }
      p.pre_tokenizer.push_back(std::move(step));
    } else if (type == "Sequence") {
      const Json& list = r.field(n, key, "pretokenizers");
      if (!list.is_array()) r.fail(key + ".pretokenizers", "an array is expected");
      for (size_t i = 0; i < list.size(); ++i) self(list[i], key + ".pretokenizers[" + std::to_string(i) + "]", self);
    } else {
      r.fail(key + ".type", "'" + type + "' is not supported (ByteLevel, Split, Sequence are)");
    }
  };
  if (!j.contains("pre_tokenizer") || j.at("pre_tokenizer").is_null())
    r.fail("pre_tokenizer", "missing: ftmamba reads byte-level BPE tokenizers (a ByteLevel pre-tokenizer)");
  add_pre(j.at("pre_tokenizer"), "pre_tokenizer", add_pre);
  if (!byte_level) r.fail("pre_tokenizer", "has no ByteLevel step: ftmamba reads byte-level BPE tokenizers");
  if (j.contains("decoder") && !j.at("decoder").is_null()) {
    const std::string type = r.type(j.at("decoder"), "decoder");
    if (type != "ByteLevel") r.fail("decoder.type", "'" + type + "' is not supported (ByteLevel is)");
  }

  // The added tokens.
  if (j.contains("added_tokens") && !j.at("added_tokens").is_null()) {
    const Json& list = j.at("added_tokens");
    if (!list.is_array()) r.fail("added_tokens", "an array is expected");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string key = "added_tokens[" + std::to_string(i) + "]";
      const Json& a = list[i];
      AddedToken tok;
      tok.id = r.id(r.field(a, key, "id"), key + ".id");
      tok.content = r.string(r.field(a, key, "content"), key + ".content");
      if (tok.content.empty() || invalid_utf8_at(tok.content) != std::string::npos)
        r.fail(key + ".content", "a non-empty UTF-8 string is expected");
      tok.single_word = r.boolean(a, key, "single_word", false);
      tok.lstrip = r.boolean(a, key, "lstrip", false);
      tok.rstrip = r.boolean(a, key, "rstrip", false);
      tok.special = r.boolean(a, key, "special", false);
      tok.normalized = r.boolean(a, key, "normalized", !tok.special);
      tok.pattern = tok.normalized ? p.normalizer.apply(tok.content) : tok.content;
      p.vocab_size = std::max(p.vocab_size, tok.id + 1);
      p.added_by_id[tok.id] = p.added.size();
      p.added_by_content[tok.content] = tok.id;
      (tok.normalized ? p.normalized_tokens : p.raw_tokens).push_back(p.added.size());
      p.added.push_back(std::move(tok));
    }
  }

  // The post-processor: ByteLevel adds nothing; TemplateProcessing's single template adds its special tokens.
  const auto add_post = [&](const Json& n, const std::string& key, auto& self) -> void {
    if (n.is_null()) return;
    const std::string type = r.type(n, key);
    if (type == "ByteLevel") return;
    if (type == "Sequence") {
      const Json& list = r.field(n, key, "processors");
      if (!list.is_array()) r.fail(key + ".processors", "an array is expected");
      for (size_t i = 0; i < list.size(); ++i) self(list[i], key + ".processors[" + std::to_string(i) + "]", self);
      return;
    }
    if (type != "TemplateProcessing")
      r.fail(key + ".type", "'" + type + "' is not supported (ByteLevel, TemplateProcessing, Sequence are)");
    const Json& single = r.field(n, key, "single");
    const Json& specials = r.field(n, key, "special_tokens");
    if (!single.is_array()) r.fail(key + ".single", "an array is expected");
    bool seen_text = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string item_key = key + ".single[" + std::to_string(i) + "]";
      if (single[i].contains("Sequence")) {
        seen_text = true;
        continue;
      }
      if (!single[i].contains("SpecialToken")) r.fail(item_key, "SpecialToken or Sequence is expected");
      const std::string name = r.string(r.field(single[i].at("SpecialToken"), item_key + ".SpecialToken", "id"),
                                        item_key + ".SpecialToken.id");
      const std::string special_key = key + ".special_tokens." + name;
      const Json& ids = r.field(r.field(specials, key + ".special_tokens", name), special_key, "ids");
      if (!ids.is_array()) r.fail(special_key + ".ids", "an array is expected");
      for (size_t k = 0; k < ids.size(); ++k)
        (seen_text ? p.suffix_ids : p.prefix_ids)
            .push_back(r.id(ids[k], special_key + ".ids[" + std::to_string(k) + "]"));
    }
  };
  if (j.contains("post_processor")) add_post(j.at("post_processor"), "post_processor", add_post);
  for (const int64_t id : p.prefix_ids) p.vocab_size = std::max(p.vocab_size, id + 1);
  for (const int64_t id : p.suffix_ids) p.vocab_size = std::max(p.vocab_size, id + 1);
  return t;
}

std::vector<int64_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const size_t bad = invalid_utf8_at(text);
  if (bad != std::string_view::npos)
    throw Error("the text is not UTF-8: an invalid byte sequence at byte " + std::to_string(bad));
  const Pipeline& p = *p_;
  std::vector<int64_t> ids;
  if (add_special_tokens) ids = p.prefix_ids;
  for (const Span& raw : p.split_at_added(text, p.raw_tokens)) {
    if (raw.token >= 0) {
      ids.push_back(p.added[static_cast<size_t>(raw.token)].id);
      continue;
    }
    const std::string normalized = p.normalizer.apply(text.substr(raw.begin, raw.end - raw.begin));
    for (const Span& span : p.split_at_added(normalized, p.normalized_tokens)) {
      if (span.token >= 0)
        ids.push_back(p.added[static_cast<size_t>(span.token)].id);
      else
        p.encode_piece(std::string_view(normalized).substr(span.begin, span.end - span.begin), ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), p.suffix_ids.begin(), p.suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const Pipeline& p = *p_;
  std::string bytes;
  for (const int64_t id : ids) {
    const auto added = p.added_by_id.find(id);
    const std::string* token = nullptr;
    if (added != p.added_by_id.end()) {
      const AddedToken& tok = p.added[added->second];
      if (skip_special_tokens && tok.special) continue;
      token = &tok.content;
    } else if (id >= 0 && static_cast<size_t>(id) < p.model_tokens.size() &&
               !p.model_tokens[static_cast<size_t>(id)].empty()) {
      token = &p.model_tokens[static_cast<size_t>(id)];
    } else {
      // An id the tokenizer lacks (a model's padded vocabulary, 50280 rows for GPT-NeoX's 50277 tokens) decodes to
      // nothing, as tokenizers' decode drops it: a model that samples one must not stop generation.
      continue;
    }
    // A token outside the byte-level alphabet (an added token) stands for its own UTF-8.
    if (!append_bytes_of_token(*token, bytes)) bytes += *token;
  }
  return utf8_lossy(bytes);
}

int64_t Tokenizer::vocab_size() const { return p_->vocab_size; }

std::optional<int64_t> Tokenizer::token_id(std::string_view token) const {
  const std::string key(token);
  if (const auto a = p_->added_by_content.find(key); a != p_->added_by_content.end()) return a->second;
  const auto& vocab = p_->bpe->vocab();
  if (const auto v = vocab.find(key); v != vocab.end()) return v->second;
  return std::nullopt;
}

bool Tokenizer::is_special(int64_t id) const {
  const auto a = p_->added_by_id.find(id);
  return a != p_->added_by_id.end() && p_->added[a->second].special;
}

}  // namespace ftmamba::lm
