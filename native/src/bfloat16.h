// bfloat16 activations for mixed-precision training: the storage type, element loads and stores
// for the own kernels' loops, and typed views of a tensor's data.
#pragma once

#include "simd.h"

#include <torch/torch.h>

#include <type_traits>

namespace cin {

// The top 16 bits of a float. Loads are exact; stores round to nearest, ties to even (NaN stays
// NaN), as LibTorch's own conversion does. Both are plain integer code the compiler vectorises.
using bf16 = uint16_t;
CIN_INLINE float load(const float* p, int64_t i) { return p[i]; }
CIN_INLINE float load(const bf16* p, int64_t i) {
  return __builtin_bit_cast(float, static_cast<uint32_t>(p[i]) << 16);
}
CIN_INLINE bf16 toBf16(float v) {
  const uint32_t u = __builtin_bit_cast(uint32_t, v);
  const uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = 0u - static_cast<uint32_t>((u & 0x7FFFFFFFu) > 0x7F800000u);  // all ones for NaN
  return static_cast<bf16>((r & ~nan) | (0x7FC0u & nan));  // integer select: stays vectorised
}
CIN_INLINE void store(float* p, int64_t i, float v) { p[i] = v; }
CIN_INLINE void store(bf16* p, int64_t i, float v) { p[i] = toBf16(v); }

// An activation's storage as T: float, or bfloat16 as its raw 16 bits.
template <typename T>
T* data(const torch::Tensor& t) {
  if constexpr (std::is_same_v<T, bf16>) return reinterpret_cast<bf16*>(t.data_ptr<at::BFloat16>());
  else return t.data_ptr<float>();
}

// Calls f with a null pointer of t's storage type (float or bf16), to pick a template instance.
template <typename F>
auto withStorage(const torch::Tensor& t, F f) {
  if (t.scalar_type() == torch::kBFloat16) return f(static_cast<bf16*>(nullptr));
  return f(static_cast<float*>(nullptr));
}

}  // namespace cin
