#include "bn_swish.h"
#include "bfloat16.h"
#include "simd.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace cin {

namespace {

constexpr auto CL = at::MemoryFormat::ChannelsLast;


// e^x in float, written so the compiler vectorises it: no calls, no branches (Cephes expf:
// Cody–Waite range reduction and a degree-6 polynomial, within 2 ulp; rounding to the nearest
// integer by adding 1.5·2^23). NaN stays NaN; the range is clamped where float ends.
CIN_INLINE float expf_(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float big = x * 1.44269504088896341f + 12582912.0f;
  const float n = big - 12582912.0f;
  const int32_t ni = __builtin_bit_cast(int32_t, big) - 0x4B400000;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * __builtin_bit_cast(float, (ni + 127) << 23);
}

// dy/dz turned into dL/dz for y = swish(z) = z·σ(z): dz = dy · σ(1 + z(1 − σ)).
CIN_INLINE float swishGrad(float g, float z) {
  const float s = 1.0f / (1.0f + expf_(-z));
  return g * s * (1.0f + z * (1.0f - s));
}

// The loops below read the BatchNorm input x (T) and write its output y (Y) as float or as
// bfloat16. Mixed precision: x is a bfloat16 convolution output, and dL/dx goes back to that
// convolution as bfloat16; y is bfloat16 when a bfloat16 depthwise convolution reads it, and
// dL/dy then comes back as bfloat16. Each body is compiled per storage pair and instruction set.

// Per-channel Σx and Σx² over one image's rows (H·W rows of C channels).
template <typename T>
CIN_INLINE void imageSumsBody(const T* __restrict x, int64_t rows, int64_t C, double* __restrict s,
                              double* __restrict q, float* __restrict fs, float* __restrict fq) {
  for (int64_t r0 = 0; r0 < rows; r0 += kSumChunk) {
    std::fill(fs, fs + C, 0.0f);
    std::fill(fq, fq + C, 0.0f);
    const int64_t r1 = std::min(rows, r0 + kSumChunk);
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict xr = x + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float v = load(xr, c);
        fs[c] += v;
        fq[c] += v * v;
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      s[c] += fs[c];
      q[c] += fq[c];
    }
  }
}

template <bool Swish, typename T, typename Y>
CIN_INLINE void applyBody(const T* __restrict x, Y* __restrict y, int64_t rows, int64_t C,
                          const float* __restrict a, const float* __restrict b) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict xr = x + r * C;
    Y* __restrict yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float z = load(xr, c) * a[c] + b[c];
      store(yr, c, Swish ? z / (1.0f + expf_(-z)) : z);
    }
  }
}

// Per-channel Σg and Σg·(x − mean) over one image, g = dL/d(BN output). With swish, g (dL/dy
// taken back through the swish, the costly part: an exp and a division) is also stored in gOut,
// in x's storage type, so the second pass reads it back instead of computing it again. The sums
// (and so dγ, dβ) are of the unrounded values.
template <bool Swish, typename T, typename Y>
CIN_INLINE void gradSumsBody(const T* __restrict x, const Y* __restrict gy, T* __restrict gOut, int64_t rows,
                             int64_t C, const float* __restrict a, const float* __restrict b,
                             const float* __restrict mean, double* __restrict sg, double* __restrict sgx,
                             float* __restrict fg, float* __restrict fgx) {
  for (int64_t r0 = 0; r0 < rows; r0 += kSumChunk) {
    std::fill(fg, fg + C, 0.0f);
    std::fill(fgx, fgx + C, 0.0f);
    const int64_t r1 = std::min(rows, r0 + kSumChunk);
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict xr = x + r * C;
      const Y* __restrict gr = gy + r * C;
      T* __restrict go = gOut + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float v = load(xr, c);
        float g = load(gr, c);
        if constexpr (Swish) {
          g = swishGrad(g, v * a[c] + b[c]);
          store(go, c, g);
        }
        fg[c] += g;
        fgx[c] += g * (v - mean[c]);
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      sg[c] += fg[c];
      sgx[c] += fgx[c];
    }
  }
}

// dx = k1 · (g − k2 − (x − mean) · k3); g is read from gy (G = Y), or from gx itself where the
// first pass stored it (G = T, gy == gx: each element is read before it is overwritten).
template <typename T, typename G>
CIN_INLINE void gradApplyBody(const T* __restrict x, const G* gy, T* gx, int64_t rows, int64_t C,
                              const float* __restrict mean, const float* __restrict k1, const float* __restrict k2,
                              const float* __restrict k3) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict xr = x + r * C;
    const G* gr = gy + r * C;
    T* out = gx + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float v = load(xr, c);
      store(out, c, k1[c] * (load(gr, c) - k2[c] - (v - mean[c]) * k3[c]));
    }
  }
}

