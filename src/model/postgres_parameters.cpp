// Value checks mirror Postgres 15's guc.c (parse_bool, parse_int, parse_real, convert_to_base_unit,
// config_enum_lookup_by_name) so that what we accept is what the server accepts, byte for byte.
#include "model/postgres_parameters.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <locale.h>
#include <set>

#include <fmt/format.h>

#include "common/strings.h"

namespace pgstack::model {
namespace {

enum class UnitKind { kNone, kMemory, kTime };

struct UnitConversion {
  std::string_view unit;
  double multiplier;  // how many of the parameter's unit one of `unit` is
};

// The parameter's unit and the units a value may be written in, largest first as in guc.c (the
// order matters: a fractional value is rounded to the next smaller unit).
struct BaseUnit {
  UnitKind kind = UnitKind::kNone;
  std::vector<UnitConversion> conversions;
};

constexpr std::string_view kMemoryUnitsHint = "B, kB, MB, GB or TB";
constexpr std::string_view kTimeUnitsHint = "us, ms, s, min, h or d";

// pg_settings.unit is "B", "kB", "MB", "8kB" (pages), "ms", "s" or "min".
BaseUnit base_unit_of(std::string_view unit) {
  struct Named {
    std::string_view name;
    double size;
  };
  static constexpr Named kMemory[] = {{"TB", 0x1p40}, {"GB", 0x1p30}, {"MB", 0x1p20}, {"kB", 0x1p10}, {"B", 1.0}};
  static constexpr Named kTime[] = {{"d", 86400e6}, {"h", 3600e6}, {"min", 60e6}, {"s", 1e6}, {"ms", 1e3}, {"us", 1.0}};

  BaseUnit base;
  if (unit.empty()) return base;
  for (const auto& time : kTime) {
    if (time.name != unit) continue;
    base.kind = UnitKind::kTime;
    // Exact ratios divided once give the same doubles as guc.c's constants (e.g. 1.0 / 60).
    for (const auto& other : kTime) base.conversions.push_back({other.name, other.size / time.size});
    return base;
  }
  // Memory units may carry a count: "8kB" is a page of 8192 bytes.
  std::size_t digits = 0;
  while (digits < unit.size() && unit[digits] >= '0' && unit[digits] <= '9') ++digits;
  double count = 1;
  if (digits > 0) {
    if (digits > 9) return base;
    count = std::stod(std::string(unit.substr(0, digits)));
    if (count == 0) return base;
  }
  for (const auto& memory : kMemory) {
    if (memory.name != unit.substr(digits)) continue;
    base.kind = UnitKind::kMemory;
    const double size = count * memory.size;
    for (const auto& other : kMemory) base.conversions.push_back({other.name, other.size / size});
    return base;
  }
  return base;
}

// Postgres always parses numbers in the C locale ("1.5", never "1,5"), whatever the process locale is.
double parse_c_double(const char* text, char** end) {
  static const locale_t locale = ::newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  if (locale == static_cast<locale_t>(nullptr)) return std::strtod(text, end);
  return ::strtod_l(text, end, locale);
}

bool is_c_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// guc.c's convert_to_base_unit: at most 3 unit characters, then only whitespace.
std::optional<double> convert_to_base_unit(double value, const char* unit, const BaseUnit& base) {
  constexpr std::size_t kMaxUnitLength = 3;
  std::string unit_text;
  while (*unit != '\0' && !is_c_space(*unit) && unit_text.size() < kMaxUnitLength) unit_text.push_back(*unit++);
  while (is_c_space(*unit)) ++unit;
  if (*unit != '\0') return std::nullopt;
  for (std::size_t i = 0; i < base.conversions.size(); ++i) {
    if (base.conversions[i].unit != unit_text) continue;
    double converted = value * base.conversions[i].multiplier;
    // "30.1GB" is rounded to a whole number of the next smaller unit.
    if (i + 1 < base.conversions.size()) {
      const double next = base.conversions[i + 1].multiplier;
      converted = std::rint(converted / next) * next;
    }
    return converted;
  }
  return std::nullopt;
}

enum class NumberOutcome { kOk, kSyntax, kUnitNotAllowed, kBadUnit, kOutOfIntegerRange };

struct ParsedNumber {
  NumberOutcome outcome = NumberOutcome::kSyntax;
  double value = 0;  // in the parameter's unit
  bool had_unit = false;
};

// guc.c's parse_int (integer == true) and parse_real.
ParsedNumber parse_number(std::string_view text, const BaseUnit& base, bool integer) {
  ParsedNumber parsed;
  if (text.find('\0') != std::string_view::npos) return parsed;
  const std::string value(text);
  const char* begin = value.c_str();
  char* end = nullptr;
  double number = 0;
  errno = 0;
  if (integer) {
    // Integers allow hex and octal; "1.5" and "1e3" are re-read as floating point and rounded.
    number = static_cast<double>(std::strtol(begin, &end, 0));
    if (*end == '.' || *end == 'e' || *end == 'E' || errno == ERANGE) {
      errno = 0;
      number = parse_c_double(begin, &end);
    }
  } else {
    number = parse_c_double(begin, &end);
  }
  if (end == begin || errno == ERANGE || std::isnan(number)) return parsed;
  while (is_c_space(*end)) ++end;
  if (*end != '\0') {
    if (base.kind == UnitKind::kNone) {
      parsed.outcome = NumberOutcome::kUnitNotAllowed;
      return parsed;
    }
    const auto converted = convert_to_base_unit(number, end, base);
    if (!converted) {
      parsed.outcome = NumberOutcome::kBadUnit;
      return parsed;
    }
    number = *converted;
    parsed.had_unit = true;
  }
  if (integer) {
    number = std::rint(number);
    if (number > INT_MAX || number < INT_MIN) {
      parsed.outcome = NumberOutcome::kOutOfIntegerRange;
      return parsed;
    }
  }
  parsed.outcome = NumberOutcome::kOk;
  parsed.value = number;
  return parsed;
}

std::string format_number(double number) {
  if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 1e15)
    return fmt::format("{}", static_cast<std::int64_t>(number));
  return fmt::format("{}", number);
}

// JSON string quoting: shows spaces, quotes and control characters exactly as given.
std::string quote(std::string_view value) {
  return nlohmann::json(std::string(value)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool has_lower_bound(const ParameterSpec& spec) {
  return spec.min_value && *spec.min_value > std::numeric_limits<double>::lowest();
}
bool has_upper_bound(const ParameterSpec& spec) {
  return spec.max_value && *spec.max_value < std::numeric_limits<double>::max();
}

std::string expected_number(const ParameterSpec& spec, const BaseUnit& base) {
  const bool integer = spec.type == ParameterType::kInteger;
  std::string text = integer ? "an integer" : "a number";
  if (has_lower_bound(spec) && has_upper_bound(spec)) {
    text += fmt::format(" between {} and {}", format_number(*spec.min_value), format_number(*spec.max_value));
  } else if (has_lower_bound(spec)) {
    text += fmt::format(" of at least {}", format_number(*spec.min_value));
  } else if (has_upper_bound(spec)) {
    text += fmt::format(" of at most {}", format_number(*spec.max_value));
  }
  if (base.kind != UnitKind::kNone) {
    text += fmt::format(" (in units of {}), optionally with a unit of {}", spec.unit,
                        base.kind == UnitKind::kMemory ? kMemoryUnitsHint : kTimeUnitsHint);
  }
  return text;
}

// Enum values that guc.c accepts but hides from pg_settings.enumvals, found by the shape of the
// visible list so that they also apply to extensions that reuse the same option tables.
std::vector<std::string_view> hidden_enum_values(const ParameterSpec& spec) {
  const auto has = [&](std::string_view wanted) {
    for (const auto& value : spec.enum_values) {
      if (to_lower(value) == wanted) return true;
    }
    return false;
  };
  std::vector<std::string_view> hidden;
  // Every enum that offers on/off (synchronous_commit, huge_pages, archive_mode, ...) also takes
  // the other boolean spellings.
  if (has("on") && has("off")) hidden.insert(hidden.end(), {"true", "false", "yes", "no", "1", "0"});
  // The message-level tables accept "debug" for debug2; the client one also hides "info".
  if (has("debug1")) hidden.emplace_back("debug");
  if (has("debug1") && has("log") && !has("info")) hidden.emplace_back("info");
  // wal_level keeps the names it had before 9.6.
  if (spec.name == "wal_level" && has("replica")) hidden.insert(hidden.end(), {"archive", "hot_standby"});
  return hidden;
}

// pg_strcasecmp: ASCII letters only are folded.
bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

// Checks a numeric value fully (syntax, unit, range); on success gives the value in the parameter's unit.
Result<double> check_number(const ParameterSpec& spec, std::string_view value) {
  const BaseUnit base = base_unit_of(spec.unit);
  const ParsedNumber parsed = parse_number(value, base, spec.type == ParameterType::kInteger);
  const std::string expected = expected_number(spec, base);
  const auto failure = [&](std::string_view detail) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("expected {}, got {}{}", expected, quote(value), detail));
  };
  switch (parsed.outcome) {
    case NumberOutcome::kOk: break;
    case NumberOutcome::kSyntax:
    case NumberOutcome::kBadUnit: return failure("");
    case NumberOutcome::kUnitNotAllowed: return failure(" (this parameter takes no unit)");
    case NumberOutcome::kOutOfIntegerRange: return failure(" (beyond the integer range)");
  }
  if ((spec.min_value && parsed.value < *spec.min_value) || (spec.max_value && parsed.value > *spec.max_value)) {
    if (parsed.had_unit) return failure(fmt::format(" ({} in units of {})", format_number(parsed.value), spec.unit));
    return failure("");
  }
  return parsed.value;
}

}  // namespace

