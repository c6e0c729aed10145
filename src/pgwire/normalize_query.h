// Query fingerprints for statistics: the same statement with different constants normalizes to the
// same text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgstack::pgwire {

// Replaces literals (numbers, 'strings', E'...', B'...', X'...', $$...$$, $tag$...$tag$) with `?`,
// keeps $n parameters, drops comments, collapses whitespace (one space where the text had any, none
// after '(' or before ')' ',' ';', one after ','), lower-cases unquoted words, and collapses IN-lists
// and ARRAY[...] of constants to `in (?)` / `array[?]`. Keywords such as true, false and null stay.
// One pass over the text; the result is cut to at most max_length bytes (on a UTF-8 boundary).
// Unterminated strings and comments run to the end of the text. Never throws on any input.
std::string normalize_query(std::string_view sql, std::size_t max_length = 65536);

}  // namespace pgstack::pgwire
