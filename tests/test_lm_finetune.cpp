// Instruction fine-tuning of a language model: the Alpaca and chat templates and their loss masks
// (lm/instruction_data.h), the masked loss against a plain cross-entropy over the response tokens (float64), and
// run_lm_finetune end to end on a tiny model: LoRA and --full both lower the loss on the data, the adapters are
// written in PEFT's names and load back onto the base model with the loss they reached, the folder records an
// out_proj run as not loadable by PEFT, and a foreign --out is refused before any training.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/experiments/lm_finetune_run.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/lm/instruction_data.h"
#include "ftmamba/lm/merge_adapters.h"
#include "ftmamba/lm/pretrained.h"
#include "ftmamba/train/linear_cross_entropy.h"
#include "scratch_dir.h"
#include "tiny_lm_folder.h"

namespace fs = std::filesystem;
namespace lm = ftmamba::lm;
using ftmamba_test::error_message;
using nlohmann::json;

namespace {

class LmFinetune : public ftmamba_test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    ftmamba_test::write_tiny_lm_folder(dir_ / "model", /*eos=*/263, /*seed=*/5, /*embedding_std=*/0.5);
    std::ofstream data(dir_ / "train.jsonl");
    for (int i = 0; i < 6; ++i) {
      data << json{{"instruction", "say hello " + std::to_string(i)}, {"output", "hello world"}}.dump() << "\n";
      data << json{{"messages",
                    {{{"role", "user"}, {"content", "hi " + std::to_string(i)}},
                     {{"role", "assistant"}, {"content", "hello"}}}}}
                  .dump()
           << "\n";
    }
  }
  lm::Tokenizer tokenizer() const { return lm::Tokenizer::load(dir_ / "model" / "tokenizer.json"); }

  // The mean loss over the data's response tokens under the model of `model_dir` (+ adapters).
  double data_loss(const fs::path& model_dir, const fs::path& adapters = {}) const {
    auto p = lm::PretrainedLM::load(model_dir, torch::kCPU, adapters);
    const auto examples = lm::read_instruction_data(dir_ / "train.jsonl", p.require_tokenizer(), 512, 263);
    torch::NoGradGuard no_grad;
    double sum = 0;
    int64_t n = 0;
    for (const auto& ex : examples) {
      const auto ids = torch::tensor(ex.ids, torch::kInt64).unsqueeze(0);
      const auto t = torch::tensor(std::vector<int64_t>(ex.targets.begin(), ex.targets.end())).unsqueeze(0);
      int64_t k = 0;
      for (size_t i = 1; i < ex.targets.size(); ++i) k += ex.targets[i];
      sum += ftmamba::train::masked_causal_lm_loss(p.model, ids, t).item<double>() * static_cast<double>(k);
      n += k;
    }
    return sum / static_cast<double>(n);
  }
  ftmamba::experiments::LmFinetuneRequest request(const std::string& out) const {
    ftmamba::experiments::LmFinetuneRequest q;
    q.model_dir = dir_ / "model";
    q.data = dir_ / "train.jsonl";
    q.out = dir_ / out;
    q.epochs = 12;
    q.batch = 4;
    q.lr = 2e-2;
    return q;
  }
};

}  // namespace

