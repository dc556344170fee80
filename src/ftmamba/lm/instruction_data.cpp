// defines: alpaca_prompt, read_instruction_data (see instruction_data.h).
#include "ftmamba/lm/instruction_data.h"

#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/io/text_lines.h"

namespace ftmamba::lm {
namespace {

using Json = nlohmann::json;

void replace_all(std::string& text, const std::string& field, const std::string& value) {
  for (size_t at = text.find(field); at != std::string::npos; at = text.find(field, at + value.size()))
    text.replace(at, field.size(), value);
}

// Appends `text`'s tokens, each a target or not.
void append(InstructionExample& ex, const Tokenizer& tokenizer, const std::string& text, bool target) {
  const auto ids = tokenizer.encode(text, /*add_special_tokens=*/false);
  ex.ids.insert(ex.ids.end(), ids.begin(), ids.end());
  ex.targets.insert(ex.targets.end(), ids.size(), target ? 1 : 0);
}

// The string under `key` of j, whose own key is `prefix` ("messages[2]." or ""); "" when absent and not required.
std::string string_field(const Json& j, const std::string& prefix, const std::string& key, const std::string& where,
                         bool required) {
  if (!j.contains(key)) {
    if (required) throw Error(where + ": key '" + prefix + key + "' is missing");
    return "";
  }
  if (!j[key].is_string()) throw Error(where + ": key '" + prefix + key + "': a string is expected");
  return j[key].get<std::string>();
}

InstructionExample parse_record(const Json& j, const Tokenizer& tokenizer, int64_t eos_id, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": a record is a JSON object");
  InstructionExample ex;
  bool last_is_assistant = true;
  if (j.contains("messages")) {
    for (const auto& [key, value] : j.items())
      if (key != "messages") throw Error(where + ": unknown key '" + key + "' beside 'messages'");
    const Json& messages = j["messages"];
    if (!messages.is_array() || messages.empty())
      throw Error(where + ": key 'messages': a non-empty array is expected");
    bool any_assistant = false;
    for (size_t i = 0; i < messages.size(); ++i) {
      const std::string prefix = "messages[" + std::to_string(i) + "].";
      const Json& m = messages[i];
      if (!m.is_object()) throw Error(where + ": key 'messages[" + std::to_string(i) + "]': an object is expected");
      const std::string role = string_field(m, prefix, "role", where, true);
      if (role != "system" && role != "user" && role != "assistant")
        throw Error(where + ": key '" + prefix + "role': '" + role + "' is not system, user or assistant");
      const std::string content = string_field(m, prefix, "content", where, true);
      append(ex, tokenizer, "<|" + role + "|>\n", false);
      append(ex, tokenizer, content + "\n", role == "assistant");
      any_assistant = any_assistant || role == "assistant";
      last_is_assistant = role == "assistant";
    }
    if (!any_assistant) throw Error(where + ": key 'messages': no assistant message to learn from");
  } else {
    for (const auto& [key, value] : j.items())
      if (key != "instruction" && key != "input" && key != "output")
        throw Error(where + ": unknown key '" + key + "' (an Alpaca record has instruction, input, output)");
    const std::string instruction = string_field(j, "", "instruction", where, true);
    const std::string input = string_field(j, "", "input", where, false);
    const std::string output = string_field(j, "", "output", where, true);
    append(ex, tokenizer, alpaca_prompt(instruction, input), false);
    append(ex, tokenizer, output, true);
  }
  if (eos_id >= 0) {
    ex.ids.push_back(eos_id);
    ex.targets.push_back(last_is_assistant ? 1 : 0);
  }
  return ex;
}

}  // namespace

std::string alpaca_prompt(const std::string& instruction, const std::string& input) {
  std::string text = input.empty() ? kAlpacaPrompt : kAlpacaPromptWithInput;
  replace_all(text, "{instruction}", instruction);
  replace_all(text, "{input}", input);
  return text;
}

std::vector<InstructionExample> read_instruction_data(const std::filesystem::path& path, const Tokenizer& tokenizer,
                                                      int64_t max_length, int64_t eos_id) {
  if (max_length < 2) throw Error("--max-length must be at least 2");
  std::vector<InstructionExample> examples;
  io::for_each_line(path, [&](const std::string& line, int64_t n) {
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    const std::string where = path.string() + ":" + std::to_string(n);
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) throw Error(where + ": malformed JSON");
    InstructionExample ex;
    try {
      ex = parse_record(j, tokenizer, eos_id, where);
    } catch (const Error& e) {
      const std::string what = e.what();
      throw Error(what.rfind(where, 0) == 0 ? what : where + ": " + what);  // tokenizer errors get the place
    }
    ex.line = n;
    if (static_cast<int64_t>(ex.ids.size()) > max_length) {
      ex.ids.resize(static_cast<size_t>(max_length));
      ex.targets.resize(static_cast<size_t>(max_length));
    }
    // A target at position 0 has nothing before it to predict from; the rest need one.
    int64_t targets = 0;
    for (size_t t = 1; t < ex.targets.size(); ++t) targets += ex.targets[t];
    if (targets == 0)
      throw Error(where + ": the prompt fills --max-length " + std::to_string(max_length) +
                  " tokens, leaving no response to learn from");
    examples.push_back(std::move(ex));
  });
  if (examples.empty()) throw Error(path.string() + ": no records (one JSON object per line)");
  return examples;
}

}  // namespace ftmamba::lm
