// The pure parts of the API client: kind names, paths, error bodies, credentials, connection strings.
// The client itself is tested against the real controller in tests/integration.
#include "cli/api_client.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "common/process.h"

namespace pgstack::cli {
namespace {

using model::Json;

TEST(ResolveKind, AcceptsKindPluralSingularAndShortNamesInAnyCase) {
  for (const char* name : {"SGCluster", "sgcluster", "sgclusters", "sgclu", "SGCLUSTERS"}) {
    const auto kind = resolve_kind(name);
    ASSERT_TRUE(kind.ok()) << name;
    EXPECT_EQ((*kind)->kind, "SGCluster") << name;
    EXPECT_EQ((*kind)->plural, "sgclusters");
  }
  const auto profile = resolve_kind("sginstanceprofile");
  ASSERT_TRUE(profile.ok());
  EXPECT_EQ((*profile)->plural, "sginstanceprofiles");
}

TEST(ResolveKind, UnknownKindSuggestsTheClosestAndListsAll) {
  const auto kind = resolve_kind("sgclusterz");
  ASSERT_FALSE(kind.ok());
  EXPECT_EQ(kind.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(kind.error().message.find("unknown resource type \"sgclusterz\""), std::string::npos);
  EXPECT_NE(kind.error().message.find("did you mean \"sgcluster"), std::string::npos) << kind.error().message;
  EXPECT_NE(kind.error().message.find("sgpoolconfigs"), std::string::npos) << kind.error().message;
  const auto nothing_close = resolve_kind("pods");
  ASSERT_FALSE(nothing_close.ok());
  EXPECT_EQ(nothing_close.error().message.find("did you mean"), std::string::npos) << nothing_close.error().message;
}

TEST(KindNames, AsKubectlPrintsThem) {
  const auto& cluster = **resolve_kind("sgclu");
  EXPECT_EQ(singular_name(cluster), "sgcluster");
  EXPECT_EQ(qualified_name(cluster, "demo"), "sgcluster.stackgres.io/demo");
}

TEST(ResourcePath, FollowsTheApiLayout) {
  const auto& cluster = **resolve_kind("sgcluster");
  EXPECT_EQ(resource_path(cluster, "default"), "/apis/stackgres.io/v1/namespaces/default/sgclusters");
  EXPECT_EQ(resource_path(cluster, ""), "/apis/stackgres.io/v1/namespaces/_all/sgclusters");
  EXPECT_EQ(resource_path(cluster, "prod", "demo"), "/apis/stackgres.io/v1/namespaces/prod/sgclusters/demo");
  EXPECT_EQ(resource_path(cluster, "prod", "demo", "switchover"),
            "/apis/stackgres.io/v1/namespaces/prod/sgclusters/demo/switchover");
  EXPECT_EQ(resource_path(cluster, "default", "a b/c"),
            "/apis/stackgres.io/v1/namespaces/default/sgclusters/a%20b%2Fc");
}

TEST(ErrorFromResponse, ProblemJsonGivesTheDetailAndOneLinePerField) {
  const std::string body = R"({"type":"about:blank","title":"Invalid SGCluster","status":422,"detail":"2 errors",
    "errors":[{"path":"spec.instances","message":"expected an integer >= 1, got \"three\"",
               "text":"<request>: SGCluster/demo spec.instances: expected an integer >= 1, got \"three\""},
              {"path":"spec.postgres.version","message":"version 9 is not installed"}]})";
  const Error error = error_from_response(422, body);
  EXPECT_EQ(error.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(error.message,
            "Invalid SGCluster: 2 errors\n"
            "  <request>: SGCluster/demo spec.instances: expected an integer >= 1, got \"three\"\n"
            "  spec.postgres.version: version 9 is not installed");
}

TEST(ErrorFromResponse, DetailAloneAndBodiesThatAreNotJson) {
  EXPECT_EQ(error_from_response(404, R"({"title":"Not Found","status":404,"detail":"sgclusters default/x not found"})")
                .message,
            "Not Found: sgclusters default/x not found");
  EXPECT_EQ(error_from_response(409, R"({"title":"Conflict","status":409})").message, "Conflict");
  const Error code_name = error_from_response(
      412, R"({"title":"FailedPrecondition","status":412,"detail":"demo-9 is not a running member"})");
  EXPECT_EQ(code_name.code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(code_name.message, "demo-9 is not a running member");
  const Error text = error_from_response(500, "boom\n");
  EXPECT_EQ(text.code, ErrorCode::kInternal);
  EXPECT_EQ(text.message, "the API answered HTTP 500: boom");
  EXPECT_EQ(error_from_response(503, "").message, "the API answered HTTP 503");
}

TEST(ErrorFromResponse, StatusCodesMapToErrorCodesAndSoToExitCodes) {
  EXPECT_EQ(error_code_for_status(422), ErrorCode::kInvalidInput);
  EXPECT_EQ(error_code_for_status(400), ErrorCode::kInvalidInput);
  EXPECT_EQ(error_code_for_status(404), ErrorCode::kNotFound);
  EXPECT_EQ(error_code_for_status(409), ErrorCode::kConflict);
  EXPECT_EQ(error_code_for_status(412), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error_code_for_status(503), ErrorCode::kUnavailable);
  EXPECT_EQ(error_code_for_status(500), ErrorCode::kInternal);
  EXPECT_EQ(exit_code_for(error_code_for_status(422)), 1);
}

TEST(UnreachableError, SaysHowToStartTheController) {
  const Error error =
      unreachable_error("http://127.0.0.1:8080",
                        make_error(ErrorCode::kUnavailable,
                                   "GET http://127.0.0.1:8080/healthz: failed while connecting: Connection refused"));
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
  EXPECT_EQ(error.message.rfind("cannot reach the pgstack API at http://127.0.0.1:8080: is the controller running? "
                                "(pgstack up starts it)",
                                0),
            0u)
      << error.message;
  EXPECT_NE(error.message.find("Connection refused"), std::string::npos);
}

TEST(ApiUrl, FlagThenEnvironmentThenDefault) {
  ::unsetenv("PGSTACK_API");
  {
    CLI::App app;
    add_api_option(app);
    CLI::App* get = app.add_subcommand("get");
    app.parse(std::vector<std::string>{"get"});  // CLI11 parses a reversed vector
    EXPECT_EQ(api_url_for(*get), kDefaultApiUrl);
  }
  ::setenv("PGSTACK_API", "http://10.0.0.1:9000/", 1);
  {
    CLI::App app;
    add_api_option(app);
    CLI::App* get = app.add_subcommand("get");
    app.parse(std::vector<std::string>{"get"});
    EXPECT_EQ(api_url_for(*get), "http://10.0.0.1:9000");
  }
  {
    CLI::App app;
    app.fallthrough();
    add_api_option(app);
    CLI::App* get = app.add_subcommand("get");
    app.parse(std::vector<std::string>{"http://flag:1", "--api", "get"});
    EXPECT_EQ(api_url_for(*get), "http://flag:1");
  }
  ::unsetenv("PGSTACK_API");
}

TEST(Credentials, ReadsTheApplicationEntryInTheShapesTheApiMayUse) {
  const auto nested = application_credentials_from(Json::parse(R"({"superuser":{"username":"postgres","password":"x"},
                      "application":{"username":"app","password":"s3cret","database":"appdb"}})"));
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->user, "app");
  EXPECT_EQ(nested->database, "appdb");
  EXPECT_EQ(nested->password, "s3cret");

  const auto under_users =
      application_credentials_from(Json::parse(R"({"users":{"application":{"user":"web","password":"p"}}})"));
  ASSERT_TRUE(under_users.ok());
  EXPECT_EQ(under_users->user, "web");
  EXPECT_EQ(under_users->database, "app");

  const auto listed = application_credentials_from(Json::parse(R"({"users":[{"role":"superuser","username":"postgres"},
                               {"role":"application","username":"app","password":"q","dbname":"shop"}]})"));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->database, "shop");
  EXPECT_EQ(listed->password, "q");

