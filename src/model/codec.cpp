#include "model/codec.h"

#include "common/strings.h"
#include "model/schema.h"

#include <cmath>
#include <regex>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace pgstack::model {
namespace {

// yaml-cpp nests deeply on hostile input; bound it so no manifest can exhaust the stack.
constexpr int kMaxDepth = 64;

struct Converter {
  std::string error;

  Json convert(const YAML::Node& node, int depth) {
    if (depth > kMaxDepth) {
      if (error.empty()) error = fmt::format("nesting deeper than {} levels", kMaxDepth);
      return nullptr;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        // Everything downstream (JSON output, the API, etcd) needs valid UTF-8: refuse it here, once.
        if (!is_valid_utf8(node.Scalar())) {
          if (error.empty()) error = fmt::format("the value on line {} is not valid UTF-8", node.Mark().line + 1);
          return nullptr;
        }
        // "!" marks a quoted scalar (or an explicit !!str): always a string.
        if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return node.Scalar();
        return resolve_plain_scalar(node.Scalar());
      case YAML::NodeType::Sequence: {
        Json array = Json::array();
        for (const auto& item : node) array.push_back(convert(item, depth + 1));
        return array;
      }
      case YAML::NodeType::Map: {
        Json object = Json::object();
        for (const auto& entry : node) {
          const YAML::Node& key = entry.first;
          if (!key.IsScalar() || !is_valid_utf8(key.Scalar())) {
            if (error.empty()) error = "mapping keys must be plain strings in valid UTF-8";
            continue;
          }
          if (object.contains(key.Scalar())) {
            if (error.empty()) error = fmt::format("duplicate key \"{}\"", key.Scalar());
            continue;
          }
          object[key.Scalar()] = convert(entry.second, depth + 1);
        }
        return object;
      }
    }
    return nullptr;
  }
};

void add_document(LoadResult& result, const std::string& source, Json body) {
  Document document;
  document.source = source;
  document.index = static_cast<int>(result.documents.size());
  document.body = std::move(body);
  if (!document.body.is_object()) {
    result.diagnostics.add({Severity::kError, source, fmt::format("document {}", document.index + 1), "",
                            fmt::format("expected a mapping with apiVersion, kind, metadata and spec, got {}",
                                        describe_value(document.body))});
  }
  result.documents.push_back(std::move(document));
}

void emit(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : value) emit(out, item);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      // Quote strings that would read back as another type (e.g. "15", "on", "true", "").
      const Json resolved = resolve_plain_scalar(text);
      if (!resolved.is_string() || text.empty()) {
        out << YAML::SingleQuoted << text;
      } else {
        out << text;
      }
      break;
    }
    case Json::value_t::boolean: out << (value.get<bool>() ? "true" : "false"); break;
    case Json::value_t::null: out << YAML::Null; break;
    default: out << value.dump(); break;  // numbers: the exact JSON spelling
  }
}

}  // namespace

Json resolve_plain_scalar(const std::string& text) {
  static const std::regex kNull("^(~|null|Null|NULL|)$");
  static const std::regex kTrue("^(true|True|TRUE)$");
  static const std::regex kFalse("^(false|False|FALSE)$");
  static const std::regex kDecimal("^[-+]?[0-9]+$");
  static const std::regex kOctal("^0o[0-7]+$");
  static const std::regex kHex("^0x[0-9a-fA-F]+$");
  static const std::regex kFloat(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  static const std::regex kInfinity(R"(^[-+]?\.(inf|Inf|INF)$)");
  static const std::regex kNan(R"(^\.(nan|NaN|NAN)$)");
  if (std::regex_match(text, kNull)) return nullptr;
  if (std::regex_match(text, kTrue)) return true;
  if (std::regex_match(text, kFalse)) return false;
  try {
    if (std::regex_match(text, kDecimal)) return std::stoll(text);
    if (std::regex_match(text, kOctal)) return std::stoll(text.substr(2), nullptr, 8);
    if (std::regex_match(text, kHex)) return std::stoll(text.substr(2), nullptr, 16);
    if (std::regex_match(text, kFloat)) return std::stod(text);
  } catch (const std::out_of_range&) {
    return text;  // too large for a number: keep the text, the schema will say what it expected
  }
  // JSON has no infinities or NaN; keep them as text rather than lose them.
  if (std::regex_match(text, kInfinity) || std::regex_match(text, kNan)) return text;
  return text;
}

LoadResult load_documents(std::string_view text, const std::string& source) {
  LoadResult result;
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& error) {
    result.diagnostics.add({Severity::kError, source, "", "",
                            fmt::format("line {}, column {}: invalid YAML or JSON: {}", error.mark.line + 1,
                                        error.mark.column + 1, error.msg)});
    return result;
  }
  for (const auto& node : nodes) {
    if (node.IsNull()) continue;  // empty document between two "---"
    Converter converter;
    Json body = converter.convert(node, 0);
    if (!converter.error.empty()) {
      result.diagnostics.add({Severity::kError, source, fmt::format("document {}", result.documents.size() + 1), "",
                              fmt::format("line {}: {}", node.Mark().line + 1, converter.error)});
      result.documents.push_back({source, static_cast<int>(result.documents.size()), Json::object()});
      continue;
    }
    if (body.is_array()) {
      for (auto& item : body) add_document(result, source, std::move(item));
    } else if (body.is_object() && body.value("kind", Json()) == Json("List") && body.contains("items") &&
               body["items"].is_array()) {
      for (auto& item : body["items"]) add_document(result, source, std::move(item));
    } else {
      add_document(result, source, std::move(body));
    }
  }
  return result;
}

std::string json_to_yaml(const Json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

std::string documents_to_yaml(const std::vector<Document>& documents) {
  std::string text;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (i > 0) text += "---\n";
    text += json_to_yaml(documents[i].body);
  }
  return text;
}

std::string documents_to_json(const std::vector<Document>& documents, int indent) {
  if (documents.size() == 1) return documents[0].body.dump(indent) + "\n";
  Json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", Json::array()}};
  for (const auto& document : documents) list["items"].push_back(document.body);
  return list.dump(indent) + "\n";
}

}  // namespace pgstack::model