std::string_view parameter_type_name(ParameterType type) {
  switch (type) {
    case ParameterType::kBool: return "bool";
    case ParameterType::kInteger: return "integer";
    case ParameterType::kReal: return "real";
    case ParameterType::kString: return "string";
    case ParameterType::kEnum: return "enum";
  }
  return "string";
}

std::optional<bool> parse_postgres_bool(std::string_view value) {
  if (value.empty() || value.find('\0') != std::string_view::npos) return std::nullopt;
  // pg_strncasecmp(value, word, length) over C strings: a prefix of `word` of at least `length` characters.
  const auto matches = [&](std::string_view word, std::size_t length) {
    for (std::size_t i = 0; i < length; ++i) {
      const char a = i < value.size() ? value[i] : '\0';
      const char b = i < word.size() ? word[i] : '\0';
      const auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
      if (fold(a) != fold(b)) return false;
      if (a == '\0') return true;
    }
    return true;
  };
  const std::size_t length = value.size();
  switch (value[0]) {
    case 't':
    case 'T':
      if (matches("true", length)) return true;
      break;
    case 'f':
    case 'F':
      if (matches("false", length)) return false;
      break;
    case 'y':
    case 'Y':
      if (matches("yes", length)) return true;
      break;
    case 'n':
    case 'N':
      if (matches("no", length)) return false;
      break;
    case 'o':
    case 'O':
      // A lone "o" could be on or off; "of" is already off.
      if (matches("on", std::max<std::size_t>(length, 2))) return true;
      if (matches("off", std::max<std::size_t>(length, 2))) return false;
      break;
    case '1':
      if (length == 1) return true;
      break;
    case '0':
      if (length == 1) return false;
      break;
    default: break;
  }
  return std::nullopt;
}

