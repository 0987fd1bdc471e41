// A small graph interpreter for a Keras-named convolutional network (EfficientNetB0 as described by
// src/train/graph.ts). The graph arrives as JSON from TypeScript, so the TS description is the one
// source of truth for layer names, shapes and wiring (addon.cc turns the JS object into a Graph).
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace cin {

// How a Keras weight maps to the torch tensor that holds it.
enum class Layout { Flat, Conv, Depthwise, Dense };

struct Weight {
  std::string name;                 // Keras name, e.g. "stem_conv/kernel:0"
  std::vector<int64_t> kerasShape;  // Keras shape
  Layout layout = Layout::Flat;
  bool trainable = true;
  torch::Tensor t;                  // torch layout (conv kernels channels-last)
};

struct Op {
  std::string kind;  // input rescale normalize pad conv bn act gap mul add dropout dense
  std::vector<std::string> in;
  std::string out;
  // parameters (not all used by every kind)
  std::vector<std::string> w;  // weight names, kind-specific order
  int64_t stride = 1, groups = 1, kernel = 1, pad = 0;
  double eps = 1e-3, momentum = 0.99, rate = 0.0, scale = 1.0, offset = 0.0;
  std::string fn;  // act: swish|sigmoid|relu ; dropout: sample|element
  bool keepdims = false;
  std::vector<int64_t> pads;  // pad: top, bottom, left, right
  // resolved weight pointers
  std::vector<Weight*> wp;
  int lastUse = -1;  // filled for inputs' liveness (index into ops)
  // bn whose only reader is a swish: that act's index. Training with own kernels runs the two
  // as one op, and the act passes its input through.
  int swishOf = -1;
  // Squeeze-and-excitation: on its gap, the mul that ends it and the ops between (skipped when
  // training with own kernels runs the block as one op at the mul); on both, its two 1×1 convs.
  int seMul = -1, seConv1 = -1, seConv2 = -1;
  std::vector<int> seChain;
  // conv: a 1×1 convolution without bias, groups 1 — the convs mixed precision runs in bfloat16.
  bool pointwise = false;
  // Every reader of this op's output is a pointwise conv / a bn / a depthwise conv (directly or
  // through a pad): mixed precision may hand it bfloat16 (own kernels read it).
  bool feedsPointwise = false, feedsBatchNorm = false, feedsDepthwise = false;
  // Read only by one squeeze-and-excitation block (its gap and its mul), which own kernels fuse.
  bool feedsSeBlock = false;
};

struct StepResult {
  double lossSum = 0;  // summed over the batch
  int64_t top1 = 0, top7 = 0, n = 0;
};

struct Graph {
  std::vector<Weight> weights;  // t empty: allocated by Net
  std::vector<Op> ops;
  std::string output;
};

class Net {
 public:
  // device: "cpu" or "cuda[:N]" (needs a CUDA build of LibTorch). ownKernels: use this project's
  // CPU kernels where LibTorch's are slow (depthwise weight gradient); false = LibTorch's alone.
  // mixedBf16: in training, the 1×1 and depthwise convolutions run in bfloat16 (bfloat16
  // activations between them, bfloat16 copies of the weights), like Keras's "mixed_bfloat16"
  // policy; weights, optimiser state, BatchNorm statistics and arithmetic, and everything else stay
  // float32, and evaluation is float32 throughout.
  Net(Graph graph, double lr, const std::string& device = "cpu", bool ownKernels = true, bool mixedBf16 = false);

  const std::vector<std::unique_ptr<Weight>>& weights() const { return weights_; }
  Weight* find(const std::string& name);

  // Keras-layout float32 in/out.
  std::vector<float> getWeight(const std::string& name);
  void setWeight(const std::string& name, const float* data, size_t count);

  // x: N*H*W*3 float32 NHWC (0–255); labels: N int32.
  StepResult trainStep(const float* x, const int32_t* labels, int64_t n, int64_t h, int64_t w, uint64_t seed);
  StepResult evalStep(const float* x, const int32_t* labels, int64_t n, int64_t h, int64_t w);
  // Eval-mode value of the named tensor (default: the graph output), flattened per sample.
  torch::Tensor forwardTo(const float* x, int64_t n, int64_t h, int64_t w, const std::string& name);

  std::string saveOptimizer();
  void loadOptimizer(const std::string& bytes);
  void setLearningRate(double lr);

  int64_t numClasses() const { return numClasses_; }
  const std::string& outputName() const { return output_; }
  std::string deviceName() const { return device_.str(); }
  bool ownKernels() const { return ownKernels_; }
  bool mixedBf16() const { return mixedBf16_; }

 private:
  torch::Tensor run(const torch::Tensor& x, bool training, const std::string& stopAt);
  torch::Tensor input(const float* x, int64_t n, int64_t h, int64_t w);
  StepResult score(const torch::Tensor& logits, const torch::Tensor& labels, double lossSum);

  std::vector<std::unique_ptr<Weight>> weights_;
  std::map<std::string, Weight*> byName_;
  std::unordered_map<std::string, int> lastUse_;
  std::vector<Op> ops_;
  std::string output_;
  int64_t numClasses_ = 0;
  torch::Device device_ = torch::kCPU;
  bool ownKernels_ = true;
  bool mixedBf16_ = false;
  std::unique_ptr<torch::optim::Adam> opt_;
};

}  // namespace cin
