// defines: ftmamba_test::error_message<E = ftmamba::Error>(f), which runs f, expects it to throw E, and returns
// the message after checking that it is one line (no line feed, no carriage return), as every error ftmamba prints
// must be; and EXPECT_CONTAINS.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "ftmamba/core/error.h"

namespace ftmamba_test {

template <class E = ftmamba::Error>
std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message spans lines: " << msg;
    EXPECT_EQ(msg.find('\r'), std::string::npos) << "message has a CR: " << msg;
    return msg;
  }
  ADD_FAILURE() << "nothing was thrown";
  return "";
}

}  // namespace ftmamba_test

// EXPECT_CONTAINS(haystack, needle): the text holds the fragment; the failure shows both.
#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (needle) << "' not in: " << (haystack)
