#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/temp_dir.h"
#include "worker/serve/tokens.h"

namespace frameprint::serve {
namespace {

const std::string kA = "a-long-enough-token-0123456789";
const std::string kB = "another-long-enough-token-9876";

TEST(Tokens, AcceptsExactlyTheListedTokens) {
  const TokenSet set = TokenSet::of({kA, kB});
  EXPECT_TRUE(set.accepts(kA));
  EXPECT_TRUE(set.accepts(kB));
  EXPECT_FALSE(set.accepts(kA.substr(0, kA.size() - 1)));
  EXPECT_FALSE(set.accepts(kA + "x"));
  EXPECT_FALSE(set.accepts(""));
  EXPECT_TRUE(set.accepts_header("Bearer " + kA));
  EXPECT_TRUE(set.accepts_header("bearer " + kB));
  EXPECT_FALSE(set.accepts_header("Basic " + kA));
  EXPECT_FALSE(set.accepts_header(kA));
  EXPECT_FALSE(set.accepts_header("Bearer "));
}

TEST(Tokens, RefusesWeakTokensAndOpenFiles) {
  EXPECT_THROW(TokenSet::of({"short"}), std::runtime_error);
  EXPECT_THROW(TokenSet::of({"has a space in it somewhere"}), std::runtime_error);
  testing::TempDir dir;
  const auto file = dir / "tokens";
  {
    std::ofstream f(file);
    f << "# clients\n\n" << kA << "\r\n  " << kB << "  \n";
  }
  ::chmod(file.c_str(), 0600);
  const TokenSet set = TokenSet::load(file);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.accepts(kB));
  ::chmod(file.c_str(), 0400);
  EXPECT_EQ(TokenSet::load(file).size(), 2u) << "read-only for its owner";
  // docs/security.md: the owner's alone. Group access is refused too.
  for (mode_t m : {0644, 0640, 0660, 0604, 0610, 0601}) {
    ::chmod(file.c_str(), m);
    EXPECT_THROW(TokenSet::load(file), std::runtime_error) << std::oct << m;
  }
  ::chmod(file.c_str(), 0600);
  EXPECT_THROW(TokenSet::load(dir.path()), std::runtime_error) << "a directory";
  {
    std::ofstream f(file);
    f << "# nothing\n";
  }
  EXPECT_THROW(TokenSet::load(file), std::runtime_error) << "no token";
  EXPECT_THROW(TokenSet::load(dir / "absent"), std::runtime_error);
}

}  // namespace
}  // namespace frameprint::serve
