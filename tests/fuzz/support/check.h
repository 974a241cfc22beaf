// FUZZ_CHECK: a property a fuzz target asserts about the code under test.
//
// A failed check prints what was expected and aborts, so libFuzzer (and the corpus replay
// under CTest) reports it like any other crash and saves the input. It is never compiled
// out: a fuzz target that stopped checking would only look for memory errors.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, ...)                                                          \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__,   \
                   #cond, fmt::format(__VA_ARGS__).c_str());                           \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
