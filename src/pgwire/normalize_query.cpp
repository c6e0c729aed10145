#include "pgwire/normalize_query.h"

#include <cstdint>
#include <vector>

namespace pgstack::pgwire {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool is_word_start(char c) { return is_alpha(c) || c == '_' || is_high(c); }
bool is_word_char(char c) { return is_word_start(c) || is_digit(c) || c == '$'; }
bool is_tag_char(char c) { return is_word_start(c) || is_digit(c); }
bool is_operator_char(char c) {
  static constexpr std::string_view kOperatorChars = "+-*/<>=~!@#%^&|`?";
  return kOperatorChars.find(c) != std::string_view::npos;
}
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Deeper nesting is still normalized, only no longer considered for list collapsing.
constexpr std::size_t kMaxTrackedDepth = 256;

class Normalizer {
 public:
  explicit Normalizer(std::string_view sql) : sql_(sql) { out_.reserve(sql.size()); }

  std::string run() {
    while (pos_ < sql_.size()) step();
    return std::move(out_);
  }

 private:
  enum class Token { kNone, kWord, kLiteral, kOperator, kOpen, kClose, kComma, kSemicolon, kOther };

  // A '(' or '[' whose contents may collapse to one `?`.
  struct Group {
    std::size_t open_offset;  // where the bracket sits in out_
    bool collapsible;         // follows IN / ARRAY
    bool only_literals = true;
    std::size_t literals = 0;
  };

  char peek(std::size_t ahead = 0) const { return pos_ + ahead < sql_.size() ? sql_[pos_ + ahead] : '\0'; }