TEST_F(LmFinetune, TemplatesPutTheLossOnTheResponseOnly) {
  const auto tok = tokenizer();
  const auto examples = lm::read_instruction_data(dir_ / "train.jsonl", tok, 512, 263);
  ASSERT_EQ(examples.size(), 12u);
  // Alpaca: the prompt, then "hello world" and the end token as targets.
  const auto& a = examples[0];
  const auto prompt = tok.encode(lm::alpaca_prompt("say hello 0", ""), false);
  const auto response = tok.encode("hello world", false);
  ASSERT_EQ(a.ids.size(), prompt.size() + response.size() + 1);
  EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), a.ids.begin()));
  EXPECT_EQ(a.ids.back(), 263);
  for (size_t t = 0; t < a.ids.size(); ++t) EXPECT_EQ(a.targets[t], t >= prompt.size() ? 1 : 0) << t;
  EXPECT_EQ(lm::alpaca_prompt("I", "X"),
            "Below is an instruction that describes a task, paired with an input that provides further context. Write "
            "a response that appropriately completes the request.\n\n### Instruction:\nI\n\n### Input:\nX\n\n### "
            "Response:\n");
  // Chat: "<|user|>\nhi 0\n<|assistant|>\n" no targets, "hello\n" and the end token targets.
  const auto& c = examples[1];
  const auto head = tok.encode("<|user|>\n", false), user = tok.encode("hi 0\n", false),
             role = tok.encode("<|assistant|>\n", false), reply = tok.encode("hello\n", false);
  const size_t before = head.size() + user.size() + role.size();
  ASSERT_EQ(c.ids.size(), before + reply.size() + 1);
  for (size_t t = 0; t < c.ids.size(); ++t) EXPECT_EQ(c.targets[t], t >= before ? 1 : 0) << t;
}

TEST_F(LmFinetune, BadRecordsNameTheLineAndKey) {
  const auto tok = tokenizer();
  const auto message = [&](const std::string& line) {
    const auto p = write("bad.jsonl", R"({"instruction": "a", "output": "b"})"
                                      "\n" +
                                          line + "\n");
    return error_message([&] { lm::read_instruction_data(p, tok, 512, 263); });
  };
  const std::string at = (dir_ / "bad.jsonl").string() + ":2: ";
  EXPECT_EQ(message("{oops"), at + "malformed JSON");
  EXPECT_EQ(message(R"({"instruction": "a"})"), at + "key 'output' is missing");
  EXPECT_EQ(message(R"({"instruction": "a", "output": 3})"), at + "key 'output': a string is expected");
  EXPECT_EQ(message(R"({"instruction": "a", "output": "b", "extra": 1})"),
            at + "unknown key 'extra' (an Alpaca record has instruction, input, output)");
  EXPECT_EQ(message(R"({"messages": [{"role": "robot", "content": "x"}]})"),
            at + "key 'messages[0].role': 'robot' is not system, user or assistant");
  EXPECT_EQ(message(R"({"messages": [{"role": "user", "content": "x"}]})"),
            at + "key 'messages': no assistant message to learn from");
  const auto p = write("long.jsonl", R"({"instruction": "a long instruction", "output": "b"})"
                                     "\n");
  EXPECT_EQ(error_message([&] { lm::read_instruction_data(p, tok, 8, 263); }),
            p.string() + ":1: the prompt fills --max-length 8 tokens, leaving no response to learn from");
}

TEST_F(LmFinetune, TheMaskedLossIsTheCrossEntropyOfTheTargetsAlone) {
  torch::manual_seed(2);
  ftmamba::nn::MambaLMConfig c;
  c.vocab_size = 30;
  c.d_model = 8;
  c.n_layers = 1;
  ftmamba::nn::MambaLM model(c);
  model->to(torch::kFloat64);
  const auto tokens = torch::randint(30, {2, 7}, torch::kInt64);
  auto targets = torch::zeros({2, 7}, torch::kUInt8);
  targets[0].narrow(0, 4, 3).fill_(1);
  targets[1][0] = 1;  // position 0: nothing predicts it, not counted
  targets[1][5] = 1;
  const auto got = ftmamba::train::masked_causal_lm_loss(model, tokens, targets);
  const auto logp = torch::log_softmax(model->forward(tokens), -1);  // (2, 7, 30)
  double want = 0;
  for (const auto& [b, t] : std::vector<std::pair<int, int>>{{0, 4}, {0, 5}, {0, 6}, {1, 5}})
    want -= logp[b][t - 1][tokens[b][t].item<int64_t>()].item<double>();
  EXPECT_NEAR(got.item<double>(), want / 4, 1e-10);
}

