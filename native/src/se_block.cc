#include "se_block.h"
#include "bfloat16.h"
#include "simd.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace cin {

namespace {

constexpr auto CL = at::MemoryFormat::ChannelsLast;


// The block's input a and output y are each float or bfloat16 (mixed precision: a bfloat16
// BatchNorm output, a bfloat16 input for the 1×1 convolution after it); each gradient comes back in
// its tensor's type. Scales and sums are float (sums per 256 rows, then double).

// out[c] = Σ_rows x[r][c] (· y[r][c] when y is given), for one image of `rows` pixels.
template <typename X, typename Y>
CIN_INLINE void channelSumsBody(const X* __restrict x, const Y* __restrict y, int64_t rows, int64_t C,
                                double* __restrict out, float* __restrict f) {
  std::fill(out, out + C, 0.0);
  for (int64_t r0 = 0; r0 < rows; r0 += kSumChunk) {
    std::fill(f, f + C, 0.0f);
    const int64_t r1 = std::min(rows, r0 + kSumChunk);
    for (int64_t r = r0; r < r1; ++r) {
      const X* __restrict xr = x + r * C;
      if (y) {
        const Y* __restrict yr = y + r * C;
        for (int64_t c = 0; c < C; ++c) f[c] += load(xr, c) * load(yr, c);
      } else {
        for (int64_t c = 0; c < C; ++c) f[c] += load(xr, c);
      }
    }
    for (int64_t c = 0; c < C; ++c) out[c] += f[c];
  }
}

// out[r][c] = x[r][c] · s[c] (+ add[c] when given), for one image.
template <typename In, typename Out>
CIN_INLINE void scaleRowsBody(const In* __restrict x, const float* __restrict s, const float* __restrict add,
                              Out* __restrict out, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; ++r) {
    const In* __restrict xr = x + r * C;
    Out* __restrict o = out + r * C;
    if (add) {
      for (int64_t c = 0; c < C; ++c) store(o, c, load(xr, c) * s[c] + add[c]);
    } else {
      for (int64_t c = 0; c < C; ++c) store(o, c, load(xr, c) * s[c]);
    }
  }
}

// One multi-versioned entry point per loop and storage pair, overloaded on the types.
#define CIN_SE_KERNELS(A, B)                                                                                  \
  CIN_CLONES void channelSums(const A* x, const B* y, int64_t rows, int64_t C, double* out, float* f) {       \
    channelSumsBody(x, y, rows, C, out, f);                                                                   \
  }                                                                                                           \
  CIN_CLONES void scaleRows(const A* x, const float* s, const float* add, B* out, int64_t rows, int64_t C) {   \
    scaleRowsBody(x, s, add, out, rows, C);                                                                   \
  }
CIN_SE_KERNELS(float, float)
CIN_SE_KERNELS(float, bf16)
CIN_SE_KERNELS(bf16, float)
CIN_SE_KERNELS(bf16, bf16)
#undef CIN_SE_KERNELS

// Per image and channel Σ_pixels x (· y), as an (N, C) float tensor. x, y: float or bfloat16.
torch::Tensor pixelSums(const torch::Tensor& x, const torch::Tensor& y) {
  const int64_t n = x.size(0), C = x.size(1), rows = x.size(2) * x.size(3);
  std::vector<double> sums(static_cast<size_t>(n * C));
  withStorage(x, [&](auto* xt) {
    withStorage(y.defined() ? y : x, [&](auto* yt) {
      const auto* xp = data<std::remove_pointer_t<decltype(xt)>>(x);
      const auto* yp = y.defined() ? data<std::remove_pointer_t<decltype(yt)>>(y) : nullptr;
      at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
        std::vector<float> f(static_cast<size_t>(C));
        for (int64_t i = b; i < e; ++i) {
          const int64_t off = i * rows * C;
          channelSums(xp + off, yp ? yp + off : yp, rows, C, sums.data() + i * C, f.data());
        }
      });
    });
  });
  auto out = torch::empty({n, C}, torch::kFloat32);
  float* op = out.data_ptr<float>();
  for (int64_t i = 0; i < n * C; ++i) op[i] = static_cast<float>(sums[i]);
  return out;
}

