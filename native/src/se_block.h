// A squeeze-and-excitation block as one differentiable op on float32 CPU tensors in the
// channels-last layout: y = a · σ(W2 · swish(W1 · mean_hw(a) + b1) + b2), per image and channel.
// As separate LibTorch ops its backward sweeps the activation about ten times (the scale's two
// products and their sum, the mean's broadcast, and adding the two gradients of a); here it is
// twice in backward and three times in forward. The small MLP stays LibTorch's own ops.
#pragma once

#include <torch/torch.h>

namespace cin {

// True when seBlock can take a: CPU float32 or bfloat16 (mixed precision; its gradient is then
// bfloat16 too), 4-D.
bool seBlockApplies(const torch::Tensor& a);

// w1: (Cr, C, 1, 1), b1: (Cr), w2: (C, Cr, 1, 1), b2: (C). Sums over pixels run per image in a
// fixed order: the result does not depend on the thread count. bf16Out: y in bfloat16, for a
// mixed-precision convolution that reads it (its gradient then comes back in bfloat16 too).
torch::Tensor seBlock(const torch::Tensor& a, const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                      const torch::Tensor& b2, bool bf16Out = false);

}  // namespace cin
