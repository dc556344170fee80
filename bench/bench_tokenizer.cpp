// Tokenizer speed: MB/s of lm::Tokenizer::encode on a corpus, one thread, as JSON lines.
//   bench_tokenizer TOKENIZER.json CORPUS_FILE... [--seconds S]
// Each file is encoded whole, again and again for at least S seconds (default 2); the line gives its bytes, tokens
// and MB/s. A last line gives the files together. Hugging Face tokenizers' figure for the same files comes from
// scripts/hf_tokenizer_fixture.py (speed.json).
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "ftmamba/io/atomic_file.h"
#include "ftmamba/lm/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: {} TOKENIZER.json CORPUS_FILE... [--seconds S]\n", argv[0]);
    return 2;
  }
  double seconds = 2.0;
  std::vector<std::string> files;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      files.push_back(a);
    }
  }
  const auto tokenizer = ftmamba::lm::Tokenizer::load(argv[1]);
  std::string all;
  const auto measure = [&](const std::string& name, const std::string& text) {
    size_t tokens = tokenizer.encode(text).size();
    int64_t runs = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    do {
      tokens = tokenizer.encode(text).size();
      ++runs;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < seconds);
    fmt::print("{{\"bench\": \"tokenizer\", \"file\": \"{}\", \"bytes\": {}, \"tokens\": {}, \"mb_per_s\": {:.3f}}}\n",
               name, text.size(), tokens, static_cast<double>(text.size()) * runs / elapsed / 1e6);
  };
  for (const auto& f : files) {
    const std::string text = ftmamba::io::read_file(f);
    all += text + "\n";
    measure(f, text);
  }
  measure("(all, joined by newlines)", all);
  return 0;
}
