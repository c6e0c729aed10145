#include "model/codec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <yaml.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "model/schema.h"

namespace pgstack::model {
namespace {

struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;  // in characters, as libyaml counts them
};

TextPosition position_of_offset(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  TextPosition position;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++position.line;
      line_start = i + 1;
    }
  }
  for (std::size_t i = line_start; i < offset; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++position.column;
  }
  return position;
}

// Reads a YAML stream with libyaml, whose event parser is fuzzed upstream; yaml-cpp 0.7 loops forever on
// some invalid inputs (",x", broken flow mappings), so it only writes YAML here, never reads it.
class StreamReader {
 public:
  explicit StreamReader(std::string_view text) : text_(text) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~StreamReader() { yaml_parser_delete(&parser_); }
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // Every document of the stream (null for an empty one); on a syntax error, `error` says where.
  std::vector<Json> documents;
  std::string error;
  std::vector<std::string> document_errors;  // per document: duplicate keys, nesting, aliases
  std::vector<int> document_lines;

  void read() {
    while (true) {
      yaml_event_t event;
      if (!yaml_parser_parse(&parser_, &event)) {
        error = fmt::format("{}: invalid YAML or JSON: {}{}", where_parser_failed(),
                            parser_.problem ? parser_.problem : "syntax error",
                            parser_.context ? fmt::format(" ({})", parser_.context) : "");
        return;
      }
      const bool done = event.type == YAML_STREAM_END_EVENT;
      handle(event);
      yaml_event_delete(&event);
      // Stop at once: libyaml's scanner does work per open flow level for every token, so reading on
      // past the limit would be quadratic in the nesting.
      if (done || !error.empty()) return;
    }
  }

 private:
  struct Frame {
    Json value;
    std::string anchor;
    std::optional<std::string> key;  // in a mapping: the key waiting for its value
    bool merge_key = false;          // the waiting key is a plain <<
    Json merged = Json::object();    // keys from << (explicit keys win over them), added at the end
    bool has_merge = false;
  };

  // The reader (bytes to characters) runs ahead of the scanner and leaves problem_mark unset: its
  // position is a byte offset into the input.
  std::string where_parser_failed() const {
    if (parser_.error != YAML_READER_ERROR)
      return fmt::format("line {}, column {}", parser_.problem_mark.line + 1, parser_.problem_mark.column + 1);
    const TextPosition position = position_of_offset(text_, parser_.problem_offset);
    return fmt::format("line {}, column {}", position.line, position.column);
  }

  void fail(const yaml_event_t& event, const std::string& why) {
    if (problem_.empty()) problem_ = fmt::format("line {}: {}", event.start_mark.line + 1, why);
  }

  static std::string text_of(const unsigned char* text, std::size_t length) {
    return std::string(reinterpret_cast<const char*>(text), length);
  }