// The excitation MLP on the (N, C) means: σ(W2 · swish(W1 · m + b1) + b2).
torch::Tensor excite(const torch::Tensor& m, const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                     const torch::Tensor& b2) {
  auto h = torch::linear(m, w1.reshape({w1.size(0), w1.size(1)}), b1);
  return torch::sigmoid(torch::linear(torch::silu(h), w2.reshape({w2.size(0), w2.size(1)}), b2));
}

// out = x · s (+ add), s and add per image and channel ((N, C) tensors), out in dtype `to`.
torch::Tensor scale(const torch::Tensor& x, const torch::Tensor& s, const torch::Tensor& add, torch::ScalarType to) {
  const int64_t n = x.size(0), C = x.size(1), rows = x.size(2) * x.size(3);
  auto out = at::empty(x.sizes(), x.options().dtype(to).memory_format(CL));
  const float* sp = s.data_ptr<float>();
  const float* ap = add.defined() ? add.data_ptr<float>() : nullptr;
  withStorage(x, [&](auto* xt) {
    withStorage(out, [&](auto* ot) {
      const auto* xp = data<std::remove_pointer_t<decltype(xt)>>(x);
      auto* op = data<std::remove_pointer_t<decltype(ot)>>(out);
      at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          scaleRows(xp + i * rows * C, sp + i * C, ap ? ap + i * C : nullptr, op + i * rows * C, rows, C);
      });
    });
  });
  return out;
}

class SeBlockFunction : public torch::autograd::Function<SeBlockFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& w1,
                               const torch::Tensor& b1, const torch::Tensor& w2, const torch::Tensor& b2, bool bf16Out) {
    auto ac = a.contiguous(CL);
    auto m = pixelSums(ac, torch::Tensor()) / static_cast<double>(ac.size(2) * ac.size(3));
    auto s = excite(m, w1, b1, w2, b2).contiguous();
    ctx->save_for_backward({ac, w1, b1, w2, b2});
    ctx->saved_data["m"] = m;
    ctx->saved_data["s"] = s;
    return scale(ac, s, torch::Tensor(), bf16Out ? torch::kBFloat16 : torch::kFloat32);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& a = saved[0];
    auto g = grads[0].contiguous(CL);  // in y's storage type
    auto s = ctx->saved_data["s"].toTensor();
    const double hw = static_cast<double>(a.size(2) * a.size(3));
    // dL/ds = Σ_pixels g·a; then back through the small MLP with LibTorch's autograd.
    auto gs = pixelSums(a, g);
    torch::Tensor gm, gw1, gb1, gw2, gb2;
    {
      torch::AutoGradMode on(true);
      auto m = ctx->saved_data["m"].toTensor().detach().requires_grad_(true);
      std::vector<torch::Tensor> w;
      for (int i = 1; i <= 4; ++i) w.push_back(saved[i].detach().requires_grad_(true));
      auto sAgain = excite(m, w[0], w[1], w[2], w[3]);
      auto r = torch::autograd::grad({sAgain}, {m, w[0], w[1], w[2], w[3]}, {gs});
      gm = r[0];
      gw1 = r[1];
      gb1 = r[2];
      gw2 = r[3];
      gb2 = r[4];
    }
    // dL/da = g·s + dL/dm / (H·W), in one sweep.
    auto ga = scale(g, s, (gm / hw).contiguous(), a.scalar_type());
    return {ga, gw1, gb1, gw2, gb2, torch::Tensor()};
  }
};

}  // namespace

bool seBlockApplies(const torch::Tensor& a) {
  return a.device().is_cpu() && (a.scalar_type() == torch::kFloat32 || a.scalar_type() == torch::kBFloat16) &&
         a.dim() == 4;
}

torch::Tensor seBlock(const torch::Tensor& a, const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                      const torch::Tensor& b2, bool bf16Out) {
  return SeBlockFunction::apply(a, w1, b1, w2, b2, bf16Out);
}

}  // namespace cin
