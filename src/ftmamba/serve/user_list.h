// defines: read_user_list, the users of `recommend --users FILE`: one user id per line, as rows of a Recommender.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/serve/recommender.h"

namespace ftmamba::serve {

struct UserList {
  std::vector<int64_t> rows;  // user rows, in the file's order (a repeated id repeats)
  int64_t skipped = 0;        // unknown ids skipped (skip_unknown)
};

// One id per line; surrounding spaces and tabs and a CRLF line end are dropped, blank lines skipped, and a first
// line "user_id" (or the users' id column name) that is no user's id is taken as a header. An unknown id throws
// Error "FILE:LINE: unknown user 'ID' ...", or with skip_unknown is skipped after a warning line sent to `warn`.
UserList read_user_list(const std::filesystem::path& file, const Recommender& recommender, bool skip_unknown,
                        const Log& warn);

}  // namespace ftmamba::serve
