// Differences between the FFmpeg versions we build against (Debian 12's 5.1
// and newer), in one place. Used by the decoder and by the tests' writer.
#pragma once

#include <cstdint>

extern "C" {
#include <libavformat/avformat.h>
}

namespace frameprint::ffmpeg {

inline constexpr size_t kDisplayMatrixBytes = 9 * sizeof(int32_t);

// The stream's display matrix, or nullptr when it has none.
inline const int32_t* display_matrix(const AVStream* st) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
  const AVPacketSideData* sd = av_packet_side_data_get(
      st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
  if (sd && sd->size >= kDisplayMatrixBytes) return reinterpret_cast<const int32_t*>(sd->data);
#else
  size_t size = 0;
  const uint8_t* sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (sd && size >= kDisplayMatrixBytes) return reinterpret_cast<const int32_t*>(sd);
#endif
  return nullptr;
}

// Adds a display matrix to a stream being written; nullptr when out of memory.
inline int32_t* add_display_matrix(AVStream* st) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
  AVPacketSideData* sd =
      av_packet_side_data_new(&st->codecpar->coded_side_data, &st->codecpar->nb_coded_side_data,
                              AV_PKT_DATA_DISPLAYMATRIX, kDisplayMatrixBytes, 0);
  return sd ? reinterpret_cast<int32_t*>(sd->data) : nullptr;
#else
  return reinterpret_cast<int32_t*>(
      av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, kDisplayMatrixBytes));
#endif
}

}  // namespace frameprint::ffmpeg