std::optional<std::string> check_parameter_value(const ParameterSpec& spec, std::string_view value) {
  switch (spec.type) {
    case ParameterType::kBool:
      if (parse_postgres_bool(value)) return std::nullopt;
      return fmt::format("expected a boolean (on/off, true/false, yes/no, 1/0), got {}", quote(value));
    case ParameterType::kInteger:
    case ParameterType::kReal: {
      const auto checked = check_number(spec, value);
      if (checked) return std::nullopt;
      return checked.error().message;
    }
    case ParameterType::kEnum: {
      if (value.find('\0') == std::string_view::npos) {
        for (const auto& allowed : spec.enum_values) {
          if (equals_ignoring_ascii_case(value, allowed)) return std::nullopt;
        }
        for (const auto allowed : hidden_enum_values(spec)) {
          if (equals_ignoring_ascii_case(value, allowed)) return std::nullopt;
        }
      }
      std::string listed;
      for (const auto& allowed : spec.enum_values) {
        if (!listed.empty()) listed += ", ";
        listed += allowed.empty() ? "\"\"" : allowed;
      }
      std::string message = fmt::format("expected one of {}, got {}", listed, quote(value));
      // An empty value is never a plausible correction of a typo.
      std::vector<std::string> candidates;
      for (const auto& allowed : spec.enum_values) {
        if (!allowed.empty()) candidates.push_back(allowed);
      }
      if (const auto suggestion = closest_match(value, candidates))
        message += fmt::format(" (did you mean \"{}\"?)", *suggestion);
      return message;
    }
    case ParameterType::kString:
      // Postgres stores values as C strings.
      if (value.find('\0') != std::string_view::npos)
        return fmt::format("expected a string without NUL characters, got {}", quote(value));
      return std::nullopt;
  }
  return std::nullopt;
}