TEST_F(LmFinetune, LoraLowersTheLossAndItsPeftAdaptersLoadBack) {
  const double before = data_loss(dir_ / "model");
  auto q = request("lora");
  q.targets = {"in_proj", "x_proj", "dt_proj"};
  q.epochs = 20;
  const auto r = ftmamba::experiments::run_lm_finetune(q);
  EXPECT_EQ(r.examples, 12);
  EXPECT_EQ(r.steps, 20 * 3);
  // transformers' Mamba forward bypasses a dt_proj adapter that PEFT loads: recorded, not claimed loadable.
  EXPECT_FALSE(r.peft_loadable());
  EXPECT_NE(r.peft_note.find("dt_proj is adapted"), std::string::npos) << r.peft_note;
  EXPECT_LT(r.trainable, r.total / 4);
  EXPECT_LT(r.last_loss, 0.5 * r.first_loss) << r.first_loss << " -> " << r.last_loss;
  // PEFT's files and names.
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "train_log.jsonl",
                        "ftmamba_finetune.json"})
    EXPECT_TRUE(fs::is_regular_file(dir_ / "lora" / f)) << f;
  const auto tensors = ftmamba::io::load_safetensors(dir_ / "lora" / "adapter_model.safetensors");
  EXPECT_EQ(tensors.size(), 2u * 3u * 2u);  // 2 layers x 3 targets x (A, B)
  EXPECT_EQ(tensors.at("base_model.model.backbone.layers.1.mixer.x_proj.lora_A.weight").sizes(),
            (std::vector<int64_t>{8, 32}));
  const auto config = json::parse(ftmamba::io::read_file(dir_ / "lora" / "adapter_config.json"));
  EXPECT_EQ(config.at("peft_type"), "LORA");
  EXPECT_EQ(config.at("r"), 8);
  EXPECT_EQ(config.at("target_modules"), json({"in_proj", "x_proj", "dt_proj"}));
  // Loaded back on the base model: the loss the training reached, far below the base model's.
  const double after = data_loss(dir_ / "model", dir_ / "lora");
  EXPECT_LT(after, 0.5 * before) << before << " -> " << after;
  EXPECT_NEAR(after, r.last_loss, 0.5 * r.last_loss);
}

TEST_F(LmFinetune, FullWritesAModelFolderAndOutProjIsRecorded) {
  const double before = data_loss(dir_ / "model");
  auto q = request("full");
  q.full = true;
  q.lr = 5e-3;
  const auto r = ftmamba::experiments::run_lm_finetune(q);
  EXPECT_EQ(r.trainable, r.total);
  EXPECT_LT(data_loss(dir_ / "full"), 0.5 * before);
  auto o = request("with-out-proj");
  o.epochs = 1;
  const auto w = ftmamba::experiments::run_lm_finetune(o);
  EXPECT_FALSE(w.peft_loadable());
  auto l = request("peft-loadable");
  l.epochs = 1;
  l.targets = {"in_proj", "x_proj"};
  EXPECT_TRUE(ftmamba::experiments::run_lm_finetune(l).peft_loadable());
  const auto record = json::parse(ftmamba::io::read_file(dir_ / "with-out-proj" / "ftmamba_finetune.json"));
  EXPECT_EQ(record.at("peft_loadable"), false);
  EXPECT_NE(record.at("note").get<std::string>().find("PEFT refuses out_proj"), std::string::npos);
}

TEST_F(LmFinetune, AForeignOutputFolderIsRefusedBeforeTraining) {
  fs::create_directories(dir_ / "mine");
  write("mine/notes.txt", "keep me");
  const auto msg = error_message([&] { ftmamba::experiments::run_lm_finetune(request("mine")); });
  EXPECT_NE(msg.find("is not empty and does not hold an ftmamba run"), std::string::npos) << msg;
  EXPECT_EQ(ftmamba::io::read_file(dir_ / "mine" / "notes.txt"), "keep me");
}

