// defines: the instruction data `ftmamba lm finetune` trains on: JSON Lines of Alpaca records
// ({"instruction", "input" (optional), "output"}) or chat records ({"messages": [{"role", "content"}]}), turned
// into token ids through a documented prompt template, with a loss mask that keeps only the response:
//   Alpaca: kAlpacaPrompt (or kAlpacaPromptWithInput) with the fields filled in, then the output and the end token;
//           the loss is on the output and the end token.
//   chat:   each message as "<|ROLE|>\n" CONTENT "\n" (ROLE: system, user or assistant), then the end token; the
//           loss is on each assistant CONTENT "\n" and the end token.
// Prompt and response are tokenized apart and joined, so the mask falls on token boundaries.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/lm/tokenizer.h"

namespace ftmamba::lm {

inline constexpr const char* kAlpacaPrompt =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n";
inline constexpr const char* kAlpacaPromptWithInput =
    "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
    "response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n"
    "### Response:\n";

struct InstructionExample {
  std::vector<int64_t> ids;      // the whole sequence
  std::vector<uint8_t> targets;  // per position: 1 where the token is a response token the loss predicts
  int64_t line = 0;              // its line in the file
};

// The prompt text of an Alpaca record (the template with its fields filled in).
std::string alpaca_prompt(const std::string& instruction, const std::string& input);

// Every record of the file. Sequences longer than max_length are cut to it (their response shortened); a record
// whose prompt alone fills max_length is an Error, as is a malformed line, an unknown key or role, a missing field,
// a chat without an assistant message: each naming "PATH:LINE: key '...'". eos_id < 0: no end token appended.
std::vector<InstructionExample> read_instruction_data(const std::filesystem::path& path, const Tokenizer& tokenizer,
                                                      int64_t max_length, int64_t eos_id);

}  // namespace ftmamba::lm
