// 5-field cron schedules (minute hour day-of-month month day-of-week, UTC), as SGCluster backups use.
#pragma once

#include <bitset>
#include <string_view>

#include "common/error.h"

namespace pgstack::model {

struct CronSchedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1..31
  std::bitset<13> months;         // 1..12
  std::bitset<7> days_of_week;    // 0..6, Sunday = 0 (7 accepted as Sunday)
  bool day_of_month_restricted = false;
  bool day_of_week_restricted = false;
};

// Accepts *, lists (1,2), ranges (1-5), steps (*/15, 0-30/5), month and weekday names (jan, mon) and
// the macros @hourly @daily @midnight @weekly @monthly @yearly @annually.
Result<CronSchedule> parse_cron(std::string_view expression);

}  // namespace pgstack::model
