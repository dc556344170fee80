#include "ftmamba/core/error.h"

#include <cerrno>
#include <cstring>

#include "ftmamba/core/printable.h"

namespace ftmamba {

DataError::DataError(const std::string& file, int64_t line, const std::string& column, const std::string& what)
    : Error(printable(file + ":" + std::to_string(line) + (column.empty() ? "" : ":" + column) + ": " + what)) {}

DataError::DataError(const std::string& file, const std::string& key, const std::string& what)
    : Error(printable(file + ": key '" + key + "': " + what)) {}

DataError::DataError(const std::string& file_and_what) : Error(printable(file_and_what)) {}

std::string errno_text() { return std::strerror(errno); }

}  // namespace ftmamba
