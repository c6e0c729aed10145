// The catalogue of a Postgres major version's parameters (from pg_settings) and value checks that
// accept exactly what Postgres accepts: booleans (on/off/true/1/yes...), integers and reals with
// units (128MB, 15min), enums, strings, each within its range.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pgstack::model {

enum class ParameterType { kBool, kInteger, kReal, kString, kEnum };

struct ParameterSpec {
  std::string name;  // lower case, as in pg_settings
  ParameterType type = ParameterType::kString;
  std::string context;              // postmaster, sighup, superuser, user, ...: tells if a change needs a restart
  std::string unit;                 // pg_settings.unit: "", "8kB", "kB", "MB", "ms", "s", "min", ...
  std::optional<double> min_value;  // in `unit`
  std::optional<double> max_value;
  std::vector<std::string> enum_values;
  std::string default_value;  // boot_val, in `unit`
  std::string short_description;
};

class ParameterCatalog {
 public:
  ParameterCatalog() = default;
  ParameterCatalog(int major_version, std::string server_version, std::vector<ParameterSpec> parameters);

  // The cached form written by host::load_parameter_catalog.
  static Result<ParameterCatalog> from_json(const nlohmann::json& json);
  nlohmann::json to_json() const;

  int major_version() const { return major_version_; }
  const std::string& server_version() const { return server_version_; }
  // Names are case-insensitive in Postgres.
  const ParameterSpec* find(std::string_view name) const;
  std::vector<std::string> names() const;
  std::size_t size() const { return parameters_.size(); }

 private:
  int major_version_ = 0;
  std::string server_version_;
  std::map<std::string, ParameterSpec, std::less<>> parameters_;
};

// nullopt when Postgres would accept `value` for this parameter; otherwise what is expected, e.g.
// "expected an integer between 128kB and 2147483647kB with unit B, kB, MB, GB or TB, got \"4XB\"".
std::optional<std::string> check_parameter_value(const ParameterSpec& spec, std::string_view value);

// For integer/real parameters with a memory or time unit: the value converted to the parameter's
// base unit (e.g. shared_buffers "1GB" -> 131072 in 8kB pages). Errors say what is expected.
Result<double> parameter_value_in_base_unit(const ParameterSpec& spec, std::string_view value);

// Postgres' boolean spellings: on/off, true/false, yes/no, 1/0 and unique prefixes of them.
std::optional<bool> parse_postgres_bool(std::string_view value);

// "bool", "integer", "real", "string", "enum": the names pg_settings.vartype and the cached JSON use.
std::string_view parameter_type_name(ParameterType type);

}  // namespace pgstack::model
