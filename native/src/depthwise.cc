#include "depthwise.h"
#include "bfloat16.h"
#include "simd.h"

#include <ATen/Parallel.h>

#include <vector>

namespace cin {

namespace {

constexpr auto CL = at::MemoryFormat::ChannelsLast;

// Sizes of one call, in elements. Tensors are NHWC in memory; taps are stored [i][j][c].
struct Dims {
  int64_t n, c, h, w, oh, ow, k, s, pt, pl;
};

Dims dims(const torch::Tensor& x, const DepthwiseGeometry& g) {
  Dims d{};
  d.n = x.size(0);
  d.c = x.size(1);
  d.h = x.size(2);
  d.w = x.size(3);
  d.k = g.kernel;
  d.s = g.stride;
  d.pt = g.pad;
  d.pl = g.pad;
  d.oh = (d.h + 2 * g.pad - d.k) / d.s + 1;
  d.ow = (d.w + 2 * g.pad - d.k) / d.s + 1;
  return d;
}

// The loops work on blocks of 16 to 128 channels held in GCC vector registers (a 16-float vector
// is one AVX-512 register, two AVX2 ones); leftover channels go one at a time. The summation order
// of every value is fixed, whatever the block or thread count.

typedef float vf __attribute__((vector_size(64)));
typedef uint16_t vh __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(64)));
CIN_INLINE vf ld(const float* p) {
  vf v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
// 16 bfloat16 values widened to floats (exact).
CIN_INLINE vf ld(const bf16* p) {
  vh h;
  __builtin_memcpy(&h, p, sizeof h);
  return reinterpret_cast<vf>(__builtin_convertvector(h, vu) << 16);
}
CIN_INLINE void st(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }

// NV vectors of 16 channels, or NV = 0: one channel. Unrolled so the vectors stay in registers.
template <int NV>
struct Acc {
  static constexpr int N = NV > 0 ? NV : 1;
  vf a[N] = {};
  float s = 0;
  template <typename T>
  CIN_INLINE void madd(const T* x, const T* y) {
    if constexpr (NV == 0) {
      s += load(x, 0) * load(y, 0);
    } else {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) a[v] += ld(x + 16 * v) * ld(y + 16 * v);
    }
  }
  CIN_INLINE void store(float* p) const {
    if constexpr (NV == 0) {
      p[0] = s;
    } else {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) st(p + 16 * v, a[v]);
    }
  }
  CIN_INLINE void addTo(float* p) const {
    if constexpr (NV == 0) {
      p[0] += s;
    } else {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) st(p + 16 * v, ld(p + 16 * v) + a[v]);
    }
  }
};

// Adds one output row's contribution to every tap: part[i][j][c] += Σ_ow x[ih][ow*s-pl+j][c]·gy[oh][ow][c].
template <int NV, typename T>
CIN_INLINE void weightGradBlock(const T* x, const T* gy, float* part, const Dims& d, int64_t oh, int64_t c0) {
  for (int64_t i = 0; i < d.k; ++i) {
    const int64_t ih = oh * d.s - d.pt + i;
    if (ih < 0 || ih >= d.h) continue;
    for (int64_t j = 0; j < d.k; ++j) {
      // ow such that 0 <= ow*s - pl + j < w
      const int64_t lo = d.pl - j > 0 ? (d.pl - j + d.s - 1) / d.s : 0;
      const int64_t hi = std::min(d.ow, (d.w - 1 + d.pl - j) / d.s + 1);
      Acc<NV> acc;
      for (int64_t ow = lo; ow < hi; ++ow)
        acc.madd(x + (ih * d.w + ow * d.s - d.pl + j) * d.c + c0, gy + (oh * d.ow + ow) * d.c + c0);
      acc.addTo(part + (i * d.k + j) * d.c + c0);
    }
  }
}

// The same sums for a k×k kernel known at compile time, all k taps of a kernel row at once: each
// dy vector is loaded once for k multiply-adds (the loop above loads it once per tap). Pixels
// where some tap falls outside the image go through the per-tap loop.
template <int K, int NV, typename T>
CIN_INLINE void weightGradBlockK(const T* x, const T* gy, float* part, const Dims& d, int64_t oh, int64_t c0) {
  const int64_t loAll = d.pl > 0 ? (d.pl + d.s - 1) / d.s : 0;
  const int64_t lastIw = d.w - 1 + d.pl - (K - 1);
  const int64_t hiAll = lastIw < 0 ? 0 : std::min(d.ow, lastIw / d.s + 1);
  if (hiAll <= loAll) return weightGradBlock<NV>(x, gy, part, d, oh, c0);
  for (int64_t i = 0; i < K; ++i) {
    const int64_t ih = oh * d.s - d.pt + i;
    if (ih < 0 || ih >= d.h) continue;
    const T* xr = x + ih * d.w * d.c + c0;
    const T* gr = gy + oh * d.ow * d.c + c0;
    Acc<NV> acc[K];
    for (int64_t ow = loAll; ow < hiAll; ++ow) {
      const T* xb = xr + (ow * d.s - d.pl) * d.c;
      const T* g = gr + ow * d.c;
#pragma GCC unroll 5
      for (int j = 0; j < K; ++j) acc[j].madd(xb + j * d.c, g);
    }
    for (int j = 0; j < K; ++j) {
      const int64_t lo = d.pl - j > 0 ? (d.pl - j + d.s - 1) / d.s : 0;
      const int64_t hi = std::min(d.ow, (d.w - 1 + d.pl - j) / d.s + 1);
      for (int64_t ow = lo; ow < loAll; ++ow) acc[j].madd(xr + (ow * d.s - d.pl + j) * d.c, gr + ow * d.c);
      for (int64_t ow = hiAll; ow < hi; ++ow) acc[j].madd(xr + (ow * d.s - d.pl + j) * d.c, gr + ow * d.c);
      acc[j].addTo(part + (i * K + j) * d.c + c0);
    }
  }
}

