// One error type for all of pgstack: a code that maps to a CLI exit code, an HTTP status in the API
// and a SQLSTATE in the proxy, plus a message that says what was wrong, where, and what is expected.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pgstack {

enum class ErrorCode {
  kInvalidInput,        // bad manifest, flag or request body
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // create of something that exists
  kConflict,            // stale resourceVersion, concurrent change
  kFailedPrecondition,  // the system is not in a state that allows the operation
  kUnavailable,         // a dependency (etcd, Postgres, a binary) cannot be reached or run
  kUnauthenticated,     // no credentials, or ones that are invalid, expired or revoked
  kPermissionDenied,    // known caller, but their roles do not allow it
  kInternal,            // a bug: should never reach a user
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

std::string_view error_code_name(ErrorCode code);
int exit_code_for(ErrorCode code);
int http_status_for(ErrorCode code);
std::string_view sqlstate_for(ErrorCode code);

// Expected failures are values, not exceptions (std::expected is C++23; g++ 12 lacks it).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const Error& error() const { return std::get<Error>(state_); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace pgstack

// Returns the error of a Result (a named one or an expression, evaluated once) from the enclosing
// function, which returns a Result of any type; continues when it holds a value.
#define RETURN_IF_ERROR(result)                                                                                        \
  do {                                                                                                                 \
    if (auto&& pgstack_checked_result = (result); !pgstack_checked_result.ok()) return pgstack_checked_result.error(); \
  } while (false)

// `ASSIGN_OR_RETURN(auto port, parse_port(text));` declares (or assigns) the value, or returns the error.
// `lhs` and `name` are declarations, which parentheses would break.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN(lhs, result) \
  PGSTACK_ASSIGN_OR_RETURN_IMPL(PGSTACK_RESULT_NAME(pgstack_result_, __LINE__), lhs, result)
#define PGSTACK_ASSIGN_OR_RETURN_IMPL(name, lhs, result) \
  auto name = (result);                                  \
  if (!name.ok()) return name.error();                   \
  lhs = std::move(name).value()
#define PGSTACK_RESULT_NAME(prefix, line) PGSTACK_RESULT_NAME_JOIN(prefix, line)
#define PGSTACK_RESULT_NAME_JOIN(prefix, line) prefix##line
// NOLINTEND(bugprone-macro-parentheses)