Result<double> parameter_value_in_base_unit(const ParameterSpec& spec, std::string_view value) {
  if (spec.type != ParameterType::kInteger && spec.type != ParameterType::kReal) {
    return make_error(ErrorCode::kInvalidInput, fmt::format("parameter {} is of type {}, not a number", spec.name,
                                                            parameter_type_name(spec.type)));
  }
  return check_number(spec, value);
}

ParameterCatalog::ParameterCatalog(int major_version, std::string server_version, std::vector<ParameterSpec> parameters)
    : major_version_(major_version), server_version_(std::move(server_version)) {
  for (auto& parameter : parameters) {
    std::string key = to_lower(parameter.name);
    parameters_.insert_or_assign(std::move(key), std::move(parameter));
  }
}

const ParameterSpec* ParameterCatalog::find(std::string_view name) const {
  const auto found = parameters_.find(to_lower(name));
  return found == parameters_.end() ? nullptr : &found->second;
}

std::vector<std::string> ParameterCatalog::names() const {
  std::vector<std::string> names;
  names.reserve(parameters_.size());
  for (const auto& [key, parameter] : parameters_) names.push_back(parameter.name);
  return names;
}

nlohmann::json ParameterCatalog::to_json() const {
  nlohmann::json parameters = nlohmann::json::array();
  for (const auto& [key, parameter] : parameters_) {
    nlohmann::json entry = {
        {"name", parameter.name},
        {"type", parameter_type_name(parameter.type)},
        {"context", parameter.context},
        {"unit", parameter.unit},
        {"min", parameter.min_value ? nlohmann::json(*parameter.min_value) : nlohmann::json(nullptr)},
        {"max", parameter.max_value ? nlohmann::json(*parameter.max_value) : nlohmann::json(nullptr)},
        {"enum_values", parameter.enum_values},
        {"default", parameter.default_value},
        {"description", parameter.short_description},
    };
    parameters.push_back(std::move(entry));
  }
  return {
      {"major_version", major_version_}, {"server_version", server_version_}, {"parameters", std::move(parameters)}};
}

namespace {

Error catalog_error(std::string_view where, std::string_view what) {
  return make_error(ErrorCode::kInvalidInput, fmt::format("parameter catalogue: {}: {}", where, what));
}

// "parameters[3] (work_mem).unit", or just "server_version" at the top level.
std::string member_path(std::string_view where, const char* key) {
  return where.empty() ? std::string(key) : fmt::format("{}.{}", where, key);
}

std::string json_kind(const nlohmann::json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_null()) return "null";
  if (value.is_array()) return "an array";
  return "an object";
}

// A string member; absent or null gives `fallback` unless it is required.
std::optional<Error> read_string(const nlohmann::json& object, std::string_view where, const char* key, bool required,
                                 std::string& out) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) {
    if (required) return catalog_error(member_path(where, key), "missing (expected a string)");
    out.clear();
    return std::nullopt;
  }
  if (!found->is_string()) return catalog_error(member_path(where, key), "expected a string, got " + json_kind(*found));
  out = found->get<std::string>();
  return std::nullopt;
}

