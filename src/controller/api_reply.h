// Replies of the REST API: JSON documents and RFC 7807 problem details.
#pragma once

#include <string>

#include "common/error.h"
#include "common/http_server.h"
#include "model/document.h"

namespace pgstack::controller {

inline HttpReply json_reply(int status, const model::Json& body) {
  return {status, "application/json", body.dump(2) + "\n", {}};
}

inline HttpReply problem(int status, const std::string& title, const std::string& detail,
                         model::Json errors = nullptr) {
  model::Json body = {{"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}};
  if (!errors.is_null()) body["errors"] = std::move(errors);
  return {status, "application/problem+json", body.dump(2) + "\n", {}};
}

inline HttpReply problem_from(const Error& error) {
  const int status = http_status_for(error.code);
  return problem(status, std::string(error_code_name(error.code)), error.message);
}

}  // namespace pgstack::controller
