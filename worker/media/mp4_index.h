// The sample tables of an ISO BMFF file (MP4, MOV, 3GP) checked against
// what the file can hold, before FFmpeg's demuxer allocates for them. A
// table claims N entries in a box of B bytes; FFmpeg sizes its arrays (and
// its index, 24 bytes a sample) from N. A few kilobytes claiming tens of
// millions of samples cost gigabytes and seconds before anything is
// refused. Every sample takes at least one byte of the file, and every
// table entry its bytes in its box, so claims beyond those are impossible
// in an honest file and are refused here.
#pragma once

#include <cstdint>

namespace frameprint {

class MediaSource;

// Walks the box tree (moov/trak/mdia/minf/stbl, moof/traf) of `source`.
// Throws MediaError(kDecodeFailed) naming the box whose claim the file
// cannot hold; returns the samples the tables claim in all (0 when the
// file is not ISO BMFF or has no tables). Reads only box headers and
// table heads: a few reads per box.
uint64_t check_mp4_index(const MediaSource& source);

}  // namespace frameprint
