#include "model/quantity.h"

#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace pgstack::model {
namespace {

// Splits "16Gi" into 16 and "Gi"; the number may have a fraction ("1.5").
bool split_number(std::string_view text, double& number, std::string_view& suffix) {
  std::size_t i = 0;
  bool digits = false;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, digits = true;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, digits = true;
  }
  if (!digits) return false;
  try {
    number = std::stod(std::string(text.substr(0, i)));
  } catch (...) {
    return false;
  }
  suffix = text.substr(i);
  return true;
}

}  // namespace

Result<std::int64_t> parse_cpu_millicores(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  if (!split_number(text, number, suffix) || (!suffix.empty() && suffix != "m"))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("expected a CPU quantity such as \"2\", \"1.5\" or \"500m\", got \"{}\"", text));
  const double millicores = suffix == "m" ? number : number * 1000.0;
  if (millicores < 1 || millicores > 1e9 || millicores != std::floor(millicores))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("expected a CPU quantity of at least 1m in whole millicores, got \"{}\"", text));
  return static_cast<std::int64_t>(millicores);
}

Result<std::int64_t> parse_memory_bytes(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  struct Unit {
    std::string_view suffix;
    double factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1.0},  {"Ki", 0x1p10}, {"Mi", 0x1p20}, {"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50}, {"Ei", 0x1p60},
      {"k", 1e3}, {"M", 1e6},     {"G", 1e9},     {"T", 1e12},    {"P", 1e15},    {"E", 1e18},
  };
  if (split_number(text, number, suffix)) {
    for (const auto& unit : kUnits) {
      if (unit.suffix != suffix) continue;
      // As Kubernetes does, a fraction of a byte is rounded up ("1.8Ti" is 1979120929997 bytes).
      const double bytes = std::ceil(number * unit.factor);
      if (bytes < 1 || bytes >= 0x1p63) break;
      return static_cast<std::int64_t>(bytes);
    }
  }
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("expected a memory quantity such as \"16Gi\", \"512Mi\" or \"2G\", got \"{}\"", text));
}

std::string format_memory_bytes(std::int64_t bytes) {
  static constexpr std::string_view kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  std::size_t index = 0;
  while (index + 1 < std::size(kSuffixes) && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++index;
  }
  return fmt::format("{}{}", bytes, kSuffixes[index]);
}

}  // namespace pgstack::model
