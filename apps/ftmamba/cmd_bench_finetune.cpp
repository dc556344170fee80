// defines: `ftmamba bench finetune`: causal-LM fine-tuning steps of a Mamba language model at the published
// checkpoints' shapes (130m, 370m, ...), full and LoRA, fp32 and mixed precision; tokens/s and peak memory
// per token, each variant in its own process so that its peak is its own. Prints one JSON line per
// measurement and writes bench-finetune.json and bench-finetune.md (ratios against full fp32 beside the
// paper's MPFT + PEFT headline) into --out.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_device.h"
#include "cli_lists.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/subprocess.h"
#include "ftmamba/experiments/lm_finetune_bench.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

namespace {

// The paper's headline (Halloran et al. 2024), MPFT + PEFT against full fp32 fine-tuning.
constexpr double kPaperSpeedup = 2.15, kPaperMemoryReduction = 0.655;

struct Args {
  std::string shapes = "130m,370m", lengths = "512,1024";
  std::string variants = "full-fp32,full-bf16,lora-fp32,lora-bf16";
  std::string out = "reports/bench-finetune", device = "auto", targets = "in_proj,x_proj,dt_proj,out_proj";
  int64_t batch = 4, steps = 5, warmup = 2, vocab = 50280, rank = 8;
  double alpha = 16.0;
  uint64_t seed = 0;
  bool no_graph = false;
  bool single = false;  // internal: measure one (shape, length, variant) in this process
};

// A shape name ("370m") or LAYERSxD_MODEL ("2x64", for small runs).
nn::MambaLMConfig parse_shape(const std::string& name, int64_t vocab) {
  nn::MambaLMConfig cfg;
  const auto x = name.find('x');
  if (x != std::string::npos && x > 0 && name.find_first_not_of("0123456789x") == std::string::npos) {
    cfg.n_layers = std::stoll(name.substr(0, x));
    cfg.d_model = std::stoll(name.substr(x + 1));
  } else {
    try {
      cfg = nn::mamba_lm_shape(name);
    } catch (const std::invalid_argument& e) {
      throw Error(std::string("--shapes: ") + e.what() + ", or LAYERSxD_MODEL such as 2x64");
    }
  }
  cfg.vocab_size = vocab;
  return cfg;
}

nlohmann::ordered_json measure_here(const Args& a, const std::string& shape, int64_t length,
                                    const std::string& variant_name) {
  const torch::Device device = choose_device(a.device);
  experiments::LmFinetuneBenchOptions o;
  o.model = parse_shape(shape, a.vocab);
  o.batch = a.batch;
  o.length = length;
  o.steps = a.steps;
  o.warmup_steps = a.warmup;
  o.lora = {a.rank, a.alpha, 0.0};
  o.lora_targets = split_list(a.targets);
  o.seed = a.seed;
  o.cuda_graph = !a.no_graph;
  const auto variant = train::parse_finetune_variant(variant_name);
  const auto r = experiments::bench_lm_finetune(o, variant, device);
  const double tokens = static_cast<double>(a.batch * length);
  return {{"bench", "finetune"},
          {"impl", "ftmamba"},
          {"device", describe_device(device)},
          {"shape", shape},
          {"n_layers", o.model.n_layers},
          {"d_model", o.model.d_model},
          {"vocab", o.model.vocab_size},
          {"length", length},
          {"batch", a.batch},
          {"variant", variant.name()},
          {"step_ms", r.step_ms},
          {"tokens_per_s", r.tokens_per_s},
          {"peak_gpu_mib", r.peak_gpu_mib},
          {"gpu_kib_per_token", r.peak_gpu_mib * 1024.0 / tokens},
          {"trainable", r.trainable},
          {"total", r.total},
          {"loss_first", r.loss_first},
          {"loss_last", r.loss_last},
          {"skipped_steps", r.skipped_steps},
          {"cuda_graph", r.cuda_graph}};
}

std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

// bench-finetune.md: one table per (shape, length) with each variant against full-fp32 of the same shape.
std::string render_markdown(const nlohmann::ordered_json& rows, const std::string& device) {
  std::ostringstream md;
  md << "# Fine-tuning a Mamba language model: tokens/s and memory per token\n\n"
     << "Device: " << device << ". Random token sequences, next-token cross-entropy, AdamW; each variant in its own "
     << "process. Memory per token is the peak "
     << (device.rfind("cuda", 0) == 0 ? "allocated GPU memory" : "resident set size of the process")
     << " (weights, gradients, optimizer state and activations) over the tokens of one step. The paper "
        "reports MPFT + PEFT at up to "
     << kPaperSpeedup << "x the tokens/s of full fp32 fine-tuning, with " << kPaperMemoryReduction * 100
     << "% less memory per token.\n";
  std::map<std::string, std::vector<nlohmann::ordered_json>> groups;
  std::vector<std::string> order;
  for (const auto& r : rows) {
    const std::string key = fmt::format("{} (layers {}, d_model {}), L {}, batch {}", r["shape"].get<std::string>(),
                                        r["n_layers"].get<int64_t>(), r["d_model"].get<int64_t>(),
                                        r["length"].get<int64_t>(), r["batch"].get<int64_t>());
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(r);
  }
  for (const auto& key : order) {
    md << "\n## " << key << "\n\n"
       << "| variant | tokens/s | x full-fp32 | memory KiB/token | less than full-fp32 | trainable | loss first -> "
          "last |\n"
       << "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n";
    const auto& g = groups[key];
    const nlohmann::ordered_json* ref = nullptr;
    for (const auto& r : g)
      if (r["variant"] == "full-fp32" && !r.contains("error")) ref = &r;
    for (const auto& r : g) {
      md << "| " << r["variant"].get<std::string>() << " | ";
      if (r.contains("error")) {
        md << "failed: " << r["error"].get<std::string>() << " | | | | | |\n";
        continue;
      }
      const double kib = r["kib_per_token"].get<double>();
      md << fixed(r["tokens_per_s"].get<double>(), 0) << " | "
         << (ref ? fixed(r["tokens_per_s"].get<double>() / (*ref)["tokens_per_s"].get<double>(), 2) + "x" : "-")
         << " | " << fixed(kib, 1) << " | "
         << (ref ? fixed(100.0 * (1.0 - kib / (*ref)["kib_per_token"].get<double>()), 1) + "%" : "-") << " | "
         << r["trainable"].get<int64_t>() << " of " << r["total"].get<int64_t>() << " | "
         << fixed(r["loss_first"].get<double>(), 3) << " -> " << fixed(r["loss_last"].get<double>(), 3) << " |\n";
    }
  }
  return md.str();
}

}  // namespace

