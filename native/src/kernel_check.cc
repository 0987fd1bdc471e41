#include "kernel_check.h"

#include <torch/torch.h>

#include "bn_swish.h"
#include "depthwise.h"
#include "se_block.h"

namespace cin {

namespace {

constexpr auto CL = at::MemoryFormat::ChannelsLast;

double rel(const torch::Tensor& ownAny, const torch::Tensor& refAny) {
  auto own = ownAny.to(torch::kFloat32), ref = refAny.to(torch::kFloat32);
  auto scale = ref.abs().max().item<double>();
  return (own - ref).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

// Records, for each output name, the worst difference between the two routes.
void compare(std::map<std::string, double>& out, const std::string& name, const std::vector<torch::Tensor>& inputs,
             const std::function<torch::Tensor()>& own, const std::function<torch::Tensor()>& ref,
             const std::vector<std::string>& inputNames) {
  auto y1 = own();
  auto y2 = ref();
  auto gy = torch::randn_like(y2);
  auto g1 = torch::autograd::grad({y1}, inputs, {gy});
  auto g2 = torch::autograd::grad({y2}, inputs, {gy});
  auto put = [&](const std::string& k, double v) { out[k] = std::max(out.count(k) ? out[k] : 0.0, v); };
  put(name + ".y", rel(y1, y2));
  for (size_t i = 0; i < inputs.size(); ++i) put(name + ".d" + inputNames[i], rel(g1[i], g2[i]));
}

}  // namespace

std::map<std::string, double> checkKernels(bool bf16Convs) {
  torch::manual_seed(20211);
  std::map<std::string, double> out;
  // Depthwise: 3×3 and 5×5, stride 1 and 2, channel counts with and without a 16-wide remainder;
  // x float32, or bfloat16 as mixed precision feeds it (_x16: the reference convolves the same
  // values as float, with the weight rounded as oneDNN gets it but keeping its float gradient, and
  // rounds y). The bfloat16 convolution is oneDNN's, which needs AVX-512.
  struct Dw {
    int64_t c, h, k, s, pad;
  };
  for (bool x16 : {false, true}) {
    if (x16 && !bf16Convs) break;
    for (const Dw& d : {Dw{32, 12, 3, 1, 1}, Dw{24, 13, 3, 2, 0}, Dw{40, 9, 5, 1, 2}, Dw{19, 11, 5, 2, 0}}) {
      auto x = torch::randn({3, d.c, d.h, d.h}).to(x16 ? torch::kBFloat16 : torch::kFloat32).contiguous(CL).requires_grad_(true);
      auto w = torch::randn({d.c, 1, d.k, d.k}).contiguous(CL).requires_grad_(true);
      compare(
          out, x16 ? "depthwise_x16" : "depthwise", {x, w}, [&] { return depthwiseConv(x, w, {d.k, d.s, d.pad}); },
          [&] {
            auto wr = x16 ? (w.to(torch::kBFloat16).to(torch::kFloat32) - w).detach() + w : w;
            auto y = torch::conv2d(x.to(torch::kFloat32), wr, c10::optional<torch::Tensor>(), at::IntArrayRef{d.s, d.s},
                                   at::IntArrayRef{d.pad, d.pad}, at::IntArrayRef{1, 1}, d.c);
            return x16 ? y.to(torch::kBFloat16) : y;
          },
          {"x", "w"});
    }
  }
  // BatchNorm (+ swish), including the running statistics. x and y float32, or either bfloat16
  // as mixed precision uses them (_x16: x; _y16: y); the reference computes on the same values
  // as float and rounds y.
  for (bool swish : {true, false}) {
    for (bool x16 : {false, true})
    for (bool y16 : {false, true})
    for (int64_t c : {16, 24, 37}) {
      const auto dt = x16 ? torch::kBFloat16 : torch::kFloat32;
      auto x = (torch::randn({4, c, 7, 9}) * 3 + 1).to(dt).contiguous(CL).requires_grad_(true);
      auto g = (torch::rand({c}) + 0.5).requires_grad_(true);
      auto b = torch::randn({c}).requires_grad_(true);
      auto rm1 = torch::randn({c}), rv1 = torch::rand({c}) + 0.5;
      auto rm2 = rm1.clone(), rv2 = rv1.clone();
      const std::string name = std::string(swish ? "bn_swish" : "bn") + (x16 ? "_x16" : "") + (y16 ? "_y16" : "");
      compare(
          out, name, {x, g, b}, [&] { return batchNormSwish(x, g, b, rm1, rv1, 0.01, 1e-3, swish, y16); },
          [&] {
            auto z = torch::batch_norm(x.to(torch::kFloat32), g, b, rm2, rv2, true, 0.01, 1e-3, false);
            auto y = swish ? torch::silu(z) : z;
            return y16 ? y.to(torch::kBFloat16) : y;
          },
          {"x", "gamma", "beta"});
      out[name + ".running_mean"] = std::max(out[name + ".running_mean"], rel(rm1, rm2));
      out[name + ".running_var"] = std::max(out[name + ".running_var"], rel(rv1, rv2));
    }
  }
  // Squeeze-and-excitation; input and output float32 or, as mixed precision uses them, bfloat16
  // (_a16: the input; _y16: the output).
  for (bool a16 : {false, true})
  for (bool bf16Out : {false, true})
  for (int64_t c : {32, 40}) {
    const int64_t cr = c / 4;
    auto a = torch::randn({3, c, 6, 5}).to(a16 ? torch::kBFloat16 : torch::kFloat32).contiguous(CL).requires_grad_(true);
    auto w1 = (torch::randn({cr, c, 1, 1}) * 0.3).contiguous(CL).requires_grad_(true);
    auto b1 = torch::randn({cr}).requires_grad_(true);
    auto w2 = (torch::randn({c, cr, 1, 1}) * 0.3).contiguous(CL).requires_grad_(true);
    auto b2 = torch::randn({c}).requires_grad_(true);
    compare(
        out, std::string("se") + (a16 ? "_a16" : "") + (bf16Out ? "_y16" : ""), {a, w1, b1, w2, b2},
        [&] { return seBlock(a, w1, b1, w2, b2, bf16Out); },
        [&] {
          auto af = a.to(torch::kFloat32);
          auto m = af.mean({2, 3}, true);
          auto h = torch::silu(torch::conv2d(m, w1, b1));
          auto y = af * torch::sigmoid(torch::conv2d(h, w2, b2));
          return bf16Out ? y.to(torch::kBFloat16) : y;
        },
        {"a", "w1", "b1", "w2", "b2"});
  }
  return out;
}

}  // namespace cin
