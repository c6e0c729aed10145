#include "auth/password.h"

#include <gtest/gtest.h>

namespace pgstack::auth {
namespace {

TEST(Password, HashesWithArgon2idAndVerifies) {
  auto hash = hash_password("correct horse battery");
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password("correct horse battery", *hash));
  EXPECT_FALSE(verify_password("correct horse battery!", *hash));
  EXPECT_FALSE(verify_password("correct horse battery", ""));
  // Salted: the same password hashes differently.
  EXPECT_NE(*hash, hash_password("correct horse battery").value());
}

TEST(Password, RefusesWeakOrOversizedPasswordsWithoutEchoingThem) {
  auto short_one = hash_password("hunter2");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(short_one.error().message.find("hunter2"), std::string::npos);
  EXPECT_FALSE(hash_password(std::string(kMaxPasswordBytes + 1, 'x')).ok());
  EXPECT_FALSE(hash_password(std::string("abcdefghijkl\0mn", 15)).ok());
}

}  // namespace
}  // namespace pgstack::auth
