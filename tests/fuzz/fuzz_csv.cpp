// Fuzz target: the CSV reader (data/csv_stream.cpp, data/csv.cpp), its gzip input (io/byte_reader.cpp) and the
// cell number parser. The first input byte picks the delimiter when it may be one (any ASCII character but a
// quote or a line end; a comma otherwise), and the rest is the file. read_csv reads it whole, and CsvStream
// reads it again through a tiny buffer, so that every record crosses buffer edges; the same text gzip-compressed
// reads through zlib. All must agree: the same rows, or the same error. The raw bytes read as gzip must parse or
// be refused, never crash.
#include <zlib.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_format.h"
#include "ftmamba/data/csv_stream.h"
#include "fuzz_input.h"

using namespace ftmamba;

namespace {

// `text` with every occurrence of `from` replaced by `to`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// The rows of `path` read through an 8-byte buffer, or the error's message.
std::vector<std::vector<std::string>> stream_rows(const std::filesystem::path& path, const data::CsvFormat& format,
                                                  std::string& error) {
  std::vector<std::vector<std::string>> rows;
  try {
    data::CsvStream in(path, format, 8);
    rows.push_back(in.header());
    std::vector<std::string> row;
    while (in.next(row)) rows.push_back(row);
  } catch (const Error& e) {
    error = e.what();
  }
  return rows;
}

// `bytes` as one gzip member (zlib's deflate with gzip framing).
std::string gzip(const uint8_t* bytes, size_t size) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&zs, static_cast<uLong>(size)) + 32, '\0');
  zs.next_in = const_cast<Bytef*>(bytes);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  data::CsvFormat format;
  if (size > 0 && data::delimiter_problem(std::string(1, static_cast<char>(data[0]))).empty())
    format.delimiter = static_cast<char>(data[0]);
  if (size > 0) {
    ++data;
    --size;
  }
  const auto path = fuzz::write_input("table.csv", data, size);
  data::CsvTable table;
  std::string whole_error;
  try {
    table = data::read_csv(path, format);
  } catch (const Error& e) {
    whole_error = e.what();
  }
  std::vector<std::vector<std::string>> want;
  if (whole_error.empty()) {
    want.push_back(table.header);
    want.insert(want.end(), table.rows.begin(), table.rows.end());
  }
  // The same file through an 8-byte buffer.
  std::string streamed_error;
  const auto rows = stream_rows(path, format, streamed_error);
  if (whole_error != streamed_error) std::abort();
  if (whole_error.empty() && rows != want) std::abort();

  // The same text as gzip: the same rows, or the same error under the .gz file's name. Inputs past 64 KiB
  // keep the fuzzer fast.
  if (size <= (size_t{64} << 10)) {
    const std::string packed = gzip(data, size);
    const auto gz_path =
        fuzz::write_input("table.csv.gz", reinterpret_cast<const uint8_t*>(packed.data()), packed.size());
    data::CsvFormat gz_format = format;
    gz_format.gzip = true;
    std::string gz_error;
    const auto gz_rows = stream_rows(gz_path, gz_format, gz_error);
    if (replace_all(gz_error, gz_path.string(), path.string()) != whole_error) std::abort();
    if (whole_error.empty() && gz_rows != want) std::abort();
  }
  // The raw bytes as gzip: almost never valid, always refused cleanly.
  data::CsvFormat raw_gz = format;
  raw_gz.gzip = true;
  std::string raw_error;
  stream_rows(path, raw_gz, raw_error);

  if (!whole_error.empty()) return 0;
  for (int64_t r = 0; r < table.size(); ++r) {
    for (int c = 0; c < static_cast<int>(table.header.size()); ++c)
      fuzz::parse_or_reject([&] { data::parse_number(table, r, c); });
  }
  fuzz::parse_or_reject([&] { table.column(table.header.empty() ? std::string("id") : table.header.back()); });
  return 0;
}
