// Tests the safetensors writer/reader round trip, error handling, and that an independent reader
// (Python + numpy following the format's specification) reads our files with the names we wrote.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/io/sha256.h"

namespace fs = std::filesystem;

static fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("ftmamba_st_" + std::to_string(::getpid()) + "_" + name);
}

TEST(Safetensors, RoundTripEveryDtype) {
  torch::manual_seed(0);
  ftmamba::io::NamedTensors in = {
      {"a.weight", torch::randn({3, 5})},
      {"b", torch::randn({7}, torch::kFloat64)},
      {"c", torch::randint(0, 100, {2, 2, 2}, torch::kInt64)},
      {"d", torch::randn({4}).to(torch::kBFloat16)},
      {"e", torch::randn({0, 3})},
      {"f", torch::randn({4, 6}).t()},  // non-contiguous input
  };
  auto path = temp_file("rt.safetensors");
  ftmamba::io::save_safetensors(path, in, {{"k", "v"}});
  std::map<std::string, std::string> meta;
  auto out = ftmamba::io::load_safetensors(path, &meta);
  EXPECT_EQ(meta.at("k"), "v");
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [name, t] : in) {
    ASSERT_TRUE(out.count(name)) << name;
    EXPECT_EQ(out[name].scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(out[name].equal(t)) << name;
  }
}

TEST(Safetensors, TruncatedFileIsAnError) {
  auto path = temp_file("bad.safetensors");
  ftmamba::io::save_safetensors(path, {{"x", torch::ones({100})}});
  fs::resize_file(path, fs::file_size(path) - 10);
  EXPECT_THROW(ftmamba::io::load_safetensors(path), ftmamba::Error);
  std::ofstream(path) << "xx";
  EXPECT_THROW(ftmamba::io::load_safetensors(path), ftmamba::Error);
}

TEST(Safetensors, IndependentPythonReaderAgrees) {
  // Debian's interpreter, which `make test` gives numpy; a python3 earlier on PATH may lack it.
  const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (std::system((python + " -c 'import numpy' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << python << " with numpy not available";
  auto path = temp_file("py.safetensors");
  auto w = torch::arange(12, torch::kFloat32).view({3, 4}) / 7;
  ftmamba::io::save_safetensors(path,
                                {{"layers.0.mixer.in_proj.weight", w}, {"ids", torch::tensor({5, 6}, torch::kInt64)}});
  const std::string cmd = python + " " + FTMAMBA_SOURCE_DIR + "/scripts/read_safetensors.py " + path.string() + " > " +
                          path.string() + ".txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream txt(path.string() + ".txt");
  std::string line, all;
  while (std::getline(txt, line)) all += line + "\n";
  // name dtype shape sum
  EXPECT_NE(all.find("layers.0.mixer.in_proj.weight F32 [3, 4] " + std::to_string(66.0 / 7).substr(0, 6)),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("ids I64 [2] 11"), std::string::npos) << all;
}

namespace {

// Writes a safetensors file from a header given as JSON text and `data_bytes` zero bytes of data.
fs::path crafted(const std::string& name, const std::string& header, size_t data_bytes) {
  const auto path = temp_file(name);
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header + std::string(data_bytes, '\0');
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string load_error(const fs::path& path) {
  try {
    ftmamba::io::load_safetensors(path);
  } catch (const ftmamba::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << path << " loaded";
  return "";
}

}  // namespace

TEST(Safetensors, WellFormedCraftedFileLoads) {
  const auto p = crafted("ok.safetensors",
                         R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                         R"("b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]},)"
                         R"("e":{"dtype":"F32","shape":[0],"data_offsets":[16,16]}})",
                         24);
  const auto t = ftmamba::io::load_safetensors(p);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_TRUE(t.at("a").equal(torch::zeros({2, 2})));
}

// Every check of the header names the file and the tensor, and runs before anything is allocated (a shape
// of 2^62 elements would otherwise be a bad_alloc, not an Error).
TEST(Safetensors, HostileHeadersAreRefusedNamingFileAndTensor) {
  struct Case {
    const char* what;
    std::string header;
    size_t data;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"unknown dtype", R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4,
       "tensor 'w': unsupported safetensors dtype 'F7'"},
      {"negative shape", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4,
       "tensor 'w': shape [-1] has a negative"},
      {"overflowing shape", R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4,
       "tensor 'w': shape [4294967296,4294967296] of F32 needs more bytes"},
      {"huge shape", R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8,
       "tensor 'w': shape"},
      {"offsets past the data", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 4,
       "tensor 'w': data_offsets [4,8] lie outside"},
      {"reversed offsets", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4,
       "tensor 'w': data_offsets [4,0] lie outside"},
      {"negative offsets", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4,
       "tensor 'w': data_offsets must be two non-negative integers"},
      {"length differs from the dtype", R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}})", 8,
       "tensor 'w': data_offsets [0,4] span 4 bytes, but shape [1] of F64 needs 8"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "tensor 'b' data_offsets [4, 12) overlap tensor 'a' [0, 8)"},
      {"same bytes twice",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
       8, "overlap tensor"},
      {"missing key", R"({"w":{"dtype":"F32","shape":[1]}})", 4, "tensor 'w': malformed entry: no \"data_offsets\""},
      {"string shape", R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4, "tensor 'w': shape must be"},
      {"not an object", R"([1,2])", 0, "malformed safetensors header: not a JSON object"},
      {"invalid JSON", R"({"w":)", 0, "malformed safetensors header"},
  };
  for (const auto& c : cases) {
    const auto p = crafted("hostile.safetensors", c.header, c.data);
    const std::string msg = load_error(p);
    EXPECT_CONTAINS(msg, p.string() + ": ") << c.what;
    EXPECT_CONTAINS(msg, c.expected) << c.what;
  }
}

