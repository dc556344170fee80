// defines: the byte-level helpers of the CSV code: the UTF-8 check of CsvStream, and the wording shared by
// its messages and those of csv.cpp (hex bytes, header lists).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ftmamba::data::csv_detail {

// Length of the well-formed UTF-8 sequence at p (Unicode Table 3-7) given `avail` readable bytes; 0 with
// `why` set when it is malformed (stray continuation byte, overlong form, surrogate, above U+10FFFF); -1
// when the bytes end inside a sequence that is well-formed so far (a stream reads more; at the end of
// the data it is a truncated sequence).
int utf8_sequence_length(const unsigned char* p, size_t avail, const char*& why);

// "0xAB".
std::string hex_byte(unsigned char b);

// "a, b, c", for messages that list a header.
std::string join_names(const std::vector<std::string>& names);

}  // namespace ftmamba::data::csv_detail