// One multi-versioned entry point per loop, storage pair and swish/plain. Overloads on the
// storage types let the templated autograd code below call them by one name.
#define CIN_BN_SUMS(T)                                                                                         \
  CIN_CLONES void imageSums(const T* x, int64_t rows, int64_t C, double* s, double* q, float* fs, float* fq) { \
    imageSumsBody<T>(x, rows, C, s, q, fs, fq);                                                                \
  }                                                                                                            \
  CIN_CLONES void gradApplyInPlace(const T* x, T* g, int64_t rows, int64_t C, const float* mean,               \
                                   const float* k1, const float* k2, const float* k3) {                        \
    gradApplyBody(x, g, g, rows, C, mean, k1, k2, k3);                                                         \
  }
#define CIN_BN_KERNELS(T, Y)                                                                                   \
  CIN_CLONES void applySwish(const T* x, Y* y, int64_t rows, int64_t C, const float* a, const float* b) {       \
    applyBody<true>(x, y, rows, C, a, b);                                                                      \
  }                                                                                                            \
  CIN_CLONES void applyPlain(const T* x, Y* y, int64_t rows, int64_t C, const float* a, const float* b) {       \
    applyBody<false>(x, y, rows, C, a, b);                                                                     \
  }                                                                                                            \
  CIN_CLONES void gradSumsSwish(const T* x, const Y* gy, T* gOut, int64_t rows, int64_t C, const float* a,     \
                                const float* b, const float* mean, double* sg, double* sgx, float* fg,         \
                                float* fgx) {                                                                  \
    gradSumsBody<true>(x, gy, gOut, rows, C, a, b, mean, sg, sgx, fg, fgx);                                    \
  }                                                                                                            \
  CIN_CLONES void gradSumsPlain(const T* x, const Y* gy, int64_t rows, int64_t C, const float* mean, double* sg, \
                                double* sgx, float* fg, float* fgx) {                                          \
    gradSumsBody<false>(x, gy, static_cast<T*>(nullptr), rows, C, nullptr, nullptr, mean, sg, sgx, fg, fgx);   \
  }                                                                                                            \
  CIN_CLONES void gradApplyPlain(const T* x, const Y* gy, T* gx, int64_t rows, int64_t C, const float* mean,    \
                                 const float* k1, const float* k2, const float* k3) {                          \
    gradApplyBody(x, gy, gx, rows, C, mean, k1, k2, k3);                                                       \
  }
CIN_BN_SUMS(float)
CIN_BN_SUMS(bf16)
CIN_BN_KERNELS(float, float)
CIN_BN_KERNELS(bf16, float)
CIN_BN_KERNELS(float, bf16)
CIN_BN_KERNELS(bf16, bf16)
#undef CIN_BN_KERNELS
#undef CIN_BN_SUMS

// Per-image double sums of two per-channel quantities, added over images in image order.
template <typename F>
std::pair<std::vector<double>, std::vector<double>> sumOverImages(int64_t n, int64_t C, F perImage) {
  std::vector<double> s(static_cast<size_t>(n * C), 0.0), q(static_cast<size_t>(n * C), 0.0);
  at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    std::vector<float> f1(static_cast<size_t>(C)), f2(static_cast<size_t>(C));
    for (int64_t i = b; i < e; ++i) perImage(i, s.data() + i * C, q.data() + i * C, f1.data(), f2.data());
  });
  std::vector<double> S(static_cast<size_t>(C), 0.0), Q(static_cast<size_t>(C), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < C; ++c) {
      S[c] += s[i * C + c];
      Q[c] += q[i * C + c];
    }
  return {std::move(S), std::move(Q)};
}

torch::Tensor floats(const std::vector<float>& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
}

