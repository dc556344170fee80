// defines: add_force_flag and add_resume_flag, the options of every command that writes an output folder
// (io::StagedDir's policy).
#pragma once
#include <CLI/CLI.hpp>

namespace ftmamba::cli {

inline void add_force_flag(CLI::App* cmd, bool& force, const char* what) {
  cmd->add_flag(
      "--force", force,
      std::string("Replace an existing ") + what + " at --out (a folder holding anything else is never replaced)");
}

inline void add_resume_flag(CLI::App* cmd, bool& resume) {
  cmd->add_flag("--resume", resume,
                "Continue the interrupted run at --out from its last checkpoint (the same arguments otherwise); "
                "without one, start");
}

}  // namespace ftmamba::cli
