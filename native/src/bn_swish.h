// Training-mode BatchNorm followed by swish (or by nothing), as one differentiable op on float32
// CPU tensors in the channels-last layout. LibTorch runs them as two ops that each sweep memory
// in both passes (13 sweeps of the activation per layer and step, and the normalised tensor kept
// for backward); fused, it is 8 sweeps and only the input is kept. About a third of an
// EfficientNetB0 step on CPU is these two ops, all memory-bound.
#pragma once

#include <torch/torch.h>

namespace cin {

// True when batchNormSwish can take x: CPU float32 or bfloat16, 4-D.
bool batchNormSwishApplies(const torch::Tensor& x);

// y = swish(batch_norm(x)) (swish = false: y = batch_norm(x)) with batch statistics, updating
// runningMean/runningVar in place like torch::batch_norm (momentum = weight of the new batch;
// unbiased variance for the running estimate). Sums run per image, then over images in order, in
// double: the result does not depend on the thread count. x may be bfloat16 (mixed precision; its
// gradient is returned as bfloat16); bf16Out: y in bfloat16 (its gradient then arrives as
// bfloat16). Arithmetic is float throughout.
torch::Tensor batchNormSwish(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta,
                             torch::Tensor& runningMean, torch::Tensor& runningVar, double momentum, double eps,
                             bool swish, bool bf16Out = false);

}  // namespace cin
