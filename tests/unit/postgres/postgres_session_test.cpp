#include "postgres/postgres_session.h"

#include <gtest/gtest.h>

namespace pgstack::postgres {
namespace {

PostgresTarget target() {
  PostgresTarget target;
  target.host = "10.0.0.5";
  target.port = 5433;
  target.user = "o'brien";
  target.password = "pa\\ss word";
  return target;
}

TEST(Conninfo, QuotesValuesAndRequiresTls) {
  EXPECT_EQ(conninfo_for(target(), std::chrono::seconds(10)),
            "host='10.0.0.5' port=5433 dbname='postgres' user='o\\'brien' password='pa\\\\ss word' connect_timeout=10 "
            "application_name='pgstack' sslmode=require");
}

TEST(Conninfo, VerifiesTheServerWithACa) {
  PostgresTarget with_ca = target();
  with_ca.ssl_root_certificate = "/etc/pgstack/ca.crt";
  with_ca.application_name = "pgstack-controller";
  const std::string conninfo = conninfo_for(with_ca, std::chrono::seconds(5));
  EXPECT_NE(conninfo.find("application_name='pgstack-controller'"), std::string::npos);
  EXPECT_TRUE(conninfo.ends_with(" sslmode=verify-ca sslrootcert='/etc/pgstack/ca.crt'")) << conninfo;
}

TEST(Conninfo, DeadServerTimeoutSetsKeepalives) {
  PostgresTarget watched = target();
  EXPECT_EQ(conninfo_for(watched, std::chrono::seconds(5)).find("keepalives"), std::string::npos);
  watched.dead_server_timeout = std::chrono::seconds(30);
  EXPECT_NE(
      conninfo_for(watched, std::chrono::seconds(5))
          .find("keepalives=1 keepalives_idle=15 keepalives_interval=5 keepalives_count=3 tcp_user_timeout=30000"),
      std::string::npos);
}

TEST(Quoting, LiteralsAndIdentifiers) {
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
  EXPECT_EQ(quote_identifier("my \"db\""), "\"my \"\"db\"\"\"");
}

}  // namespace
}  // namespace pgstack::postgres
