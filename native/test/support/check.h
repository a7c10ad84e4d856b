/*
 * Plain assertions for the C tests: a failed check prints file:line and what failed, then
 * exits the process with status 1 (each test is its own process, as in libuv's suite).
 */
#ifndef CONVENE_TEST_CHECK_H
#define CONVENE_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_FAIL_(...)                                   \
  do {                                                     \
    fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__);                          \
    fprintf(stderr, "\n");                                 \
    fflush(stderr);                                        \
    exit(1);                                               \
  } while (0)

#define CHECK(cond)                         \
  do {                                      \
    if (!(cond)) CHECK_FAIL_("%s", #cond);  \
  } while (0)

#define CHECK_EQ(expected, actual)                                                                       \
  do {                                                                                                   \
    long long e_ = (long long)(expected), a_ = (long long)(actual);                                      \
    if (e_ != a_) CHECK_FAIL_("%s == %s: expected %lld, got %lld", #expected, #actual, e_, a_);          \
  } while (0)

#define CHECK_STREQ(expected, actual)                                                                    \
  do {                                                                                                   \
    const char *e_ = (expected), *a_ = (actual);                                                         \
    if (!e_ || !a_ || strcmp(e_, a_) != 0)                                                               \
      CHECK_FAIL_("%s == %s: expected \"%s\", got \"%s\"", #expected, #actual, e_ ? e_ : "(null)",        \
                  a_ ? a_ : "(null)");                                                                   \
  } while (0)

#define CHECK_NULL(p) CHECK((p) == NULL)
#define CHECK_NOT_NULL(p) CHECK((p) != NULL)

#endif
