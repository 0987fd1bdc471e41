// Compares this project's CPU kernels (depthwise weight gradient, BatchNorm+swish, squeeze-and-
// excitation) with the same computation in plain LibTorch ops, forward and every gradient, on
// seeded random tensors. The largest relative difference per quantity (max |own − LibTorch| /
// max |LibTorch|) comes back by name; tests and `train` users on another LibTorch build run it.
#pragma once

#include <map>
#include <string>

namespace cin {

// bf16Convs: also check the bfloat16 depthwise convolution (oneDNN needs AVX-512 for it).
std::map<std::string, double> checkKernels(bool bf16Convs);

}  // namespace cin
