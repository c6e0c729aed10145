#include "controller/api_input.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

std::vector<std::string> segments_of(std::string_view target) {
  std::vector<std::string> segments;
  const auto refused = split_path(target, segments);
  EXPECT_FALSE(refused) << target << ": " << (refused ? refused->message : "");
  return segments;
}

TEST(SplitPath, DecodesEachSegmentAfterSplitting) {
  EXPECT_EQ(segments_of("/api/v1/namespaces/default/secrets"),
            (std::vector<std::string>{"api", "v1", "namespaces", "default", "secrets"}));
  // %2F is a '/' inside its segment, never a new one.
  EXPECT_EQ(segments_of("/a%2Fb/c"), (std::vector<std::string>{"a/b", "c"}));
  EXPECT_EQ(segments_of("//a///b/?x=1"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(segments_of("/a+b/%41"), (std::vector<std::string>{"a+b", "A"}));
}

TEST(SplitPath, RefusesRelativeSegmentsBadEscapesAndControlBytes) {
  for (const auto& [target, index] : std::vector<std::pair<std::string, int>>{{"/apis/..", 2},
                                                                              {"/apis/./x", 2},
                                                                              {"/a/%2e%2E/b", 2},
                                                                              {"/a/b%zz", 2},
                                                                              {"/a/b%4", 2},
                                                                              {"/a/b%", 2},
                                                                              {"/a/b%00", 2},
                                                                              {"/a/%0a", 2},
                                                                              {"/%FF", 1},
                                                                              {"/%C0%AF", 1}}) {
    std::vector<std::string> segments;
    const auto refused = split_path(target, segments);
    ASSERT_TRUE(refused) << target;
    EXPECT_EQ(refused->status, 400);
    EXPECT_EQ(refused->where, "path segment " + std::to_string(index)) << target;
    EXPECT_EQ(refused->message.find('\0'), std::string::npos);
  }
  std::vector<std::string> segments;
  EXPECT_NE(split_path("/x/%zz", segments)->message.find("percent-encoding is %XX"), std::string::npos);
}

TEST(Query, DecodesAndRefusesBadEscapesRepeatsAndUnknownValues) {
  std::map<std::string, std::string> query;
  EXPECT_FALSE(parse_query("/s?reveal=true&x=a+b%21&flag", query));
  EXPECT_EQ(query, (std::map<std::string, std::string>{{"reveal", "true"}, {"x", "a b!"}, {"flag", ""}}));
  EXPECT_FALSE(check_query(query));
  EXPECT_TRUE(parse_query("/s?x=%G1", query));
  EXPECT_EQ(parse_query("/s?reveal=true&reveal=false", query)->where, "query parameter reveal");

  for (const char* value : {"maybe", "", "TRUE", "yes"}) {
    const auto refused = check_query({{"reveal", value}});
    ASSERT_TRUE(refused) << value;
    EXPECT_EQ(refused->status, 400);
    EXPECT_EQ(refused->where, "query parameter reveal");
    EXPECT_NE(refused->message.find("expected one of: true, false, 1, 0"), std::string::npos);
  }
  for (const char* value : {"true", "false", "1", "0"}) EXPECT_FALSE(check_query({{"reveal", value}}));
  // A mistyped deleteLogs must not delete a cluster and keep its logs.
  EXPECT_EQ(check_query({{"deleteLogs", "yes"}})->where, "query parameter deleteLogs");
  EXPECT_FALSE(check_query({{"deleteLogs", "true"}}));
  // A mistyped dryRun must not write for real: Kubernetes' one value only.
  EXPECT_EQ(check_query({{"dryRun", "true"}})->where, "query parameter dryRun");
  EXPECT_FALSE(check_query({{"dryRun", "All"}}));
}

TEST(RouteNames, NamespacesAndNamesAreDns1123Labels) {
  const std::string good = "demo-1";
  EXPECT_FALSE(check_route_names("GET", "default", 5, &good, 7));
  EXPECT_FALSE(check_route_names("GET", "_all", 5, nullptr, 7));
  EXPECT_TRUE(check_route_names("POST", "_all", 5, nullptr, 7));
  EXPECT_TRUE(check_route_names("GET", "_all", 5, &good, 7));
  for (const std::string& bad :
       std::vector<std::string>{"", "Demo", "-a", "a-", "a_b", "a.b", "a/b", std::string(64, 'a'), "é"}) {
    const auto refused = check_route_names("GET", "default", 5, &bad, 7);
    ASSERT_TRUE(refused) << bad;
    EXPECT_EQ(refused->status, 400);
    EXPECT_EQ(refused->where, "path segment 7 (name)");
    EXPECT_NE(refused->message.find("expected a DNS-1123 label"), std::string::npos);
    EXPECT_EQ(check_route_names("GET", bad, 4, nullptr, 6)->where, "path segment 4 (namespace)");
  }
  EXPECT_TRUE(is_dns1123_label(std::string(63, 'a')));
  EXPECT_TRUE(is_dns1123_label("0a-b9"));
}

TEST(ContentType, JsonYamlOrNoneElse415) {
  for (const char* type : {"application/json", "application/yaml", "application/x-yaml", "text/yaml",
                           "Application/JSON; charset=utf-8", " text/yaml "}) {
    EXPECT_FALSE(check_content_type({{"content-type", type}}, "{}")) << type;
  }
  EXPECT_FALSE(check_content_type({}, "{}"));
  EXPECT_FALSE(check_content_type({{"content-type", "image/png"}}, ""));  // no body, nothing to read
  for (const char* type : {"application/x-www-form-urlencoded", "text/plain", "application/jsonx", "*/*"}) {
    const auto refused = check_content_type({{"content-type", type}}, "{}");
    ASSERT_TRUE(refused) << type;
    EXPECT_EQ(refused->status, 415);
    EXPECT_EQ(refused->where, "header Content-Type");
    EXPECT_NE(refused->message.find("expected application/json, application/yaml"), std::string::npos);
  }
}

TEST(SwitchoverBody, CandidateOrEmptyWithLimits) {
  std::string candidate;
  EXPECT_FALSE(parse_switchover_body("", candidate));
  EXPECT_FALSE(parse_switchover_body(R"({"candidate":"demo-1"})", candidate));
  EXPECT_EQ(candidate, "demo-1");
  EXPECT_FALSE(parse_switchover_body("candidate: demo-2\n", candidate));
  EXPECT_EQ(candidate, "demo-2");
  EXPECT_EQ(parse_switchover_body(R"({"candidate":1})", candidate)->where, "body field candidate");
  EXPECT_EQ(parse_switchover_body(R"({"candidat":"x"})", candidate)->where, "body field candidat");
  const auto duplicate = parse_switchover_body("{\"candidate\":\"a\",\n\"candidate\":\"b\"}", candidate);
  ASSERT_TRUE(duplicate);
  EXPECT_NE(duplicate->message.find("duplicate key \"candidate\""), std::string::npos) << duplicate->message;
  const auto deep = parse_switchover_body(std::string(100000, '[') + std::string(100000, ']'), candidate);
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->status, 422);
  EXPECT_NE(deep->message.find("nested deeper than 64 levels"), std::string::npos) << deep->message;
}

}  // namespace
}  // namespace pgstack::controller
