#include "ftmamba/core/error.h"

namespace ftmamba {

DataError::DataError(const std::string& file, int64_t line, const std::string& column, const std::string& what)
    : Error(file + ":" + std::to_string(line) + (column.empty() ? "" : ":" + column) + ": " + what) {}

DataError::DataError(const std::string& file, const std::string& key, const std::string& what)
    : Error(file + ": key '" + key + "': " + what) {}

}  // namespace ftmamba