  const auto missing = application_credentials_from(Json::parse(R"({"superuser":{"username":"postgres"}})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

Json demo_status() {
  return Json::parse(R"({
    "primary": "demo-1",
    "endpoints": {
      "readWrite": ["127.0.0.1:16432", "127.0.0.1:16433", "127.0.0.1:16434"],
      "readOnly": ["127.0.0.1:16432", "127.0.0.1:16434"],
      "readWriteDirect": ["127.0.0.1:15432", "127.0.0.1:15433", "127.0.0.1:15434"],
      "readOnlyDirect": ["127.0.0.1:15432", "127.0.0.1:15434"]
    }})");
}

constexpr ConnectionOptions kPooler{.endpoints = EndpointKind::kPooler};

TEST(ConnectionUri, ReadWriteListsEveryPgBouncer) {
  const auto uri = connection_uri(demo_status(), {"app", "app", "pw"}, kPooler);
  ASSERT_TRUE(uri.ok()) << uri.error().message;
  EXPECT_EQ(*uri,
            "postgresql://app@127.0.0.1:16432,127.0.0.1:16433,127.0.0.1:16434/app?target_session_attrs=read-write");
}

TEST(ConnectionUri, ReplicaPrefersStandbysThenThePrimary) {
  const auto uri =
      connection_uri(demo_status(), {"app", "app", ""}, {.replica = true, .endpoints = EndpointKind::kPooler});
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(*uri,
            "postgresql://app@127.0.0.1:16432,127.0.0.1:16434,127.0.0.1:16433/app?target_session_attrs=prefer-standby");
}

TEST(ConnectionUri, DirectUsesPostgresPorts) {
  const auto uri = connection_uri(demo_status(), {"app", "app", ""}, {.endpoints = EndpointKind::kDirect});
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(*uri,
            "postgresql://app@127.0.0.1:15432,127.0.0.1:15433,127.0.0.1:15434/app?target_session_attrs=read-write");
}

TEST(ConnectionUri, PasswordOnlyWhenAskedAndPercentEncoded) {
  const ApplicationCredentials credentials{"app user", "my db", "p@ss:w/rd%"};
  const auto hidden = connection_uri(demo_status(), credentials, kPooler);
  ASSERT_TRUE(hidden.ok());
  EXPECT_EQ(hidden->find("p%40ss"), std::string::npos);
  EXPECT_EQ(hidden->rfind("postgresql://app%20user@", 0), 0u) << *hidden;
  EXPECT_NE(hidden->find("/my%20db?"), std::string::npos) << *hidden;
  const auto shown =
      connection_uri(demo_status(), credentials, {.endpoints = EndpointKind::kPooler, .include_password = true});
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->rfind("postgresql://app%20user:p%40ss%3Aw%2Frd%25@127.0.0.1:16432,", 0), 0u) << *shown;
}

TEST(ConnectionUri, BracketsIpv6HostsAndFailsWithoutEndpoints) {
  const auto v6 = connection_uri(Json::parse(R"({"endpoints":{"readWrite":["::1:6432","[fe80::1]:6432"]}})"),
                                 {"app", "app", ""}, kPooler);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(*v6, "postgresql://app@[::1]:6432,[fe80::1]:6432/app?target_session_attrs=read-write");
  const auto none = connection_uri(Json::parse(R"({"members":[]})"), {"app", "app", ""}, kPooler);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(none.error().message.find("no PgBouncer endpoints"), std::string::npos);
  const auto no_proxy = connection_uri(demo_status(), {"app", "app", ""}, {});
  ASSERT_FALSE(no_proxy.ok());
  EXPECT_NE(no_proxy.error().message.find("no pgstack-proxy endpoints"), std::string::npos);
}

TEST(ConnectionUri, ProxyEndpointsByDefault) {
  Json status = demo_status();
  status["endpoints"]["proxyReadWrite"] = {"10.0.0.1:14432", "10.0.0.2:14432"};
  status["endpoints"]["proxyReadOnly"] = {"10.0.0.1:14433", "10.0.0.2:14433"};
  const auto read_write = connection_uri(status, {"app", "app", ""}, {});
  ASSERT_TRUE(read_write.ok());
  EXPECT_EQ(*read_write, "postgresql://app@10.0.0.1:14432,10.0.0.2:14432/app?target_session_attrs=read-write");
  // The read-only listener chooses the replica itself, falling back to the primary: no libpq attributes.
  const auto read_only = connection_uri(status, {"app", "app", ""}, {.replica = true});
  ASSERT_TRUE(read_only.ok());
  EXPECT_EQ(*read_only, "postgresql://app@10.0.0.1:14433,10.0.0.2:14433/app");
  const auto direct = connection_uri(status, {"app", "app", ""}, {.endpoints = EndpointKind::kDirect});
  ASSERT_TRUE(direct.ok());
  EXPECT_NE(direct->find("127.0.0.1:15432"), std::string::npos);
}

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
  EXPECT_EQ(percent_encode("a b@c/d?e"), "a%20b%40c%2Fd%3Fe");
  EXPECT_EQ(percent_encode("\xc3\xa9"), "%C3%A9");
}

TEST(Conditions, FoundByTypeAndTrueOnlyWhenStatusIsTrue) {
  const Json status = Json::parse(R"({"conditions":[
      {"type":"Ready","status":"True","reason":"AllMembersStreaming"},
      {"type":"PendingRestart","status":"False"}]})");
  ASSERT_NE(find_condition(status, "Ready"), nullptr);
  EXPECT_TRUE(condition_is_true(status, "Ready"));
  EXPECT_FALSE(condition_is_true(status, "PendingRestart"));
  EXPECT_FALSE(condition_is_true(status, "Degraded"));
  EXPECT_EQ(find_condition(Json::object(), "Ready"), nullptr);
}

