#include "auth/token.h"

#include <set>

#include <gtest/gtest.h>

namespace pgstack::auth {
namespace {

TEST(Token, IssuedTokensParseBackAndOnlyTheirDigestMatches) {
  const IssuedToken token = issue_token();
  EXPECT_TRUE(token.text.starts_with("pgs_" + token.id + "_"));
  auto presented = parse_token(token.text);
  ASSERT_TRUE(presented.has_value());
  EXPECT_EQ(presented->id, token.id);
  EXPECT_TRUE(digests_equal(secret_digest(presented->secret), token.digest));
  EXPECT_EQ(token.text.find(token.digest), std::string::npos);
  const IssuedToken other = issue_token();
  EXPECT_NE(other.id, token.id);
  EXPECT_FALSE(digests_equal(secret_digest(presented->secret), other.digest));
}

TEST(Token, MalformedTokensAreRefused) {
  const std::string good = issue_token().text;
  EXPECT_FALSE(parse_token(""));
  EXPECT_FALSE(parse_token(good.substr(1)));
  EXPECT_FALSE(parse_token(good + "x"));
  std::string bad_id = good;
  bad_id[5] = 'Z';
  EXPECT_FALSE(parse_token(bad_id));
  std::string bad_secret = good;
  bad_secret.back() = '=';
  EXPECT_FALSE(parse_token(bad_secret));
  EXPECT_FALSE(parse_token("Bearer " + good));
}

TEST(Token, SessionIdsAreRandom) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(new_session_id());
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(new_session_id().size(), 43u);
}

}  // namespace
}  // namespace pgstack::auth
