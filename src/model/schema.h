// A small declarative schema language for manifest fields: one generic walker (validator.cpp)
// checks types, ranges and enums, reports unknown fields with suggestions, and fills defaults.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/document.h"

namespace pgstack::model {

enum class FieldType {
  kObject,  // known fields only
  kMap,     // free keys, values of one schema (labels, postgresql.conf)
  kArray,
  kString,
  kScalarString,  // any scalar, kept as its text (postgresql.conf values may be written 100 or on)
  kInteger,
  kNumber,
  kBoolean,
  kCpu,     // "2", "500m"
  kMemory,  // "16Gi"
  kAny,     // passed through unchecked (raw Patroni settings)
  kEither,  // the first alternative that fits
};

// Extra check on a value that already has the right type: nullopt when fine, else what is expected.
using ValueCheck = std::function<std::optional<std::string>(const Json& value)>;

class Field {
 public:
  using Members = std::vector<std::pair<std::string, Field>>;

  static Field object(Members members);
  static Field map(Field value);
  static Field array(Field item);
  static Field either(std::vector<Field> alternatives);
  static Field string();
  static Field scalar_string();
  static Field integer();
  static Field number();
  static Field boolean();
  static Field cpu();
  static Field memory();
  static Field any();

  Field required() const;
  Field defaults_to(Json value) const;
  Field at_least(std::int64_t minimum) const;
  Field at_most(std::int64_t maximum) const;
  Field one_of(std::vector<std::string> values) const;
  Field checked(ValueCheck check, std::string expectation) const;
  // Accepted, with a note at the field's path whenever it is present (what pgstack does with it).
  Field noted(std::string note) const;
  // Accepted, with a warning whenever present: the user likely expects an effect pgstack does not have.
  Field warned(std::string warning) const;
  // A StackGres field with no meaning outside Kubernetes: any value accepted, a note says it is ignored.
  static Field ignored(const std::string& reason);
  // A StackGres field pgstack cannot honour: refused whatever its value, with why.
  static Field refused(std::string reason);

  FieldType type() const { return type_; }
  bool is_required() const { return required_; }
  const std::optional<Json>& default_value() const { return default_; }
  const Members& members() const { return *members_; }
  const Field* member(std::string_view name) const;
  std::vector<std::string> member_names() const;
  const Field& element() const { return *element_; }
  const std::vector<Field>& alternatives() const { return *alternatives_; }
  std::optional<std::int64_t> minimum() const { return minimum_; }
  std::optional<std::int64_t> maximum() const { return maximum_; }
  const std::vector<std::string>& allowed() const { return allowed_; }
  const ValueCheck& check() const { return check_; }
  const std::string& note() const { return note_; }
  const std::string& refusal() const { return refusal_; }
  const std::string& warning() const { return warning_; }

  // "an integer >= 1", "one of async, sync", "a mapping": the words used after "expected".
  std::string expectation() const;

 private:
  explicit Field(FieldType type) : type_(type) {}

  FieldType type_;
  bool required_ = false;
  std::optional<Json> default_;
  std::shared_ptr<const Members> members_;
  std::shared_ptr<const Field> element_;
  std::shared_ptr<const std::vector<Field>> alternatives_;
  std::optional<std::int64_t> minimum_;
  std::optional<std::int64_t> maximum_;
  std::vector<std::string> allowed_;
  ValueCheck check_;
  std::string check_expectation_;
  std::string note_;
  std::string refusal_;
  std::string warning_;
};

// How a value appears in "got ..." (strings quoted, containers named).
std::string describe_value(const Json& value);

// Joins a field path: `spec` + `instances`; keys with dots are quoted: spec."postgresql.conf".
std::string join_path(const std::string& parent, const std::string& key);
std::string index_path(const std::string& parent, std::size_t index);

}  // namespace pgstack::model