std::optional<Error> read_bound(const nlohmann::json& object, std::string_view where, const char* key,
                                std::optional<double>& out) {
  const auto found = object.find(key);
  out.reset();
  if (found == object.end() || found->is_null()) return std::nullopt;
  if (!found->is_number())
    return catalog_error(member_path(where, key), "expected a number or null, got " + json_kind(*found));
  out = found->get<double>();
  return std::nullopt;
}

}  // namespace

Result<ParameterCatalog> ParameterCatalog::from_json(const nlohmann::json& json) {
  if (!json.is_object()) return catalog_error("top level", "expected an object, got " + json_kind(json));

  const auto major = json.find("major_version");
  if (major == json.end()) return catalog_error("major_version", "missing (expected an integer)");
  if (!major->is_number_integer() && !major->is_number_unsigned())
    return catalog_error("major_version", "expected an integer, got " + json_kind(*major));
  const auto major_value = major->get<std::int64_t>();
  if (major_value < 1 || major_value > 1000)
    return catalog_error("major_version", fmt::format("expected a Postgres major version, got {}", major_value));

  std::string server_version;
  if (auto error = read_string(json, "", "server_version", true, server_version)) return *error;

  const auto parameters = json.find("parameters");
  if (parameters == json.end()) return catalog_error("parameters", "missing (expected an array)");
  if (!parameters->is_array()) return catalog_error("parameters", "expected an array, got " + json_kind(*parameters));

  std::vector<ParameterSpec> specs;
  std::set<std::string, std::less<>> seen;
  for (std::size_t i = 0; i < parameters->size(); ++i) {
    const auto& entry = (*parameters)[i];
    std::string where = fmt::format("parameters[{}]", i);
    if (!entry.is_object()) return catalog_error(where, "expected an object, got " + json_kind(entry));

    ParameterSpec spec;
    if (auto error = read_string(entry, where, "name", true, spec.name)) return *error;
    if (spec.name.empty()) return catalog_error(where + ".name", "must not be empty");
    where = fmt::format("parameters[{}] ({})", i, spec.name);
    if (!seen.insert(to_lower(spec.name)).second) return catalog_error(where, "listed twice");

    std::string type;
    if (auto error = read_string(entry, where, "type", true, type)) return *error;
    static constexpr ParameterType kTypes[] = {ParameterType::kBool, ParameterType::kInteger, ParameterType::kReal,
                                               ParameterType::kString, ParameterType::kEnum};
    bool known = false;
    for (const auto candidate : kTypes) {
      if (parameter_type_name(candidate) == type) spec.type = candidate, known = true;
    }
    if (!known)
      return catalog_error(where + ".type",
                           fmt::format("expected one of bool, integer, real, string, enum, got {}", quote(type)));

    if (auto error = read_string(entry, where, "context", false, spec.context)) return *error;
    if (auto error = read_string(entry, where, "unit", false, spec.unit)) return *error;
    if (auto error = read_bound(entry, where, "min", spec.min_value)) return *error;
    if (auto error = read_bound(entry, where, "max", spec.max_value)) return *error;
    if (spec.min_value && spec.max_value && *spec.min_value > *spec.max_value)
      return catalog_error(
          where, fmt::format("min {} is above max {}", format_number(*spec.min_value), format_number(*spec.max_value)));

    if (const auto values = entry.find("enum_values"); values != entry.end() && !values->is_null()) {
      if (!values->is_array())
        return catalog_error(where + ".enum_values", "expected an array of strings, got " + json_kind(*values));
      for (std::size_t j = 0; j < values->size(); ++j) {
        if (!(*values)[j].is_string())
          return catalog_error(fmt::format("{}.enum_values[{}]", where, j),
                               "expected a string, got " + json_kind((*values)[j]));
        spec.enum_values.push_back((*values)[j].get<std::string>());
      }
    }
    if (spec.type == ParameterType::kEnum && spec.enum_values.empty())
      return catalog_error(where + ".enum_values", "an enum parameter needs at least one value");

    if (auto error = read_string(entry, where, "default", false, spec.default_value)) return *error;
    if (auto error = read_string(entry, where, "description", false, spec.short_description)) return *error;
    specs.push_back(std::move(spec));
  }
  return ParameterCatalog(static_cast<int>(major_value), std::move(server_version), std::move(specs));
}

}  // namespace pgstack::model
