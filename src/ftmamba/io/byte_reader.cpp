// defines: ByteReader (see byte_reader.h). Gzip goes through zlib's inflate with gzip framing (windowBits 16 + 15),
// one member after another; the input buffer and inflate's 32 KiB window are all it holds.
#include "ftmamba/io/byte_reader.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::io {

struct ByteReader::Inflater {
  z_stream zs{};
  std::vector<unsigned char> in = std::vector<unsigned char>(size_t{64} << 10);
  bool member_done = false;  // the last member read ended; more input would start another
  ~Inflater() { inflateEnd(&zs); }
};

ByteReader::ByteReader(const std::filesystem::path& path, bool gzip) : path_(path.string()) {
  fd_ = open_regular_file(path);
  struct stat st {};
  if (::fstat(fd_, &st) == 0) file_size_ = static_cast<uint64_t>(st.st_size);
  if (!gzip) return;
  inflater_ = std::make_unique<Inflater>();
  if (inflateInit2(&inflater_->zs, 16 + MAX_WBITS) != Z_OK) {
    inflater_.reset();
    ::close(fd_);
    throw Error(path_ + ": cannot start gzip decompression (out of memory)");
  }
}

ByteReader::~ByteReader() {
  if (fd_ >= 0) ::close(fd_);
}

void ByteReader::fail(const std::string& what) const { throw Error(path_ + ": " + what); }

size_t ByteReader::read_file(char* out, size_t n) {
  for (;;) {
    const ssize_t got = ::read(fd_, out, n);
    if (got >= 0) {
      taken_ += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
    if (errno != EINTR) fail(std::string("cannot read file: ") + errno_text());
  }
}

uint64_t ByteReader::file_bytes_read() const { return inflater_ ? taken_ - inflater_->zs.avail_in : taken_; }

size_t ByteReader::read(char* out, size_t n) {
  if (!inflater_) return read_file(out, n);
  z_stream& zs = inflater_->zs;
  const auto want = static_cast<uInt>(std::min<size_t>(n, UINT_MAX));
  if (want == 0) return 0;
  zs.next_out = reinterpret_cast<Bytef*>(out);
  zs.avail_out = want;
  const auto refill = [&] {
    zs.next_in = inflater_->in.data();
    zs.avail_in = static_cast<uInt>(read_file(reinterpret_cast<char*>(inflater_->in.data()), inflater_->in.size()));
  };
  while (zs.avail_out == want) {
    if (zs.avail_in == 0) refill();
    if (inflater_->member_done) {
      if (zs.avail_in == 0) return 0;  // the last member has ended with the file
      inflateReset(&zs);               // another member follows
      inflater_->member_done = false;
    }
    if (zs.avail_in == 0) {
      if (taken_ == 0) fail("empty file, expected gzip data");
      fail("truncated gzip stream: the file ends inside compressed data (an interrupted download or copy?)");
    }
    const int ret = inflate(&zs, Z_NO_FLUSH);
    if (ret == Z_STREAM_END) {
      inflater_->member_done = true;
    } else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR) {
      fail(std::string("corrupt gzip stream (") + (zs.msg != nullptr ? zs.msg : "invalid data") + " near byte " +
           std::to_string(file_bytes_read()) + " of the file)");
    } else if (ret == Z_MEM_ERROR) {
      fail("out of memory while decompressing gzip data");
    }
    // Z_OK, or Z_BUF_ERROR (nothing to do until more input comes): go on.
  }
  return want - zs.avail_out;
}

}  // namespace ftmamba::io
