// defines: sha256_file and sha256_bytes (see sha256.h).
#include "ftmamba/io/sha256.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "ftmamba/core/error.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::io {
namespace fs = std::filesystem;
namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

DigestContext start_sha256() {
  DigestContext ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw Error("SHA-256: cannot initialise");
  return ctx;
}

std::string finish_hex(EVP_MD_CTX* ctx) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest.data(), &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

}  // namespace

std::string sha256_bytes(std::string_view bytes) {
  auto ctx = start_sha256();
  EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
  return finish_hex(ctx.get());
}

std::string sha256_file(const fs::path& file) {
  // A FIFO would block the open and a device (/dev/zero) would be read forever: refused by name instead.
  struct Fd {
    int fd;
    ~Fd() { ::close(fd); }
  } in{open_regular_file(file)};
  auto ctx = start_sha256();
  std::array<char, 1 << 16> buf;
  for (;;) {
    const ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(file.string() + ": read error: " + errno_text());
    }
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  return finish_hex(ctx.get());
}

}  // namespace ftmamba::io
