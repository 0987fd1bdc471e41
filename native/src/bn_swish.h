// Training-mode BatchNorm followed by swish (or by nothing), as one differentiable op on CPU
// tensors in the channels-last layout (float32, or bfloat16 activations in mixed precision).
// LibTorch runs them as two ops that each sweep memory in both passes (13 sweeps of the activation
// per layer and step, and the normalised tensor kept for backward); fused, it is 9 sweeps (the
// backward's first pass leaves dL/dz for the second, so the swish's exp and division run once) and
// only the input is kept. In float32 these two ops were about a third of an EfficientNetB0 step.
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
