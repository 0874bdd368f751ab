#include "kernels/hash256.h"

#include <gtest/gtest.h>

namespace frameprint {
namespace {

TEST(Hash256, HexPutsBit255FirstAndBit0Last) {
  Hash256 h;
  h.set_bit(255);
  h.set_bit(0);
  EXPECT_EQ(h.to_hex(), "8" + std::string(62, '0') + "1");
  Hash256 g;
  g.set_bit(16);  // second 16-bit word of the reference's layout, lowest bit
  EXPECT_EQ(g.to_hex(), std::string(59, '0') + "10000");
}

TEST(Hash256, HexRoundTripsAndAcceptsUppercase) {
  const std::string hex = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
  auto h = Hash256::from_hex(hex);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->to_hex(), hex);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(Hash256::from_hex(upper), h);
}

TEST(Hash256, FromHexRejectsBadInput) {
  EXPECT_FALSE(Hash256::from_hex(""));
  EXPECT_FALSE(Hash256::from_hex(std::string(63, '0')));
  EXPECT_FALSE(Hash256::from_hex(std::string(65, '0')));
  EXPECT_FALSE(Hash256::from_hex(std::string(63, '0') + "g"));
}

TEST(Hash256, HammingDistanceCountsDifferingBits) {
  Hash256 a, b;
  EXPECT_EQ(hamming_distance(a, b), 0);
  for (int k : {0, 63, 64, 200, 255}) b.set_bit(k);
  EXPECT_EQ(hamming_distance(a, b), 5);
  a.set_bit(63);
  EXPECT_EQ(hamming_distance(a, b), 4);
  EXPECT_TRUE(b.bit(200));
  EXPECT_FALSE(b.bit(201));
}

}  // namespace
}  // namespace frameprint
