// Shared by the own CPU kernels: the hot loops are compiled for AVX-512, AVX2 and plain x86-64,
// and the loader picks one per machine (GCC function multi-versioning), so the addon stays
// portable while each machine gets its widest vectors.
#pragma once

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// x86-64-v4 (AVX-512 F, BW, DQ, VL) rather than plain avx512f: without BW there are no 16-bit
// lanes in 512-bit registers, and the bfloat16 loops would not vectorise at all.
#define CIN_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define CIN_CLONES
#endif
#define CIN_INLINE inline __attribute__((always_inline))

namespace cin {

// Rows summed in float before the partial sum is added in double: float speed, double accuracy.
constexpr int64_t kSumChunk = 256;

}  // namespace cin
