#include "model/schema.h"

#include <fmt/format.h>

namespace pgstack::model {

Field Field::object(Members members) {
  Field field(FieldType::kObject);
  field.members_ = std::make_shared<const Members>(std::move(members));
  return field;
}

Field Field::map(Field value) {
  Field field(FieldType::kMap);
  field.element_ = std::make_shared<const Field>(std::move(value));
  return field;
}

Field Field::array(Field item) {
  Field field(FieldType::kArray);
  field.element_ = std::make_shared<const Field>(std::move(item));
  return field;
}

Field Field::either(std::vector<Field> alternatives) {
  Field field(FieldType::kEither);
  field.alternatives_ = std::make_shared<const std::vector<Field>>(std::move(alternatives));
  return field;
}

Field Field::string() { return Field(FieldType::kString); }
Field Field::scalar_string() { return Field(FieldType::kScalarString); }
Field Field::integer() { return Field(FieldType::kInteger); }
Field Field::number() { return Field(FieldType::kNumber); }
Field Field::boolean() { return Field(FieldType::kBoolean); }
Field Field::cpu() { return Field(FieldType::kCpu); }
Field Field::memory() { return Field(FieldType::kMemory); }
Field Field::any() { return Field(FieldType::kAny); }

Field Field::required() const {
  Field copy = *this;
  copy.required_ = true;
  return copy;
}

Field Field::defaults_to(Json value) const {
  Field copy = *this;
  copy.default_ = std::move(value);
  return copy;
}

Field Field::at_least(std::int64_t minimum) const {
  Field copy = *this;
  copy.minimum_ = minimum;
  return copy;
}

Field Field::at_most(std::int64_t maximum) const {
  Field copy = *this;
  copy.maximum_ = maximum;
  return copy;
}

Field Field::one_of(std::vector<std::string> values) const {
  Field copy = *this;
  copy.allowed_ = std::move(values);
  return copy;
}

Field Field::checked(ValueCheck check, std::string expectation) const {
  Field copy = *this;
  copy.check_ = std::move(check);
  copy.check_expectation_ = std::move(expectation);
  return copy;
}

Field Field::noted(std::string note) const {
  Field copy = *this;
  copy.note_ = std::move(note);
  return copy;
}

Field Field::warned(std::string warning) const {
  Field copy = *this;
  copy.warning_ = std::move(warning);
  return copy;
}

Field Field::ignored(const std::string& reason) { return any().noted("accepted and ignored: " + reason); }

Field Field::refused(std::string reason) {
  Field field = any();
  field.refusal_ = std::move(reason);
  return field;
}

const Field* Field::member(std::string_view name) const {
  if (!members_) return nullptr;
  for (const auto& [member_name, field] : *members_) {
    if (member_name == name) return &field;
  }
  return nullptr;
}

std::vector<std::string> Field::member_names() const {
  std::vector<std::string> names;
  if (members_) {
    for (const auto& entry : *members_) names.push_back(entry.first);
  }
  return names;
}

std::string Field::expectation() const {
  if (!check_expectation_.empty()) return check_expectation_;
  switch (type_) {
    case FieldType::kObject:
    case FieldType::kMap: return "a mapping";
    case FieldType::kArray: return "a list";
    case FieldType::kString:
      if (!allowed_.empty()) return fmt::format("one of {}", fmt::join(allowed_, ", "));
      return "a string";
    case FieldType::kScalarString: return "a string, number or boolean";
    case FieldType::kInteger:
      if (minimum_ && maximum_) return fmt::format("an integer between {} and {}", *minimum_, *maximum_);
      if (minimum_) return fmt::format("an integer >= {}", *minimum_);
      if (maximum_) return fmt::format("an integer <= {}", *maximum_);
      return "an integer";
    case FieldType::kNumber: return "a number";
    case FieldType::kBoolean: return "true or false";
    case FieldType::kCpu: return "a CPU quantity such as \"2\", \"1.5\" or \"500m\"";
    case FieldType::kMemory: return "a memory quantity such as \"16Gi\", \"512Mi\" or \"2G\"";
    case FieldType::kAny: return "any value";
    case FieldType::kEither: {
      std::vector<std::string> parts;
      for (const auto& alternative : *alternatives_) parts.push_back(alternative.expectation());
      return fmt::format("{}", fmt::join(parts, " or "));
    }
  }
  return "a value";
}

std::string describe_value(const Json& value) {
  if (value.is_string()) return Json(value.get<std::string>()).dump();
  if (value.is_object()) return "a mapping";
  if (value.is_array()) return "a list";
  return value.dump();
}

std::string join_path(const std::string& parent, const std::string& key) {
  const bool needs_quotes = key.empty() || key.find_first_of(". \"[]") != std::string::npos;
  const std::string segment = needs_quotes ? Json(key).dump() : key;
  return parent.empty() ? segment : parent + "." + segment;
}

std::string index_path(const std::string& parent, std::size_t index) { return fmt::format("{}[{}]", parent, index); }

}  // namespace pgstack::model
