// defines: printable, the one escaping of text that came from input (a file, an argument) before it reaches
// a terminal or a log: control characters become visible escapes, so a column name holding ESC cannot drive
// the terminal.
#pragma once
#include <string>
#include <string_view>

namespace ftmamba {

// `text` with every C0 control character, DEL, C1 control character (U+0080..U+009F) and byte that is not part
// of valid UTF-8 escaped: \t \n \r by name, the others as \xNN (one per byte). Printable text, including UTF-8,
// is unchanged; a backslash is kept as it is, so escaping twice gives the same text as escaping once.
std::string printable(std::string_view text);

}  // namespace ftmamba
