// Depthwise convolution (one k×k filter per channel, multiplier 1) for float32 CPU tensors in the
// channels-last layout. Forward and input gradient are LibTorch's (oneDNN); the weight gradient is
// our own: oneDNN 2.6 (LibTorch 1.13) computes it at 2–8× the cost of its forward pass, worst for
// the 5×5 kernels, where these loops (vectorised over channels, one sweep of x and dy per tap row)
// are 2–8× faster.
#pragma once

#include <torch/torch.h>

namespace cin {

struct DepthwiseGeometry {
  int64_t kernel = 3, stride = 1, pad = 0;  // pad: the same on every side
};

// True when depthwiseConv can take this input and weight: CPU, x float32 or bfloat16 (mixed
// precision: y and dx are then bfloat16, the float32 weight is rounded for the convolution and its
// gradient is float32), weight float32 (C, 1, k, k), C = x's channels.
bool depthwiseApplies(const torch::Tensor& x, const torch::Tensor& w);

// y = depthwise(x, w), differentiable in x and w. The weight gradient is summed in a fixed order
// (per image, then images in order), whatever the thread count.
torch::Tensor depthwiseConv(const torch::Tensor& x, const torch::Tensor& w, const DepthwiseGeometry& g);

}  // namespace cin