TEST(Safetensors, HeaderSizeMustFitTheFileAndTheLimit) {
  auto p = temp_file("hsize.safetensors");
  std::string bytes(8, '\0');
  bytes[7] = 0x7f;  // ~9e18 bytes of header
  std::ofstream(p, std::ios::binary) << bytes << "{}";
  EXPECT_CONTAINS(load_error(p), "exceeds the limit of 100000000 bytes");
  bytes.assign(8, '\0');
  bytes[0] = 100;  // 100 bytes claimed, 2 present
  std::ofstream(p, std::ios::binary) << bytes << "{}";
  EXPECT_CONTAINS(load_error(p), p.string() + ": truncated safetensors file (the header claims 100 bytes");
}

TEST(Safetensors, OnlyRegularFilesAreRead) {
  const auto fifo = temp_file("fifo.safetensors");
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_CONTAINS(load_error(fifo), fifo.string() + ": is a FIFO, not a regular file");
  fs::remove(fifo);
  EXPECT_CONTAINS(load_error("/dev/zero"), "/dev/zero: is a character device");
}

// The weights' SHA-256 is read before the weights: a FIFO there once blocked eval and recommend for good, and
// /dev/zero would have been hashed without end.
TEST(Safetensors, TheHashReadsOnlyRegularFiles) {
  const auto fifo = temp_file("hash-fifo.safetensors");
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto hash_error = [](const fs::path& p) {
    try {
      ftmamba::io::sha256_file(p);
    } catch (const ftmamba::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_CONTAINS(hash_error(fifo), fifo.string() + ": is a FIFO, not a regular file");
  fs::remove(fifo);
  EXPECT_CONTAINS(hash_error("/dev/zero"), "/dev/zero: is a character device");
  const auto file = temp_file("hash.bin");
  std::ofstream(file, std::ios::binary) << "abc";
  EXPECT_EQ(ftmamba::io::sha256_file(file), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fs::remove(file);
}

// A file of the given JSON header and data bytes, written as the format lays it out.
static fs::path raw_safetensors(const std::string& name, const std::string& header, const std::string& data = "") {
  auto path = temp_file(name);
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  std::ofstream(path, std::ios::binary) << bytes << header << data;
  return path;
}

// Inputs the fuzz target (tests/fuzz/fuzz_safetensors.cpp) found ending in LibTorch's exception, nlohmann's, a huge
// allocation or a float cast out of range: each must be an Error naming the file.
TEST(Safetensors, HostileHeadersAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"negative_dim", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})"},
      {"overflow", R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})"},
      {"overflow_beside_zero", R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})"},
      {"huge", R"({"a":{"dtype":"F32","shape":[34359738368],"data_offsets":[0,0]}})"},
      {"float_dim", R"({"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,4]}})"},
      {"float_offset", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1e300]}})"},
      {"negative_offset", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})"},
      {"metadata_number", R"({"__metadata__":{"x":1}})"},
      {"metadata_array", R"({"__metadata__":[1,2]})"},
      {"header_array", R"([1,2])"},
  };
  for (const auto& [name, header] : cases) {
    const auto path = raw_safetensors(name + ".safetensors", header, std::string(4, '\0'));
    try {
      ftmamba::io::load_safetensors(path);
      ADD_FAILURE() << name << ": loaded";
    } catch (const ftmamba::Error& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << name << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << ": not an ftmamba::Error: " << e.what();
    }
    fs::remove(path);
  }
}
