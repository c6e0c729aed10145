#include "model/lsn.h"

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

TEST(Lsn, FormatsAsPostgresWritesIt) {
  EXPECT_EQ(format_lsn(0x3000148), "0/3000148");
  EXPECT_EQ(format_lsn((2ULL << 32) | 0xA0), "2/A0");
}

TEST(Lsn, ParsesWhatPostgresWritesAndNothingElse) {
  EXPECT_EQ(parse_lsn("0/3000148"), 0x3000148u);
  EXPECT_EQ(parse_lsn("16/b374d848"), 0x16B374D848u);
  EXPECT_EQ(parse_lsn(format_lsn(0xFFFFFFFFFFFFFFFFULL)), 0xFFFFFFFFFFFFFFFFULL);
  for (const char* bad : {"", "/", "0/", "/1", "3000148", "0/1/2", "0/x1", "123456789/0", "0/-1", " 0/1"})
    EXPECT_FALSE(parse_lsn(bad).has_value()) << bad;
}

}  // namespace
}  // namespace pgstack::model
