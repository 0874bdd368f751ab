// The reference's own definition of a correct port: on lossless inputs the
// hash, the seven dihedral hashes and the quality are identical, bit for bit.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "kernels/pdq_backend.h"
#include "tests/support/luma.h"
#include "tests/support/testdata.h"

namespace frameprint {
namespace {

using testing::hash_from_hex;

TEST(PdqVectors, HashDihedralAndQualityMatchReferenceExactly) {
  FRAMEPRINT_REQUIRE_TESTDATA();
  const auto dir = testing::testdata_dir() / "pdq";
  const char* names[] = {"pdq",   "rotate90", "rotate180", "rotate270",
                         "flipx", "flipy",    "flipplus1", "flipminus1"};
  auto backend = pdq::make_cpu_backend();
  int checked = 0;
  for (const auto& row : testing::read_csv(dir / "vectors.csv")) {
    SCOPED_TRACE(row.at("file"));
    const cv::Mat img =
        cv::imread((dir / "vectors" / row.at("file")).string(), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(img.empty());
    testing::FloatLuma luma = testing::float_luma_like_reference(img);
    pdq::HashRequest req{luma.plane(), {}, pdq::Downsampler::kReference, true};
    const pdq::PdqResult r = backend->hash_one(req);
    EXPECT_EQ(r.quality, std::stoi(row.at("quality")));
    for (int d = 0; d < pdq::kDihedralCount; ++d)
      EXPECT_EQ(r.dihedral[d].to_hex(), row.at(names[d])) << names[d];
    EXPECT_EQ(r.hash, r.dihedral[0]);
    ++checked;
  }
  EXPECT_EQ(checked, 30);
}

TEST(PdqVectors, TinyImagesHashToZeroWithQualityZero) {
  auto backend = pdq::make_cpu_backend();
  std::vector<float> px(4 * 100, 128.0f);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>(i % 255);
  LumaPlane p{px.data(), 100 * sizeof(float), 100, 4, SampleType::kF32, 8, true};
  for (auto ds : {pdq::Downsampler::kReference, pdq::Downsampler::kSeparable}) {
    const auto r = backend->hash_one({p, {}, ds, false});
    EXPECT_EQ(r.quality, 0);
    EXPECT_EQ(r.hash, Hash256{});
  }
}

}  // namespace
}  // namespace frameprint
