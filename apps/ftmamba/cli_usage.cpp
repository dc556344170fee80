// defines: explain_usage_error (see cli_usage.h). It walks the command line the way CLI11 does, command names
// first and then options with their values, and stops at the first word it cannot place.
#include "cli_usage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "cli_checks.h"
#include "cli_suggest.h"
#include "ftmamba/run/config.h"

namespace ftmamba::cli {
namespace {

// "-1", "-0.5", "-1e3": a negative number, the value of an option rather than an option.
bool is_number(const std::string& s) {
  if (s.size() < 2 || s[0] != '-') return false;
  return std::isdigit(static_cast<unsigned char>(s[1])) || (s[1] == '.' && s.size() > 2);
}

bool is_option(const std::string& s) { return s.size() > 1 && s[0] == '-' && !is_number(s); }

// "train", "bench scaling": the command as typed after `ftmamba`.
std::string command_path(const CLI::App* cmd) {
  std::string path;
  for (; cmd && cmd->get_parent(); cmd = cmd->get_parent()) path = cmd->get_name() + (path.empty() ? "" : " ") + path;
  return path;
}

std::string help_hint(const CLI::App* cmd) {
  const std::string path = command_path(cmd);
  return fmt::format("(see ftmamba {}--help)", path.empty() ? "" : path + " ");
}

std::vector<std::string> subcommand_names(CLI::App* cmd) {
  std::vector<std::string> names;
  for (const CLI::App* sub : cmd->get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

CLI::App* find_subcommand(CLI::App* cmd, const std::string& name) {
  for (CLI::App* sub : cmd->get_subcommands([](CLI::App*) { return true; }))
    if (sub->check_name(name)) return sub;
  return nullptr;
}

std::string unknown_command(CLI::App* cmd, const std::string& word) {
  const auto names = subcommand_names(cmd);
  const std::string where = cmd->get_parent() ? fmt::format(" for '{}'", command_path(cmd)) : "";
  const std::string prefix = cmd->get_parent() ? command_path(cmd) + " " : "";
  if (const auto near = closest_name(word, names))
    return fmt::format("unknown command '{}'{}; did you mean '{}{}'?", word, where, prefix, *near);
  return fmt::format("unknown command '{}'{}; the commands are {} {}", word, where, join_names(names), help_hint(cmd));
}

// The option names of `cmd` as typed ("--epochs", "-q"), and for a command with --set, each config key as an option
// ("--epochs" standing for "--set train.epochs=..."): a value that has no option of its own is often typed as one.
std::string unknown_option(CLI::App* cmd, const std::string& typed) {
  std::vector<std::string> names, meant;
  for (const CLI::Option* opt : cmd->get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l), meant.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s), meant.push_back("-" + s);
  }
  if (cmd->get_option_no_throw("--set")) {
    run::RunConfig defaults;
    for (const auto& field : defaults.fields()) {
      const std::string leaf = field.key.substr(field.key.find('.') + 1);
      std::string dashed = leaf;
      std::replace(dashed.begin(), dashed.end(), '_', '-');
      for (const auto& form : {leaf, dashed}) {
        names.push_back("--" + form);
        meant.push_back("--set " + field.key + "=...");
      }
    }
  }
  const std::string name = typed.substr(0, typed.find('='));
  const std::string where = cmd->get_parent() ? fmt::format(" for '{}'", command_path(cmd)) : "";
  if (const auto near = closest_name(name, names)) {
    const size_t i = static_cast<size_t>(std::find(names.begin(), names.end(), *near) - names.begin());
    return fmt::format("unknown option '{}'{}; did you mean '{}'?", name, where, meant[i]);
  }
  return fmt::format("unknown option '{}'{} {}", name, where, help_hint(cmd));
}

}  // namespace

std::string explain_usage_error(CLI::App& app, const std::vector<std::string>& args, const std::string& parse_error) {
  CLI::App* cmd = &app;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") break;
    if (is_option(word)) {
      const std::string name = word.substr(0, word.find('='));
      const CLI::Option* opt = cmd->get_option_no_throw(name);
      if (!opt) return unknown_option(cmd, word);
      if (word.find('=') != std::string::npos) continue;
      // Skip the option's values, as many as it takes, up to the next option or command name.
      for (int n = opt->get_items_expected_max(); n > 0 && i + 1 < args.size(); --n) {
        const std::string& next = args[i + 1];
        if (is_option(next) || find_subcommand(cmd, next)) break;
        ++i;
      }
      continue;
    }
    if (subcommand_names(cmd).empty()) break;  // a stray word: CLI11's message names it
    CLI::App* sub = find_subcommand(cmd, word);
    if (!sub) return unknown_command(cmd, word);
    cmd = sub;
  }
  const auto names = subcommand_names(cmd);
  if (cmd->get_require_subcommand_min() > 0 && !names.empty())
    return fmt::format("missing command{}: one of {} {}",
                       cmd->get_parent() ? fmt::format(" for '{}'", command_path(cmd)) : "", join_names(names),
                       help_hint(cmd));
  return parse_error + " " + help_hint(cmd);
}

}  // namespace ftmamba::cli