class BatchNormSwishFunction : public torch::autograd::Function<BatchNormSwishFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& gamma, const torch::Tensor& beta, torch::Tensor runningMean,
                               torch::Tensor runningVar, double momentum, double eps, bool swish, bool bf16Out) {
    auto xc = x.contiguous(CL);
    const int64_t n = xc.size(0), C = xc.size(1), rows = xc.size(2) * xc.size(3), M = n * rows;
    if (M <= 1) throw std::invalid_argument("BatchNorm in training needs more than one value per channel");
    auto [S, Q] = withStorage(xc, [&](auto* tag) {
      const auto* xp = data<std::remove_pointer_t<decltype(tag)>>(xc);
      return sumOverImages(n, C, [&](int64_t i, double* s, double* q, float* f1, float* f2) {
        imageSums(xp + i * rows * C, rows, C, s, q, f1, f2);
      });
    });
    auto g = gamma.contiguous();
    auto bt = beta.contiguous();
    const float* gp = g.data_ptr<float>();
    const float* bp = bt.data_ptr<float>();
    std::vector<float> mean(C), invstd(C), a(C), b(C), unbiased(C);
    for (int64_t c = 0; c < C; ++c) {
      const double m = S[c] / M;
      const double var = std::max(0.0, Q[c] / M - m * m);
      const double is = 1.0 / std::sqrt(var + eps);
      mean[c] = static_cast<float>(m);
      invstd[c] = static_cast<float>(is);
      a[c] = static_cast<float>(gp[c] * is);
      b[c] = static_cast<float>(bp[c] - m * gp[c] * is);
      unbiased[c] = static_cast<float>(var * M / (M - 1));
    }
    {
      torch::NoGradGuard ng;
      runningMean.mul_(1.0 - momentum).add_(floats(mean), momentum);
      runningVar.mul_(1.0 - momentum).add_(floats(unbiased), momentum);
    }
    auto y = at::empty(xc.sizes(), xc.options().dtype(bf16Out ? torch::kBFloat16 : torch::kFloat32).memory_format(CL));
    withStorage(xc, [&](auto* xt) {
      withStorage(y, [&](auto* yt) {
        const auto* xp = data<std::remove_pointer_t<decltype(xt)>>(xc);
        auto* yp = data<std::remove_pointer_t<decltype(yt)>>(y);
        at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) {
            if (swish) applySwish(xp + i * rows * C, yp + i * rows * C, rows, C, a.data(), b.data());
            else applyPlain(xp + i * rows * C, yp + i * rows * C, rows, C, a.data(), b.data());
          }
        });
      });
    });
    ctx->save_for_backward({xc, g});
    ctx->saved_data["mean"] = floats(mean);
    ctx->saved_data["invstd"] = floats(invstd);
    ctx->saved_data["a"] = floats(a);
    ctx->saved_data["b"] = floats(b);
    ctx->saved_data["swish"] = swish;
    ctx->saved_data["bf16Out"] = bf16Out;
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& gamma = saved[1];
    const bool swish = ctx->saved_data["swish"].toBool();
    auto meanT = ctx->saved_data["mean"].toTensor();
    auto invstdT = ctx->saved_data["invstd"].toTensor();
    auto aT = ctx->saved_data["a"].toTensor();
    auto bT = ctx->saved_data["b"].toTensor();
    const float *mean = meanT.data_ptr<float>(), *invstd = invstdT.data_ptr<float>(), *a = aT.data_ptr<float>(),
                *b = bT.data_ptr<float>(), *gp = gamma.data_ptr<float>();
    const int64_t n = x.size(0), C = x.size(1), rows = x.size(2) * x.size(3), M = n * rows;
    // dL/dy arrives in y's storage type.
    auto gy = grads[0].to(ctx->saved_data["bf16Out"].toBool() ? torch::kBFloat16 : torch::kFloat32).contiguous(CL);
    auto gx = at::empty_like(x, x.options().memory_format(CL));  // x's dtype: bfloat16 goes back as bfloat16
    // Swish: the first pass also leaves dL/d(BN output) in gx, and the second rewrites it in place.
    auto [SG, SGX] = withStorage(x, [&](auto* xt) {
      return withStorage(gy, [&](auto* yt) {
        using T = std::remove_pointer_t<decltype(xt)>;
        const T* xp = data<T>(x);
        T* gxp = data<T>(gx);
        const auto* gyp = data<std::remove_pointer_t<decltype(yt)>>(gy);
        return sumOverImages(n, C, [&](int64_t i, double* sg, double* sgx, float* f1, float* f2) {
          const int64_t off = i * rows * C;
          if (swish) gradSumsSwish(xp + off, gyp + off, gxp + off, rows, C, a, b, mean, sg, sgx, f1, f2);
          else gradSumsPlain(xp + off, gyp + off, rows, C, mean, sg, sgx, f1, f2);
        });
      });
    });
    std::vector<float> gGamma(C), gBeta(C), k1(C), k2(C), k3(C);
    for (int64_t c = 0; c < C; ++c) {
      const double is = invstd[c];
      gGamma[c] = static_cast<float>(SGX[c] * is);
      gBeta[c] = static_cast<float>(SG[c]);
      k1[c] = static_cast<float>(gp[c] * is);
      k2[c] = static_cast<float>(SG[c] / M);
      k3[c] = static_cast<float>(SGX[c] * is * is / M);
    }
    withStorage(x, [&](auto* xt) {
      withStorage(gy, [&](auto* yt) {
        using T = std::remove_pointer_t<decltype(xt)>;
        const T* xp = data<T>(x);
        T* gxp = data<T>(gx);
        const auto* gyp = data<std::remove_pointer_t<decltype(yt)>>(gy);
        at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) {
            const int64_t off = i * rows * C;
            if (swish) gradApplyInPlace(xp + off, gxp + off, rows, C, mean, k1.data(), k2.data(), k3.data());
            else gradApplyPlain(xp + off, gyp + off, gxp + off, rows, C, mean, k1.data(), k2.data(), k3.data());
          }
        });
      });
    });
    return {gx, floats(gGamma), floats(gBeta), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool batchNormSwishApplies(const torch::Tensor& x) {
  return x.device().is_cpu() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) &&
         x.dim() == 4;
}

torch::Tensor batchNormSwish(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta,
                             torch::Tensor& runningMean, torch::Tensor& runningVar, double momentum, double eps,
                             bool swish, bool bf16Out) {
  return BatchNormSwishFunction::apply(x, gamma, beta, runningMean, runningVar, momentum, eps, swish, bf16Out);
}

}  // namespace cin
