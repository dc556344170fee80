// defines: the byte-level alphabet of GPT-2's BPE (used by GPT-NeoX and the Mamba checkpoints): every byte is
// spelled by one printable character, so that a vocabulary of strings covers any byte sequence. Bytes 33-126,
// 161-172 and 174-255 stand for themselves (as code points); the other 68 are spelled U+0100 onwards, in order.
#pragma once
#include <string>
#include <string_view>

namespace ftmamba::lm {

// `bytes`, each byte replaced by its character (UTF-8), appended to `out`.
void append_byte_level(std::string_view bytes, std::string& out);

// The bytes a byte-level token spells, appended to `out`; false (and `out` unchanged) when a character of `token`
// is outside the alphabet (an added token such as a run of spaces, which stands for its own UTF-8).
bool append_bytes_of_token(std::string_view token, std::string& out);

}  // namespace ftmamba::lm
