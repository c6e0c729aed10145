#include "auth/join_token.h"

#include <string>

#include <gtest/gtest.h>

#include "common/digest.h"

namespace pgstack::auth {
namespace {

TEST(JoinToken, IssuedTokensParseBackWithTheCaDigest) {
  const std::string ca = sha256_hex("-----BEGIN CERTIFICATE-----\n...\n");
  const JoinToken token = issue_join_token(ca);
  EXPECT_TRUE(token.text().starts_with("pgsjoin." + token.id + "."));
  EXPECT_TRUE(token.text().ends_with("." + ca));
  const auto parsed = parse_join_token(token.text());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->id, token.id);
  EXPECT_EQ(parsed->secret, token.secret);
  EXPECT_EQ(parsed->ca_sha256, ca);
  const JoinToken other = issue_join_token(ca);
  EXPECT_NE(other.id, token.id);
  EXPECT_NE(other.secret, token.secret);
}

TEST(JoinToken, OtherShapesAreNotJoinTokens) {
  const std::string ca(64, 'a');
  const JoinToken token = issue_join_token(ca);
  const std::string text = token.text();
  EXPECT_FALSE(parse_join_token("").has_value());
  EXPECT_FALSE(parse_join_token("pgs_" + token.id + "_" + token.secret).has_value());  // an API token
  EXPECT_FALSE(parse_join_token("pgsjoin." + token.id + "." + token.secret).has_value());
  EXPECT_FALSE(parse_join_token(text + ".x").has_value());
  EXPECT_FALSE(parse_join_token("PGSJOIN" + text.substr(7)).has_value());
  EXPECT_FALSE(parse_join_token("pgsjoin." + token.id + "." + token.secret + "." + std::string(64, 'G')).has_value());
  EXPECT_FALSE(parse_join_token("pgsjoin." + token.id + "." + token.secret + "." + std::string(63, 'a')).has_value());
  EXPECT_FALSE(parse_join_token("pgsjoin." + token.id.substr(1) + "." + token.secret + "." + ca).has_value());
  EXPECT_FALSE(parse_join_token("pgsjoin." + token.id + "." + token.secret + "!" + "." + ca).has_value());
  EXPECT_FALSE(parse_join_token(" " + text).has_value());
}

}  // namespace
}  // namespace pgstack::auth