  void step() {
    const char c = sql_[pos_];
    if (is_space(c)) {
      ++pos_;
      space_ = true;
    } else if (c == '-' && peek(1) == '-') {
      skip_line_comment();
    } else if (c == '/' && peek(1) == '*') {
      skip_block_comment();
    } else if (c == '\'') {
      skip_string(false);
    } else if ((c == 'e' || c == 'E') && peek(1) == '\'') {
      ++pos_;
      skip_string(true);
    } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && peek(1) == '\'') {
      ++pos_;
      skip_string(false);
    } else if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '\'') {
      pos_ += 2;
      skip_string(false);
    } else if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '"') {
      const std::size_t start = pos_;
      pos_ += 2;
      copy_quoted_identifier(start);
    } else if (c == '"') {
      copy_quoted_identifier(pos_);
    } else if (c == '$') {
      dollar();
    } else if (is_digit(c) || (c == '.' && is_digit(peek(1)))) {
      skip_number();
      literal();
    } else if (is_word_start(c)) {
      word();
    } else if ((c == '-' || c == '+') && (is_digit(peek(1)) || (peek(1) == '.' && is_digit(peek(2)))) &&
               (last_ == Token::kNone || last_ == Token::kOperator || last_ == Token::kOpen || last_ == Token::kComma ||
                last_ == Token::kSemicolon)) {
      // A signed constant: the sign is part of the literal.
      ++pos_;
      skip_number();
      literal();
    } else if (c == '(' || c == '[') {
      open(c);
    } else if (c == ')' || c == ']') {
      close(c);
    } else if (c == ',') {
      ++pos_;
      emit(",", Token::kComma);
      space_ = true;
    } else if (c == ';') {
      ++pos_;
      emit(";", Token::kSemicolon);
    } else if (is_operator_char(c)) {
      ++pos_;
      emit(std::string_view(&sql_[pos_ - 1], 1), Token::kOperator);
    } else {
      ++pos_;
      emit(std::string_view(&sql_[pos_ - 1], 1), Token::kOther);
    }
  }

  void emit(std::string_view text, Token token) {
    if (space_ && !out_.empty() && last_ != Token::kOpen && token != Token::kClose && token != Token::kComma &&
        token != Token::kSemicolon) {
      out_.push_back(' ');
    }
    space_ = false;
    out_.append(text);
    last_ = token;
    if (token != Token::kLiteral && token != Token::kComma && !groups_.empty()) groups_.back().only_literals = false;
    if (token == Token::kLiteral && !groups_.empty()) ++groups_.back().literals;
  }

  void literal() { emit("?", Token::kLiteral); }

  void skip_line_comment() {
    while (pos_ < sql_.size() && sql_[pos_] != '\n') ++pos_;
    space_ = true;
  }

  // Block comments nest in PostgreSQL.
  void skip_block_comment() {
    std::size_t depth = 0;
    while (pos_ < sql_.size()) {
      if (sql_[pos_] == '/' && peek(1) == '*') {
        ++depth;
        pos_ += 2;
      } else if (sql_[pos_] == '*' && peek(1) == '/') {
        pos_ += 2;
        if (--depth == 0) break;
      } else {
        ++pos_;
      }
    }
    space_ = true;
  }

  // pos_ is at the opening quote. '' is a quote inside; with backslash escapes (E'...'), \x is too.
  void skip_string(bool backslash_escapes) {
    ++pos_;
    while (pos_ < sql_.size()) {
      const char c = sql_[pos_];
      if (backslash_escapes && c == '\\') {
        pos_ += 2;
      } else if (c == '\'') {
        if (peek(1) == '\'') {
          pos_ += 2;
        } else {
          ++pos_;
          break;
        }
      } else {
        ++pos_;
      }
    }
    if (pos_ > sql_.size()) pos_ = sql_.size();
    literal();
  }

  // From `start` (the quote, or U&): copied verbatim, "" included.
  void copy_quoted_identifier(std::size_t start) {
    ++pos_;
    while (pos_ < sql_.size()) {
      if (sql_[pos_] == '"') {
        if (peek(1) == '"') {
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      ++pos_;
    }
    emit(sql_.substr(start, pos_ - start), Token::kWord);
    last_word_ = {};
  }

  // $1 (a parameter, kept), $$...$$ or $tag$...$tag$ (a literal), or a stray '$'.
  void dollar() {
    const std::size_t start = pos_;
    if (is_digit(peek(1))) {
      ++pos_;
      while (pos_ < sql_.size() && is_digit(sql_[pos_])) ++pos_;
      emit(sql_.substr(start, pos_ - start), Token::kLiteral);
      return;
    }
    std::size_t tag_end = pos_ + 1;
    if (tag_end < sql_.size() && is_word_start(sql_[tag_end])) {
      while (tag_end < sql_.size() && is_tag_char(sql_[tag_end])) ++tag_end;
    }
    if (tag_end >= sql_.size() || sql_[tag_end] != '$') {
      ++pos_;
      emit("$", Token::kOther);
      return;
    }
    const std::string_view delimiter = sql_.substr(start, tag_end + 1 - start);
    const std::size_t close = sql_.find(delimiter, tag_end + 1);
    pos_ = close == std::string_view::npos ? sql_.size() : close + delimiter.size();
    literal();
  }

  void skip_number() {
    if (peek() == '0' &&
        (peek(1) == 'x' || peek(1) == 'X' || peek(1) == 'o' || peek(1) == 'O' || peek(1) == 'b' || peek(1) == 'B')) {
      pos_ += 2;
      while (pos_ < sql_.size() && (is_digit(sql_[pos_]) || is_alpha(sql_[pos_]) || sql_[pos_] == '_')) ++pos_;
      return;
    }
    auto digits = [this] {
      while (pos_ < sql_.size() && (is_digit(sql_[pos_]) || sql_[pos_] == '_')) ++pos_;
    };
    digits();
    if (peek() == '.' && peek(1) != '.') {
      ++pos_;
      digits();
    }
    if ((peek() == 'e' || peek() == 'E') &&
        (is_digit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && is_digit(peek(2))))) {
      pos_ += 2;
      digits();
    }
  }

  void word() {
    const std::size_t start = pos_;
    while (pos_ < sql_.size() && is_word_char(sql_[pos_])) ++pos_;
    lowered_.clear();
    for (std::size_t i = start; i < pos_; ++i) lowered_.push_back(to_lower(sql_[i]));
    emit(lowered_, Token::kWord);
    last_word_ = lowered_ == "in" ? LastWord::kIn : lowered_ == "array" ? LastWord::kArray : LastWord::kOther;
  }

  void open(char bracket) {
    ++pos_;
    const bool collapsible = last_ == Token::kWord && ((bracket == '(' && last_word_ == LastWord::kIn) ||
                                                       (bracket == '[' && last_word_ == LastWord::kArray));
    emit(std::string_view(&sql_[pos_ - 1], 1), Token::kOpen);
    if (groups_.size() >= kMaxTrackedDepth) {
      ++untracked_depth_;
      return;
    }
    groups_.push_back(Group{out_.size() - 1, collapsible});
  }

  void close(char bracket) {
    ++pos_;
    if (untracked_depth_ > 0) {
      --untracked_depth_;
    } else if (!groups_.empty()) {
      const Group group = groups_.back();
      groups_.pop_back();
      if (group.collapsible && group.only_literals && group.literals > 0) {
        out_.resize(group.open_offset);
        out_.append(bracket == ')' ? "(?)" : "[?]");
        space_ = false;
        last_ = Token::kClose;
        return;
      }
    }
    emit(std::string_view(&sql_[pos_ - 1], 1), Token::kClose);
  }

  enum class LastWord { kOther, kIn, kArray };

  std::string_view sql_;
  std::size_t pos_ = 0;
  std::string out_;
  std::string lowered_;
  bool space_ = false;
  Token last_ = Token::kNone;
  LastWord last_word_ = LastWord::kOther;
  std::vector<Group> groups_;
  std::size_t untracked_depth_ = 0;
};

}  // namespace

std::string normalize_query(std::string_view sql, std::size_t max_length) {
  std::string out = Normalizer(sql).run();
  if (out.size() > max_length) {
    std::size_t cut = max_length;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

}  // namespace pgstack::pgwire
