#include "common/error.h"

namespace pgstack {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return "InvalidInput";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kFailedPrecondition: return "FailedPrecondition";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kUnauthenticated: return "Unauthenticated";
    case ErrorCode::kPermissionDenied: return "PermissionDenied";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Internal";
}

// Exit code 1 is reserved for "input was invalid" so that scripts can tell it from a failure to run.
int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return 1;
    case ErrorCode::kNotFound: return 3;
    case ErrorCode::kAlreadyExists: return 4;
    case ErrorCode::kConflict: return 5;
    case ErrorCode::kFailedPrecondition: return 6;
    case ErrorCode::kUnavailable: return 7;
    case ErrorCode::kUnauthenticated: return 8;
    case ErrorCode::kPermissionDenied: return 9;
    case ErrorCode::kInternal: return 70;  // EX_SOFTWARE
  }
  return 70;
}

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return 422;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kFailedPrecondition: return 412;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string_view sqlstate_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return "08P01";        // protocol_violation
    case ErrorCode::kNotFound: return "3D000";            // invalid_catalog_name
    case ErrorCode::kAlreadyExists: return "42710";       // duplicate_object
    case ErrorCode::kConflict: return "40001";            // serialization_failure
    case ErrorCode::kFailedPrecondition: return "55000";  // object_not_in_prerequisite_state
    case ErrorCode::kUnavailable: return "08006";         // connection_failure
    case ErrorCode::kUnauthenticated: return "28000";     // invalid_authorization_specification
    case ErrorCode::kPermissionDenied: return "42501";    // insufficient_privilege
    case ErrorCode::kInternal: return "XX000";            // internal_error
  }
  return "XX000";
}

}  // namespace pgstack
