#include <gtest/gtest.h>

#include "model/cron.h"
#include "model/quantity.h"

namespace pgstack::model {
namespace {

TEST(Quantity, Cpu) {
  EXPECT_EQ(parse_cpu_millicores("4").value(), 4000);
  EXPECT_EQ(parse_cpu_millicores("500m").value(), 500);
  EXPECT_EQ(parse_cpu_millicores("1.5").value(), 1500);
  for (const char* bad : {"", "m", "4 cores", "-1", "0", "0.0001", "1.5m", "abc"}) {
    EXPECT_FALSE(parse_cpu_millicores(bad).ok()) << bad;
  }
}

TEST(Quantity, Memory) {
  EXPECT_EQ(parse_memory_bytes("2Gi").value(), 2LL << 30);
  EXPECT_EQ(parse_memory_bytes("512Mi").value(), 512LL << 20);
  EXPECT_EQ(parse_memory_bytes("2G").value(), 2000000000LL);
  EXPECT_EQ(parse_memory_bytes("1.5Gi").value(), 3LL << 29);
  EXPECT_EQ(parse_memory_bytes("1024").value(), 1024);
  // Fractions of a byte are rounded up, as Kubernetes rounds a quantity's value.
  EXPECT_EQ(parse_memory_bytes("1.8Ti").value(), 1979120929997LL);
  EXPECT_EQ(parse_memory_bytes("0.5").value(), 1);
  EXPECT_EQ(parse_memory_bytes("2.5Mi").value(), 2621440);
  for (const char* bad : {"", "5Gb", "5 Gi", "Gi", "-1Gi", "0", "0.0", "99999999Ei"}) {
    EXPECT_FALSE(parse_memory_bytes(bad).ok()) << bad;
  }
  EXPECT_EQ(format_memory_bytes(16LL << 30), "16Gi");
  EXPECT_EQ(format_memory_bytes(1536LL << 20), "1536Mi");
  EXPECT_EQ(format_memory_bytes(1000), "1000");
}

TEST(Cron, ParsesFieldsRangesStepsAndNames) {
  const auto daily = parse_cron("0 3 * * *");
  ASSERT_TRUE(daily.ok());
  EXPECT_TRUE(daily->minutes.test(0));
  EXPECT_EQ(daily->minutes.count(), 1u);
  EXPECT_TRUE(daily->hours.test(3));
  EXPECT_EQ(daily->days_of_week.count(), 7u);
  EXPECT_FALSE(daily->day_of_month_restricted);

  const auto every = parse_cron("*/15 9-17 1,15 jan-mar mon-fri");
  ASSERT_TRUE(every.ok());
  EXPECT_EQ(every->minutes.count(), 4u);
  EXPECT_EQ(every->hours.count(), 9u);
  EXPECT_EQ(every->days_of_month.count(), 2u);
  EXPECT_EQ(every->months.count(), 3u);
  EXPECT_TRUE(every->days_of_week.test(1));
  EXPECT_FALSE(every->days_of_week.test(0));

  EXPECT_TRUE(parse_cron("0 0 * * 7")->days_of_week.test(0));  // 7 is Sunday
  EXPECT_TRUE(parse_cron("@daily").ok());
}

TEST(Cron, RejectsBadSchedules) {
  for (const char* bad : {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *",
                          "5-1 * * * *", "a b c d e", "* * * * * *"}) {
    const auto parsed = parse_cron(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("expected a 5-field cron schedule"), std::string::npos);
  }
}

TEST(Cron, HostileSchedulesGiveShortClearErrors) {
  for (const std::string bad : {"*/0 * * * *", "99999999999999999999 * * * *", "0-59/99999999999 * * * *",
                                "1-2-3 * * * *", "-1 * * * *", "* * * * mon-", "0 0 * * 8"}) {
    const auto parsed = parse_cron(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("expected a 5-field cron schedule"), std::string::npos);
  }
  // Steps as large as an int reaches set the first value alone, without overflowing.
  const auto once = parse_cron("59/2147483647 23/2147483647 31/2147483647 12/2147483647 6/2147483647");
  ASSERT_TRUE(once.ok()) << once.error().message;
  EXPECT_EQ(once->minutes.count(), 1u);
  EXPECT_TRUE(once->minutes.test(59));
  EXPECT_TRUE(once->days_of_week.test(6));
  EXPECT_TRUE(parse_cron("0-59/59 * * * *")->minutes.test(59));

  const std::string many(100000, '*');
  for (const std::string& huge : {many, std::string(50000, ' ') + "* * * * *", [] {
                                    std::string fields;
                                    for (int i = 0; i < 10000; ++i) fields += "* ";
                                    return fields;
                                  }()}) {
    const auto parsed = parse_cron(huge);
    ASSERT_FALSE(parsed.ok());
    EXPECT_LT(parsed.error().message.size(), 300u) << parsed.error().message;
  }
  const auto long_item = parse_cron(std::string(200, '9') + " * * * *");
  ASSERT_FALSE(long_item.ok());
  EXPECT_LT(long_item.error().message.size(), 400u);
  // A cut never splits a UTF-8 character.
  const auto accented = parse_cron(std::string(79, 'a') + "\xC3\xA9" + std::string(300, 'b'));
  ASSERT_FALSE(accented.ok());
  EXPECT_NE(accented.error().message.find(std::string(79, 'a') + "..."), std::string::npos);
}

}  // namespace
}  // namespace pgstack::model
