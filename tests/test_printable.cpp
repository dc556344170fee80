// Tests printable, the one escaping of input text in messages: control characters (C0, DEL, C1) and bytes
// that are not UTF-8 become escapes; printable text and UTF-8 stay as they are; escaping twice changes nothing.
#include <gtest/gtest.h>

#include <string>

#include "ftmamba/core/error.h"
#include "ftmamba/core/printable.h"

using ftmamba::printable;

TEST(Printable, EscapesControlCharacters) {
  EXPECT_EQ(printable("a\x1b[31mb"), "a\\x1b[31mb");
  EXPECT_EQ(printable("line\r\nnext\ttab"), "line\\r\\nnext\\ttab");
  EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(printable("bell\x07 del\x7f"), "bell\\x07 del\\x7f");
  EXPECT_EQ(printable("csi\xc2\x9b"), "csi\\xc2\\x9b");  // U+009B, a C1 control
}

TEST(Printable, KeepsPrintableTextAndUtf8) {
  EXPECT_EQ(printable("users.csv:3:age: not a number"), "users.csv:3:age: not a number");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5");
  EXPECT_EQ(printable("C:\\path"), "C:\\path");
}

TEST(Printable, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("a\xff"), "a\\xff");
  EXPECT_EQ(printable("\xc3"), "\\xc3");                    // truncated sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(Printable, IsIdempotent) {
  const std::string once = printable("x\x1b\r\xff\xc2\x85y");
  EXPECT_EQ(printable(once), once);
}

TEST(Printable, DataErrorMessagesAreEscaped) {
  const ftmamba::DataError e("users.csv", 1, "\x1b[2Jname", "bad");
  EXPECT_STREQ(e.what(), "users.csv:1:\\x1b[2Jname: bad");
}