TEST_F(LmFinetune, MergedAdaptersGiveTheAdaptedLogitsWithoutAdapters) {
  auto q = request("lora");
  q.epochs = 2;
  ftmamba::experiments::run_lm_finetune(q);
  const auto merged = lm::merge_adapters({dir_ / "model", dir_ / "lora", dir_ / "merged", false});
  EXPECT_EQ(merged, 2 * 4);  // 2 layers x the 4 default targets
  const auto tensors = ftmamba::io::load_safetensors(dir_ / "merged" / "model.safetensors");
  for (const auto& [name, t] : tensors) EXPECT_EQ(name.find("lora"), std::string::npos) << name;
  auto adapted = lm::PretrainedLM::load(dir_ / "model", torch::kCPU, dir_ / "lora");
  auto plain = lm::PretrainedLM::load(dir_ / "merged", torch::kCPU);
  auto base = lm::PretrainedLM::load(dir_ / "model", torch::kCPU);
  const auto ids = torch::tensor({{259, 32, 260, 261, 108, 100, 263}}, torch::kInt64);
  torch::NoGradGuard no_grad;
  const auto a = adapted.model->forward(ids), m = plain.model->forward(ids), b = base.model->forward(ids);
  EXPECT_LT((a - m).abs().max().item<double>(), 1e-4 * a.abs().max().item<double>());
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-2);  // the adapters did move the logits
  // Merging again into the same folder needs --force; a foreign folder is never replaced.
  EXPECT_NE(error_message([&] {
              lm::merge_adapters({dir_ / "model", dir_ / "lora", dir_ / "merged", false});
            }).find("pass --force"),
            std::string::npos);
}

// A run that stops (here an error thrown at step 10; a signal or a kill the same) keeps its checkpoint in
// OUT.partial, and --resume finishes it to exactly what an uninterrupted run writes: the adapters bit for bit
// and the same losses, with the adapters' dropout drawing the same numbers. Other settings are refused.
TEST_F(LmFinetune, AnInterruptedRunResumesToTheUninterruptedResult) {
  auto q = request("whole");
  q.targets = {"in_proj", "x_proj"};
  q.epochs = 5;
  q.lora.dropout = 0.2;
  q.checkpoint_steps = 4;
  const auto whole = ftmamba::experiments::run_lm_finetune(q);
  EXPECT_FALSE(whole.resumed);

  auto p = q;
  p.out = dir_ / "resumed";
  const auto stop = [](const std::string& line) {
    if (line.find("step 10/") != std::string::npos) throw std::runtime_error("stopped for the test");
  };
  EXPECT_THROW(ftmamba::experiments::run_lm_finetune(p, stop), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir_ / "resumed"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "resumed.partial" / "checkpoint" / "lm_state.safetensors"));

  // Without --resume or --force the interrupted run is neither lost nor silently restarted.
  const auto msg = error_message([&] { ftmamba::experiments::run_lm_finetune(p); });
  EXPECT_NE(msg.find("--resume"), std::string::npos) << msg;
  // Other settings: refused, naming the first difference.
  auto other = p;
  other.resume = true;
  other.lr = 1e-3;
  const auto diff = error_message([&] { ftmamba::experiments::run_lm_finetune(other); });
  EXPECT_NE(diff.find("/lr"), std::string::npos) << diff;

  p.resume = true;
  const auto resumed = ftmamba::experiments::run_lm_finetune(p);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.steps, whole.steps);
  EXPECT_EQ(resumed.first_loss, whole.first_loss);
  EXPECT_EQ(resumed.last_loss, whole.last_loss);
  EXPECT_EQ(ftmamba::io::read_file(dir_ / "resumed" / "adapter_model.safetensors"),
            ftmamba::io::read_file(dir_ / "whole" / "adapter_model.safetensors"));
  EXPECT_EQ(ftmamba::io::read_file(dir_ / "resumed" / "train_log.jsonl"),
            ftmamba::io::read_file(dir_ / "whole" / "train_log.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / "resumed" / "checkpoint"));
  EXPECT_FALSE(fs::exists(dir_ / "resumed.partial"));
}