#define CIN_BLOCKS(F, ...)                                   \
  do {                                                       \
    int64_t c0 = 0;                                          \
    for (; c0 + 128 <= d.c; c0 += 128) F<8>(__VA_ARGS__, c0); \
    for (; c0 + 64 <= d.c; c0 += 64) F<4>(__VA_ARGS__, c0);  \
    for (; c0 + 32 <= d.c; c0 += 32) F<2>(__VA_ARGS__, c0);  \
    for (; c0 + 16 <= d.c; c0 += 16) F<1>(__VA_ARGS__, c0);  \
    for (; c0 < d.c; ++c0) F<0>(__VA_ARGS__, c0);            \
  } while (0)

template <int K, typename T>
CIN_INLINE void weightGradRowK(const T* x, const T* gy, float* part, const Dims& d, int64_t oh) {
  int64_t c0 = 0;
  for (; c0 + 32 <= d.c; c0 += 32) weightGradBlockK<K, 2>(x, gy, part, d, oh, c0);
  for (; c0 + 16 <= d.c; c0 += 16) weightGradBlockK<K, 1>(x, gy, part, d, oh, c0);
  for (; c0 < d.c; ++c0) weightGradBlock<0>(x, gy, part, d, oh, c0);
}

template <typename T>
CIN_INLINE void weightGradImageBody(const T* x, const T* gy, float* part, const Dims& d) {
  for (int64_t oh = 0; oh < d.oh; ++oh) {
    if (d.k == 3) weightGradRowK<3>(x, gy, part, d, oh);
    else if (d.k == 5) weightGradRowK<5>(x, gy, part, d, oh);
    else CIN_BLOCKS(weightGradBlock, x, gy, part, d, oh);
  }
}
// x and dy as float, or both bfloat16 (mixed precision); sums are float either way.
CIN_CLONES void weightGradImage(const float* x, const float* gy, float* part, const Dims& d) {
  weightGradImageBody(x, gy, part, d);
}
CIN_CLONES void weightGradImage(const bf16* x, const bf16* gy, float* part, const Dims& d) {
  weightGradImageBody(x, gy, part, d);
}

torch::Tensor weightGradKernel(const torch::Tensor& x, const torch::Tensor& gy, const Dims& d) {
  const int64_t taps = d.k * d.k * d.c;
  // One partial sum per image, added in image order: the result does not depend on threads.
  std::vector<float> part(static_cast<size_t>(d.n * taps), 0.0f);
  withStorage(x, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xp = data<T>(x);
    const T* gp = data<T>(gy);
    at::parallel_for(0, d.n, 1, [&](int64_t b, int64_t e) {
      for (int64_t n = b; n < e; ++n)
        weightGradImage(xp + n * d.h * d.w * d.c, gp + n * d.oh * d.ow * d.c, part.data() + n * taps, d);
    });
  });
  auto sum = at::zeros({d.k, d.k, 1, d.c}, x.options().dtype(torch::kFloat32));
  float* sp = sum.data_ptr<float>();
  for (int64_t n = 0; n < d.n; ++n) {
    const float* p = part.data() + n * taps;
    for (int64_t t = 0; t < taps; ++t) sp[t] += p[t];
  }
  return sum.permute({3, 2, 0, 1}).contiguous(CL);  // (C, 1, k, k) like the weight
}

torch::Tensor oneDnnForward(const torch::Tensor& x, const torch::Tensor& w, const DepthwiseGeometry& g) {
  return at::convolution(x, w, c10::nullopt, {g.stride, g.stride}, {g.pad, g.pad}, {1, 1}, false, {0, 0}, x.size(1));
}

class DepthwiseFunction : public torch::autograd::Function<DepthwiseFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               int64_t kernel, int64_t stride, int64_t pad) {
    auto xc = x.contiguous(CL);
    // Mixed precision: x bfloat16, the float weight rounded to bfloat16 for oneDNN.
    auto wc = w.scalar_type() == xc.scalar_type() ? w : w.to(xc.scalar_type()).contiguous(CL);
    ctx->save_for_backward({xc, wc});
    ctx->saved_data["kernel"] = kernel;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["pad"] = pad;
    return oneDnnForward(xc, wc, {kernel, stride, pad});
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const DepthwiseGeometry g{ctx->saved_data["kernel"].toInt(), ctx->saved_data["stride"].toInt(),
                              ctx->saved_data["pad"].toInt()};
    auto gy = grads[0].to(x.scalar_type()).contiguous(CL);
    torch::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) {
      gx = std::get<0>(at::convolution_backward(gy, x, w, c10::nullopt, {g.stride, g.stride}, {g.pad, g.pad}, {1, 1},
                                                false, {0, 0}, x.size(1), {true, false, false}));
    }
    if (ctx->needs_input_grad(1)) gw = weightGradKernel(x, gy, dims(x, g));
    return {gx, gw, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool depthwiseApplies(const torch::Tensor& x, const torch::Tensor& w) {
  return x.device().is_cpu() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) &&
         w.scalar_type() == torch::kFloat32 &&
         x.dim() == 4 && w.dim() == 4 && w.size(1) == 1 && w.size(0) == x.size(1) && w.size(2) == w.size(3);
}

torch::Tensor depthwiseConv(const torch::Tensor& x, const torch::Tensor& w, const DepthwiseGeometry& g) {
  return DepthwiseFunction::apply(x, w, g.kernel, g.stride, g.pad);
}

}  // namespace cin