// The binary, without any server: what a user sees before `pgstack up`.
CommandOutput pgstack_cli(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), PGSTACK_BINARY);
  auto result = run_command(arguments, {.extra_environment = {{"PGSTACK_API", "http://127.0.0.1:1"}}});
  EXPECT_TRUE(result.ok());
  return result.ok() ? result.value() : CommandOutput{};
}

TEST(CliApiCommands, UnreachableApiSaysToStartTheControllerAndExitsSeven) {
  const auto out = pgstack_cli({"get", "sgclu"});
  EXPECT_EQ(out.exit_code, 7);
  EXPECT_NE(
      out.standard_error.find("pgstack get: cannot reach the pgstack API at http://127.0.0.1:1: is the controller "
                              "running? (pgstack up starts it)"),
      std::string::npos)
      << out.standard_error;
  const auto flag = pgstack_cli({"connstr", "demo", "--api", "http://127.0.0.1:2"});
  EXPECT_EQ(flag.exit_code, 7);
  EXPECT_NE(flag.standard_error.find("at http://127.0.0.1:2:"), std::string::npos) << flag.standard_error;
}

TEST(CliApiCommands, BadKindsAndUsageErrorsAreInvalidInput) {
  const auto kind = pgstack_cli({"get", "sgclusterz"});
  EXPECT_EQ(kind.exit_code, 1);
  EXPECT_NE(kind.standard_error.find("did you mean \"sgcluster"), std::string::npos) << kind.standard_error;
  EXPECT_EQ(pgstack_cli({"describe", "sgcluster"}).exit_code, 1);
  EXPECT_EQ(pgstack_cli({"get", "sgclu", "-o", "table"}).exit_code, 1);
}

TEST(CliApiCommands, ApplyValidatesLocallyBeforeAnyRequest) {
  const auto out =
      pgstack_cli({"apply", "-f", std::string(PGSTACK_SOURCE_DIR) + "/examples/invalid/cluster-errors.yaml"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.standard_error.find("spec.instances: expected an integer >= 1"), std::string::npos)
      << out.standard_error;
  EXPECT_NE(out.standard_error.find("nothing was applied"), std::string::npos) << out.standard_error;
  EXPECT_EQ(out.standard_error.find("cannot reach"), std::string::npos) << out.standard_error;
}

}  // namespace
}  // namespace pgstack::cli
