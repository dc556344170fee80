// defines: ftmamba::Error (user-facing failure, one line), ftmamba::DataError (names file, line, column) and
// errno_text (the system's words for the last failed call).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ftmamba {

// Any failure the user can fix: bad arguments, bad config, bad files. main() prints what() on one line
// and exits non-zero; nothing else is written.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A malformed input file. The message reads "FILE:LINE:COLUMN: what", or "FILE: key K: what" when the
// location is a key (TOML) rather than a cell. line is 1-based (the header is line 1); column is the
// column *name* when known, else its 1-based number. The message quotes the input, so its control characters
// are escaped (core/printable.h): a column name holding ESC reads as \x1b.
struct DataError : Error {
  DataError(const std::string& file, int64_t line, const std::string& column, const std::string& what);
  DataError(const std::string& file, const std::string& key, const std::string& what);
  explicit DataError(const std::string& file_and_what);
};

// std::strerror(errno), read before anything else can change errno.
std::string errno_text();

}  // namespace ftmamba
