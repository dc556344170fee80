// Fuzz target: the CSV reader (data/csv_stream.cpp, data/csv.cpp) and the cell number parser. The input is a
// CSV file; read_csv reads it whole, and CsvStream reads it again through a tiny buffer, so that every
// record crosses buffer edges. Both must agree: the same rows, or the same error.
#include <cstdlib>
#include <string>
#include <vector>

#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_stream.h"
#include "fuzz_input.h"

using namespace ftmamba;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_input("table.csv", data, size);
  data::CsvTable table;
  std::string whole_error;
  try {
    table = data::read_csv(path);
  } catch (const Error& e) {
    whole_error = e.what();
  }
  // The same file through an 8-byte buffer.
  std::vector<std::vector<std::string>> rows;
  std::string streamed_error;
  try {
    data::CsvStream in(path, 8);
    if (in.header() != table.header && whole_error.empty()) std::abort();
    std::vector<std::string> row;
    while (in.next(row)) rows.push_back(row);
  } catch (const Error& e) {
    streamed_error = e.what();
  }
  if (whole_error != streamed_error) std::abort();
  if (whole_error.empty() && rows != table.rows) std::abort();
  if (!whole_error.empty()) return 0;
  for (int64_t r = 0; r < table.size(); ++r) {
    for (int c = 0; c < static_cast<int>(table.header.size()); ++c)
      fuzz::parse_or_reject([&] { data::parse_number(table, r, c); });
  }
  fuzz::parse_or_reject([&] { table.column(table.header.empty() ? std::string("id") : table.header.back()); });
  return 0;
}