void add_bench_finetune_subcommand(CLI::App* bench) {
  auto* cmd = bench->add_subcommand(
      "finetune",
      "Causal-LM fine-tuning of a Mamba language model (full / LoRA x precision): tokens/s, memory per token");
  auto args = std::make_shared<Args>();
  cmd->add_option("--shapes", args->shapes,
                  "Comma-separated model shapes: 130m, 370m, 790m, 1.4b (the Mamba checkpoints), or LAYERSxD_MODEL")
      ->capture_default_str();
  cmd->add_option("--lengths", args->lengths, "Comma-separated sequence lengths")->capture_default_str();
  cmd->add_option("--variants", args->variants,
                  "Comma-separated MODE-PRECISION (full or lora; fp32, bf16, fp16, bf16-pure); full-fp32 is the "
                  "reference the ratios are taken against")
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Sequences per step")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--steps", args->steps, "Timed steps (the median is reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "Untimed steps first")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--vocab", args->vocab, "Vocabulary size (tied embedding and LM head)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24));
  cmd->add_option("--lora.rank", args->rank, "LoRA rank")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lora.alpha", args->alpha, "LoRA alpha")->capture_default_str();
  cmd->add_option("--lora.targets", args->targets, "LoRA targets (globs over projection paths)")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the weights and the tokens")->capture_default_str();
  cmd->add_option("--out", args->out, "Report folder")->capture_default_str();
  add_device_option(cmd, args->device);
  cmd->add_flag("--no-graph", args->no_graph, "On a GPU, run every step eagerly instead of replaying a CUDA graph");
  cmd->add_flag("--single", args->single,
                "Measure the first shape, length and variant in this process and print "
                "its JSON line (what each child process runs)")
      ->group("");
  cmd->callback([args] {
    const auto shapes = split_list(args->shapes);
    const auto lengths = parse_int_list("--lengths", args->lengths);
    const auto variants = split_list(args->variants);
    if (shapes.empty() || variants.empty()) throw Error("--shapes and --variants must not be empty");
    for (const auto& s : shapes) parse_shape(s, args->vocab);  // fail before any work
    const torch::Device device = choose_device(args->device);
    for (const auto& v : variants) ops::check_precision_supported(train::parse_finetune_variant(v).precision, device);
    if (args->single) {
      fmt::print("{}\n", measure_here(*args, shapes[0], lengths[0], variants[0]).dump());
      return;
    }

    const fs::path out = args->out;
    fs::create_directories(out / "logs");
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const auto& shape : shapes)
      for (const int64_t length : lengths)
        for (const auto& variant : variants) {
          const std::string tag = fmt::format("{}-L{}-{}", shape, length, variant);
          std::vector<std::string> argv = {self_executable().string(),
                                           "bench",
                                           "finetune",
                                           "--single",
                                           "--shapes",
                                           shape,
                                           "--lengths",
                                           std::to_string(length),
                                           "--variants",
                                           variant,
                                           "--batch",
                                           std::to_string(args->batch),
                                           "--steps",
                                           std::to_string(args->steps),
                                           "--warmup",
                                           std::to_string(args->warmup),
                                           "--vocab",
                                           std::to_string(args->vocab),
                                           "--lora.rank",
                                           std::to_string(args->rank),
                                           "--lora.alpha",
                                           fmt::format("{}", args->alpha),
                                           "--lora.targets",
                                           args->targets,
                                           "--seed",
                                           std::to_string(args->seed),
                                           "--device",
                                           device.str()};
          if (args->no_graph) argv.push_back("--no-graph");
          const fs::path result_file = out / "logs" / (tag + ".json");
          fmt::print(stderr, "bench finetune: {} ...\n", tag);
          const ChildResult child = run_child(argv, result_file);
          nlohmann::ordered_json row;
          std::ifstream in(result_file);
          std::string line;
          if (child.exit_code == 0 && std::getline(in, line)) {
            row = nlohmann::ordered_json::parse(line);
            row["peak_rss_mib"] = child.max_rss_mib;
            // The memory that bounds the step: the GPU's allocator peak on a GPU, the process's RSS on the CPU.
            const double mib = device.is_cuda() ? row["peak_gpu_mib"].get<double>() : child.max_rss_mib;
            row["kib_per_token"] = mib * 1024.0 / static_cast<double>(args->batch * length);
          } else {
            // Out of memory at a large shape is a result, not a reason to lose the others.
            row = {{"bench", "finetune"},
                   {"impl", "ftmamba"},
                   {"shape", shape},
                   {"length", length},
                   {"batch", args->batch},
                   {"variant", variant},
                   {"error", fmt::format("exit {} (stderr above)", child.exit_code)}};
            const auto cfg = parse_shape(shape, args->vocab);
            row["n_layers"] = cfg.n_layers;
            row["d_model"] = cfg.d_model;
          }
          fmt::print("{}\n", row.dump());
          std::fflush(stdout);
          rows.push_back(row);
        }
    const std::string device_name = describe_device(device);
    io::write_file_atomic(out / "bench-finetune.json",
                          nlohmann::ordered_json({{"device", device_name}, {"rows", rows}}).dump(2) + "\n");
    io::write_file_atomic(out / "bench-finetune.md", render_markdown(rows, device_name));
    fmt::print(stderr, "bench finetune: wrote {} and bench-finetune.md\n", (out / "bench-finetune.json").string());
  });
}

}  // namespace ftmamba::cli