  void handle(const yaml_event_t& event) {
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        stack_.clear();
        anchors_.clear();
        problem_.clear();
        root_ = nullptr;
        expanded_ = 0;
        line_ = static_cast<int>(event.start_mark.line) + 1;
        break;
      case YAML_DOCUMENT_END_EVENT:
        documents.push_back(problem_.empty() ? std::move(root_) : Json::object());
        document_errors.push_back(problem_);
        document_lines.push_back(line_);
        break;
      case YAML_SCALAR_EVENT: {
        const std::string value = text_of(event.data.scalar.value, event.data.scalar.length);
        const std::string tag =
            event.data.scalar.tag
                ? text_of(event.data.scalar.tag, std::strlen(reinterpret_cast<const char*>(event.data.scalar.tag)))
                : "";
        // Quoted, block or explicitly !!str: a string; plain: resolved as YAML 1.2 core does.
        const bool plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && tag != "tag:yaml.org,2002:str";
        Json node = plain ? resolve_plain_scalar(value) : Json(value);
        if (event.data.scalar.anchor) remember(event.data.scalar.anchor, node);
        plain_merge_key_ = plain && value == "<<";
        add(event, std::move(node), true);
        plain_merge_key_ = false;
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (stack_.size() >= kMaxDepth) {
          error = fmt::format("line {}, column {}: nested deeper than {} levels, the limit for a manifest",
                              event.start_mark.line + 1, event.start_mark.column + 1, kMaxDepth);
          break;
        }
        const bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
        const unsigned char* anchor = sequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor;
        if (!stack_.empty() && stack_.back().value.is_object() && !stack_.back().key) {
          fail(event, "mapping keys must be plain strings");
        }
        stack_.push_back({sequence ? Json::array() : Json::object(),
                          anchor ? text_of(anchor, std::strlen(reinterpret_cast<const char*>(anchor))) : "",
                          std::nullopt});
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        if (stack_.empty()) break;
        Frame frame = std::move(stack_.back());
        stack_.pop_back();
        for (auto& [key, item] : frame.merged.items()) {
          if (!frame.value.contains(key)) frame.value[key] = std::move(item);
        }
        if (!frame.anchor.empty()) anchors_[frame.anchor] = Anchor{frame.value, frame.value.dump().size()};
        add(event, std::move(frame.value), false);
        break;
      }
      case YAML_ALIAS_EVENT: {
        const std::string name =
            text_of(event.data.alias.anchor, std::strlen(reinterpret_cast<const char*>(event.data.alias.anchor)));
        const auto found = anchors_.find(name);
        if (found == anchors_.end()) {
          fail(event, fmt::format("unknown alias *{}", name));
          add(event, nullptr, true);
          break;
        }
        // Aliases copy: bound the total so "billion laughs" cannot exhaust memory. Sizes are measured
        // once, when the anchor is defined, so refusing a bomb costs no more than reading it.
        expanded_ += found->second.size;
        if (expanded_ > kMaxExpandedBytes) {
          fail(event, "aliases expand to more than 1 MB");
          add(event, nullptr, true);
          break;
        }
        add(event, found->second.value, true);
        break;
      }
      default: break;
    }
  }

  void remember(const unsigned char* anchor, const Json& node) {
    anchors_[text_of(anchor, std::strlen(reinterpret_cast<const char*>(anchor)))] = Anchor{node, node.dump().size()};
  }

  void add(const yaml_event_t& event, Json node, bool scalar) {
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Frame& parent = stack_.back();
    if (parent.value.is_array()) {
      parent.value.push_back(std::move(node));
      return;
    }
    if (!parent.key) {
      if (!scalar || !node.is_primitive()) {
        fail(event, "mapping keys must be plain strings");
        parent.key = "";
        return;
      }
      parent.key = node.is_string() ? node.get<std::string>() : node.dump();
      parent.merge_key = plain_merge_key_;
      return;
    }
    if (parent.merge_key) {
      merge(event, parent, node);
      parent.key.reset();
      parent.merge_key = false;
      return;
    }
    if (parent.value.contains(*parent.key)) {
      fail(event, fmt::format("duplicate key \"{}\"", *parent.key));
    } else {
      parent.value[*parent.key] = std::move(node);
    }
    parent.key.reset();
  }

  // A YAML merge key (<<: *base or <<: [*a, *b]), as Kubernetes' reader (yaml.v2) takes it: the
  // mappings' keys are added unless the mapping sets them itself; an earlier mapping in a list wins.
  void merge(const yaml_event_t& event, Frame& parent, const Json& node) {
    if (parent.has_merge) {
      fail(event, "duplicate key \"<<\"");
      return;
    }
    parent.has_merge = true;
    std::vector<const Json*> sources;
    if (node.is_object()) {
      sources.push_back(&node);
    } else if (node.is_array()) {
      for (const auto& item : node) sources.push_back(&item);
    }
    if (sources.empty() && !node.is_array()) {
      fail(event, "a merge key (<<) takes a mapping or a list of mappings");
      return;
    }
    for (const Json* source : sources) {
      if (!source->is_object()) {
        fail(event, "a merge key (<<) takes a mapping or a list of mappings");
        return;
      }
      for (const auto& [key, item] : source->items()) {
        if (!parent.merged.contains(key)) parent.merged[key] = item;
      }
    }
  }

  static constexpr std::size_t kMaxDepth = 64;
  static constexpr std::size_t kMaxExpandedBytes = 1 << 20;

  std::string_view text_;
  yaml_parser_t parser_{};
  std::vector<Frame> stack_;
  struct Anchor {
    Json value;
    std::size_t size;  // bytes of its JSON text, what each alias to it adds to `expanded_`
  };
  std::map<std::string, Anchor> anchors_;
  Json root_;
  std::string problem_;
  std::size_t expanded_ = 0;
  int line_ = 1;
  bool plain_merge_key_ = false;  // the scalar being added is a plain <<
};

void add_document(LoadResult& result, const std::string& source, int& next_index, Json body) {
  Document document;
  document.source = source;
  document.index = next_index++;
  document.body = std::move(body);
  if (!document.body.is_object()) {
    result.diagnostics.add({Severity::kError, source, fmt::format("document {}", document.index + 1), "",
                            fmt::format("expected a mapping with apiVersion, kind, metadata and spec, got {}",
                                        describe_value(document.body))});
  }
  result.documents.push_back(std::move(document));
}

// YAML 1.1's booleans, which YAML 1.1 readers (kubectl's yaml.v2) take as true/false when plain.
bool is_yaml11_boolean(std::string_view text) {
  static constexpr std::string_view kWords[] = {"y",  "Y",  "yes",  "Yes",  "YES",  "n",     "N",     "no",
                                                "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
                                                "on", "On", "ON",   "off",  "Off",  "OFF"};
  return std::find(std::begin(kWords), std::end(kWords), text) != std::end(kWords);
}

// Strings that would read back as another type, in YAML 1.2 (e.g. "15", "true", "") or 1.1 ("on").
bool needs_quotes(const std::string& text) {
  return text.empty() || is_yaml11_boolean(text) || !resolve_plain_scalar(text).is_string();
}

void emit(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key;
        if (needs_quotes(key)) {
          out << YAML::SingleQuoted << key;
        } else {
          out << key;
        }
        out << YAML::Value;
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
      if (needs_quotes(text)) {
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
  StreamReader reader(text);
  reader.read();
  if (!reader.error.empty()) {
    result.diagnostics.add({Severity::kError, source, "", "", reader.error});
    return result;
  }
  int next_index = 0;  // a refused document keeps its number, so later ones are named as in the file
  for (std::size_t i = 0; i < reader.documents.size(); ++i) {
    Json& body = reader.documents[i];
    if (!reader.document_errors[i].empty()) {
      // Its error alone: validating a half-read document would only add errors that are not there.
      result.diagnostics.add(
          {Severity::kError, source, fmt::format("document {}", next_index + 1), "", reader.document_errors[i]});
      ++next_index;
      continue;
    }
    if (body.is_null()) continue;  // empty document between two "---"
    if (body.is_array()) {
      for (auto& item : body) add_document(result, source, next_index, std::move(item));
    } else if (body.is_object() && body.value("kind", Json()) == Json("List") && body.contains("items") &&
               body["items"].is_array()) {
      for (auto& item : body["items"]) add_document(result, source, next_index, std::move(item));
    } else {
      add_document(result, source, next_index, std::move(body));
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
