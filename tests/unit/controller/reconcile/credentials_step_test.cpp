#include "controller/reconcile/credentials_step.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

TEST(CredentialsStep, CreatesOnlyWhatIsMissing) {
  EXPECT_TRUE(decide_credentials({.read = true, .exists = false}).create);
  EXPECT_FALSE(decide_credentials({.read = true, .exists = true}).create);
  // An unanswered read is not an absent key: writing then could replace live passwords.
  const CredentialsDecision unread = decide_credentials({.read = false, .exists = false});
  EXPECT_FALSE(unread.create);
  EXPECT_NE(unread.why.find("etcd did not answer"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::controller
