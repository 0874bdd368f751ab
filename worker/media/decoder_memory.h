// How the process's allocator treats decoders' large buffers.
#pragma once

namespace frameprint {

// Decoders allocate and free large buffers for every picture: libjpeg's
// whole-image coefficient arrays of a progressive JPEG are ~10 MB for a
// 1.6 MP photo. By default glibc hands such memory back to the kernel when
// it is freed, and the next picture faults it in again page by page (and
// has it zeroed): for a directory of JPEG photos that was a fifth of the
// CPU time. Programs that hash call this once at start: blocks under
// 16 MiB then come from the heap, and up to 32 MiB of freed memory per
// allocator arena is kept for reuse. Larger blocks are still mapped and
// returned at once. No effect where the C library is not glibc.
void keep_decoder_memory_for_reuse();

}  // namespace frameprint
