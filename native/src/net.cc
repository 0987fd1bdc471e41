#include "net.h"

#include "bn_swish.h"
#include "depthwise.h"
#include "se_block.h"

#include <torch/version.h>
// The legacy op profiler (CYTOIMAGENET_TRAIN_PROFILE=ops) is LibTorch 1.x API.
#if TORCH_VERSION_MAJOR < 2
#define CIN_LEGACY_PROFILER 1
#include <torch/csrc/autograd/profiler_legacy.h>
#endif

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace cin {

namespace {

std::vector<int64_t> torchShape(const Weight& w) {
  const auto& k = w.kerasShape;
  switch (w.layout) {
    case Layout::Conv:  // (kh, kw, in, out) -> (out, in, kh, kw)
      return {k.at(3), k.at(2), k.at(0), k.at(1)};
    case Layout::Depthwise:  // (kh, kw, in, m) -> (in*m, 1, kh, kw)
      return {k.at(2) * k.at(3), 1, k.at(0), k.at(1)};
    case Layout::Dense:  // (in, out) -> (out, in)
      return {k.at(1), k.at(0)};
    case Layout::Flat: {
      int64_t n = 1;
      for (auto d : k) n *= d;
      return {n};
    }
  }
  return {};
}

torch::Tensor kerasToTorch(const Weight& w, const torch::Tensor& keras) {
  switch (w.layout) {
    case Layout::Conv:
      return keras.permute({3, 2, 0, 1});
    case Layout::Depthwise: {
      const auto& k = w.kerasShape;
      return keras.permute({2, 3, 0, 1}).reshape({k[2] * k[3], 1, k[0], k[1]});
    }
    case Layout::Dense:
      return keras.t();
    case Layout::Flat:
      return keras.reshape({-1});
  }
  return keras;
}

torch::Tensor torchToKeras(const Weight& w, const torch::Tensor& t) {
  const auto& k = w.kerasShape;
  switch (w.layout) {
    case Layout::Conv:
      return t.permute({2, 3, 1, 0});
    case Layout::Depthwise:
      return t.reshape({k[2], k[3], k[0], k[1]}).permute({2, 3, 0, 1});
    case Layout::Dense:
      return t.t();
    case Layout::Flat:
      return t.reshape(k);
  }
  return t;
}

size_t arity(const std::string& kind) {
  if (kind == "mul" || kind == "add") return 2;
  if (kind == "input") return 0;
  return 1;
}

size_t weightCount(const std::string& kind, size_t given) {
  if (kind == "normalize") return 2;
  if (kind == "bn") return 4;
  if (kind == "dense") return 2;
  if (kind == "conv") return given == 2 ? 2 : 1;  // kernel [, bias]
  return 0;
}

}  // namespace

Net::Net(Graph graph, double lr, const std::string& device, bool ownKernels, bool mixedBf16)
    : device_(device), ownKernels_(ownKernels && device_.is_cpu()), mixedBf16_(mixedBf16) {
  if (device_.is_cuda() && !torch::cuda::is_available())
    throw std::invalid_argument("device " + device + " asked for, but this LibTorch has no CUDA device (a CPU build, or no GPU visible)");
  // LibTorch lets cuDNN use TF32 (as Keras/TensorFlow do); CYTOIMAGENET_TRAIN_TF32=0 keeps float32.
  if (device_.is_cuda()) {
    if (const char* v = std::getenv("CYTOIMAGENET_TRAIN_TF32"); v && std::string(v) == "0") {
      at::globalContext().setAllowTF32CuDNN(false);
      at::globalContext().setAllowTF32CuBLAS(false);
    }
  }
  for (auto& w : graph.weights) {
    auto p = std::make_unique<Weight>(std::move(w));
    auto shape = torchShape(*p);
    auto t = torch::zeros(shape, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
    if (p->layout == Layout::Conv || p->layout == Layout::Depthwise) t = t.contiguous(at::MemoryFormat::ChannelsLast);
    if (p->trainable) t.set_requires_grad(true);
    p->t = t;
    if (byName_.count(p->name)) throw std::invalid_argument("duplicate weight " + p->name);
    byName_[p->name] = p.get();
    weights_.push_back(std::move(p));
  }
  ops_ = std::move(graph.ops);
  output_ = graph.output;
  std::unordered_set<std::string> defined;
  for (auto& op : ops_) {
    if (op.in.size() != arity(op.kind)) throw std::invalid_argument("op " + op.out + " (" + op.kind + ") has the wrong number of inputs");
    for (auto& i : op.in)
      if (!defined.count(i)) throw std::invalid_argument("op " + op.out + " reads " + i + " before it is defined");
    if (op.w.size() != weightCount(op.kind, op.w.size())) throw std::invalid_argument("op " + op.out + " (" + op.kind + ") has the wrong number of weights");
    for (auto& n : op.w) {
      auto* p = find(n);
      if (!p) throw std::invalid_argument("op " + op.out + " uses unknown weight " + n);
      op.wp.push_back(p);
    }
    defined.insert(op.out);
  }
  if (!defined.count(output_)) throw std::invalid_argument("graph output " + output_ + " is not produced by any op");
  // The output of the last dense layer sets the class count.
  for (auto& op : ops_)
    if (op.kind == "dense" && op.out == output_) numClasses_ = op.wp[0]->kerasShape.at(1);
  if (numClasses_ <= 0) throw std::invalid_argument("graph output must be a dense layer");
  // Liveness: free each intermediate right after its last reader (keeps eval memory low).
  std::unordered_map<std::string, int> last;
  for (int i = 0; i < static_cast<int>(ops_.size()); ++i)
    for (auto& n : ops_[i].in) last[n] = i;
  for (auto& op : ops_) op.lastUse = last.count(op.out) ? last[op.out] : -1;
  lastUse_ = last;
  {
    std::unordered_map<std::string, std::vector<int>> readersOf;
    for (int i = 0; i < static_cast<int>(ops_.size()); ++i) {
      auto& op = ops_[i];
      op.pointwise = op.kind == "conv" && op.kernel == 1 && op.groups == 1 && op.stride == 1 && op.pad == 0 && op.wp.size() == 1;
      for (const auto& n : op.in) readersOf[n].push_back(i);
    }
    auto isDepthwise = [](const Op& r) {
      return r.kind == "conv" && r.wp.size() == 1 && r.wp[0]->layout == Layout::Depthwise;
    };
    // Backwards, so that a pad's flag is known before the op that feeds it.
    for (int i = static_cast<int>(ops_.size()) - 1; i >= 0; --i) {
      auto& op = ops_[i];
      auto it = readersOf.find(op.out);
      if (it == readersOf.end() || op.out == output_) continue;
      op.feedsPointwise = op.feedsBatchNorm = op.feedsDepthwise = true;
      for (int r : it->second) {
        op.feedsPointwise = op.feedsPointwise && ops_[r].pointwise;
        op.feedsBatchNorm = op.feedsBatchNorm && ops_[r].kind == "bn";
        op.feedsDepthwise = op.feedsDepthwise && (isDepthwise(ops_[r]) || (ops_[r].kind == "pad" && ops_[r].feedsDepthwise));
      }
    }
  }
  if (ownKernels_) {
    std::unordered_map<std::string, int> readers;
    for (const auto& op : ops_)
      for (const auto& n : op.in) ++readers[n];
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < static_cast<int>(ops_.size()); ++i) producer[ops_[i].out] = i;
    for (int i = 0; i < static_cast<int>(ops_.size()); ++i) {
      auto& act = ops_[i];
      if (act.kind != "act" || act.fn != "swish") continue;
      const int b = producer.at(act.in[0]);
      if (ops_[b].kind == "bn" && readers[ops_[b].out] == 1 && ops_[b].out != output_) {
        ops_[b].swishOf = i;
      }
    }
    // Squeeze-and-excitation: mul(a, sigmoid(conv(swish(conv(reshape4(gap(a))))))), each link
    // read once, the convs 1×1 with bias.
    for (int i = 0; i < static_cast<int>(ops_.size()); ++i) {
      if (ops_[i].kind != "mul") continue;
      std::vector<int> chain;
      auto step = [&](const std::string& name, const char* kind, const char* fn) -> int {
        auto it = producer.find(name);
        if (it == producer.end() || readers[name] != 1 || name == output_) return -1;
        const Op& p = ops_[it->second];
        if (p.kind != kind || (fn && p.fn != fn)) return -1;
        if (p.kind == std::string("conv") && (p.wp.size() != 2 || p.kernel != 1 || p.groups != 1)) return -1;
        chain.push_back(it->second);
        return it->second;
      };
      int sig = step(ops_[i].in[1], "act", "sigmoid");
      int c2 = sig < 0 ? -1 : step(ops_[sig].in[0], "conv", nullptr);
      int sw = c2 < 0 ? -1 : step(ops_[c2].in[0], "act", "swish");
      int c1 = sw < 0 ? -1 : step(ops_[sw].in[0], "conv", nullptr);
      int r4 = c1 < 0 ? -1 : step(ops_[c1].in[0], "reshape4", nullptr);
      int gap = r4 < 0 ? -1 : producer.count(ops_[r4].in[0]) ? producer.at(ops_[r4].in[0]) : -1;
      if (gap < 0 || ops_[gap].kind != "gap" || readers[ops_[gap].out] != 1 || ops_[gap].in[0] != ops_[i].in[0]) continue;
      ops_[gap].seMul = i;
      ops_[gap].seChain = chain;
      if (readers[ops_[i].in[0]] == 2 && producer.count(ops_[i].in[0])) ops_[producer.at(ops_[i].in[0])].feedsSeBlock = true;
      ops_[i].seConv1 = ops_[gap].seConv1 = c1;
      ops_[i].seConv2 = ops_[gap].seConv2 = c2;
    }
  }

  std::vector<torch::Tensor> params;
  for (auto& w : weights_)
    if (w->trainable) params.push_back(w->t);
  opt_ = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr).eps(1e-7));
}

Weight* Net::find(const std::string& name) {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

std::vector<float> Net::getWeight(const std::string& name) {
  auto* w = find(name);
  if (!w) throw std::invalid_argument("unknown weight " + name);
  auto k = torchToKeras(*w, w->t.detach()).to(torch::kCPU).contiguous();
  const float* p = k.data_ptr<float>();
  return std::vector<float>(p, p + k.numel());
}

void Net::setWeight(const std::string& name, const float* data, size_t count) {
  auto* w = find(name);
  if (!w) throw std::invalid_argument("unknown weight " + name);
  if (static_cast<int64_t>(count) != w->t.numel())
    throw std::invalid_argument("weight " + name + " needs " + std::to_string(w->t.numel()) + " values, got " + std::to_string(count));
  torch::NoGradGuard ng;
  auto keras = torch::from_blob(const_cast<float*>(data), w->kerasShape, torch::kFloat32);
  w->t.copy_(kerasToTorch(*w, keras));
}

torch::Tensor Net::input(const float* x, int64_t n, int64_t h, int64_t w) {
  // NHWC memory seen as NCHW is exactly the channels-last layout: no copy.
  auto t = torch::from_blob(const_cast<float*>(x), {n, h, w, 3}, torch::kFloat32).permute({0, 3, 1, 2});
  return device_.is_cpu() ? t : t.to(device_);
}

torch::Tensor Net::run(const torch::Tensor& x, bool training, const std::string& stopAt) {
  std::unordered_map<std::string, torch::Tensor> env;
  // Ops that own kernels run inside another op this step: kPass hands its input on, kSkip does
  // nothing, kSeBlock runs the whole squeeze-and-excitation block at its mul.
  enum : char { kRun = 0, kPass, kSkip, kSeBlock };
  std::vector<char> fused(ops_.size(), kRun);
  const auto CL = at::MemoryFormat::ChannelsLast;
  for (int i = 0; i < static_cast<int>(ops_.size()); ++i) {
    const Op& op = ops_[i];
    torch::Tensor y;
    const std::string& k = op.kind;
    if (fused[i] == kSkip) continue;  // part of a squeeze-and-excitation block run at its mul
    if (fused[i] == kPass) {
      y = env.at(op.in[0]);  // this swish already ran inside its bn
    } else if (fused[i] == kSeBlock) {
      const Op& c1 = ops_[op.seConv1];
      const Op& c2 = ops_[op.seConv2];
      y = seBlock(env.at(op.in[0]), c1.wp[0]->t, c1.wp[1]->t, c2.wp[0]->t, c2.wp[1]->t,
                  training && mixedBf16_ && op.feedsPointwise);
    } else if (op.seMul >= 0 && training && ownKernels_ && seBlockApplies(env.at(op.in[0]))) {
      for (int c : op.seChain) fused[c] = kSkip;
      fused[op.seMul] = kSeBlock;
      continue;
    } else if (k == "input") {
      y = x;
    } else {
      const torch::Tensor& a = env.at(op.in[0]);
      if (k == "rescale") {
        y = a * op.scale + op.offset;
      } else if (k == "normalize") {
        auto c = a.size(1);
        auto mean = op.wp[0]->t.view({1, c, 1, 1});
        auto sd = torch::clamp_min(op.wp[1]->t.view({1, c, 1, 1}).sqrt(), 1e-7);
        y = (a - mean) / sd;
      } else if (k == "pad") {  // Keras ZeroPadding2D ((top, bottom), (left, right))
        y = torch::constant_pad_nd(a, {op.pads.at(2), op.pads.at(3), op.pads.at(0), op.pads.at(1)}, 0).contiguous(CL);
      } else if (k == "conv") {
        const auto& kernel = op.wp[0]->t;
        if (ownKernels_ && op.wp.size() == 1 && op.wp[0]->layout == Layout::Depthwise && depthwiseApplies(a, kernel)) {
          y = depthwiseConv(a, kernel, {kernel.size(2), op.stride, op.pad});
        } else {
          c10::optional<torch::Tensor> bias;
          if (op.wp.size() == 2) bias = op.wp[1]->t;
          if (training && mixedBf16_ && op.pointwise) {
            // bfloat16 in and out: the BatchNorm after it reads bfloat16 (own kernels) or a float copy.
            const auto bf = torch::kBFloat16;
            y = torch::conv2d(a.scalar_type() == bf ? a : a.to(bf), kernel.to(bf));
            if (!ownKernels_ || !op.feedsBatchNorm || !batchNormSwishApplies(y)) y = y.to(torch::kFloat32);
          } else {
            const auto& in = a.scalar_type() == kernel.scalar_type() ? a : a.to(kernel.scalar_type());
            y = torch::conv2d(in, kernel, bias, {op.stride, op.stride}, {op.pad, op.pad}, {1, 1}, op.groups);
          }
        }
      } else if (k == "bn") {
        if (training && ownKernels_ && batchNormSwishApplies(a)) {
          // Mixed precision: bfloat16 out when only bfloat16 readers take the result: depthwise
          // convs, one squeeze-and-excitation block, or 1×1 convs (a block output no residual reads).
          const Op& result = op.swishOf >= 0 ? ops_[op.swishOf] : op;
          const bool bf16Out = result.feedsDepthwise || result.feedsSeBlock || result.feedsPointwise;
          y = batchNormSwish(a, op.wp[0]->t, op.wp[1]->t, op.wp[2]->t, op.wp[3]->t, 1.0 - op.momentum, op.eps,
                             op.swishOf >= 0, mixedBf16_ && bf16Out);
          if (op.swishOf >= 0) fused[op.swishOf] = kPass;
        } else {
          y = torch::batch_norm(a, op.wp[0]->t, op.wp[1]->t, op.wp[2]->t, op.wp[3]->t, training, 1.0 - op.momentum,
                                op.eps, false);
        }
      } else if (k == "act") {
        if (op.fn == "swish") y = torch::silu(a);
        else if (op.fn == "sigmoid") y = torch::sigmoid(a);
        else if (op.fn == "relu") y = torch::relu(a);
        else throw std::invalid_argument("unknown activation " + op.fn);
      } else if (k == "gap") {
        y = a.mean({2, 3}, op.keepdims);
      } else if (k == "reshape4") {
        y = a.reshape({a.size(0), a.size(1), 1, 1});
      } else if (k == "mul") {
        y = a * env.at(op.in[1]);
      } else if (k == "add") {
        y = a + env.at(op.in[1]);
      } else if (k == "dropout") {
        if (training && op.rate > 0) {
          if (op.fn == "sample") {
            auto keep = 1.0 - op.rate;
            auto mask = torch::empty({a.size(0), 1, 1, 1}, a.options()).bernoulli_(keep).div_(keep);
            y = a * mask;
          } else {
            y = torch::dropout(a, op.rate, true);
          }
        } else {
          y = a;
        }
      } else if (k == "dense") {
        y = torch::linear(a, op.wp[0]->t, op.wp[1]->t);
      } else {
        throw std::invalid_argument("unknown op kind " + k);
      }
    }
    if (op.out == stopAt) return y;
    env[op.out] = y;
    for (auto& n : op.in) {  // free inputs whose last reader is this op
      auto it = lastUse_.find(n);
      if (it != lastUse_.end() && it->second == i) env.erase(n);
    }
  }
  return env.at(output_);
}

StepResult Net::score(const torch::Tensor& logits, const torch::Tensor& labels, double lossSum) {
  StepResult r;
  r.n = logits.size(0);
  r.lossSum = lossSum;
  auto k = std::min<int64_t>(7, logits.size(1));
  auto idx = std::get<1>(logits.topk(k, 1));
  auto hit = idx.eq(labels.unsqueeze(1));
  r.top1 = hit.select(1, 0).sum().item<int64_t>();
  r.top7 = hit.any(1).sum().item<int64_t>();
  return r;
}

static torch::Tensor labelTensor(const int32_t* labels, int64_t n, int64_t classes, torch::Device device) {
  auto t = torch::from_blob(const_cast<int32_t*>(labels), {n}, torch::kInt32).to(torch::kLong);
  if (n > 0 && (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= classes))
    throw std::invalid_argument("label out of range [0, " + std::to_string(classes) + ")");
  return device.is_cpu() ? t : t.to(device);
}

namespace {
// CYTOIMAGENET_TRAIN_PROFILE=1 prints each step's forward/backward/optimiser split (wall and CPU ms)
// to stderr; =ops also writes LibTorch's per-op profile to cytoimagenet-train-profile.json.
const char* profileMode() {
  static const char* m = std::getenv("CYTOIMAGENET_TRAIN_PROFILE");
  return m ? m : "";
}
struct Clock {
  std::chrono::steady_clock::time_point w = std::chrono::steady_clock::now();
  double cpu = static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
  void lap(const char* what, int64_t n) {
    auto w2 = std::chrono::steady_clock::now();
    double c2 = static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
    std::fprintf(stderr, "  %-9s wall %8.1f ms  cpu %8.1f ms  (%.2f ms cpu/image)\n", what,
                 std::chrono::duration<double, std::milli>(w2 - w).count(), (c2 - cpu) * 1e3, (c2 - cpu) * 1e3 / n);
    w = w2;
    cpu = c2;
  }
};
}  // namespace

StepResult Net::trainStep(const float* x, const int32_t* labels, int64_t n, int64_t h, int64_t w, uint64_t seed) {
  const bool prof = profileMode()[0] != 0;
#ifdef CIN_LEGACY_PROFILER
  std::unique_ptr<torch::autograd::profiler::RecordProfile> rec;
  if (std::string(profileMode()) == "ops") rec = std::make_unique<torch::autograd::profiler::RecordProfile>("cytoimagenet-train-profile.json");
#endif
  Clock clk;
  if (prof) std::fprintf(stderr, "step: %d intra-op threads on this thread\n%s", at::get_num_threads(), at::get_parallel_info().c_str());
  torch::manual_seed(seed);
  auto lab = labelTensor(labels, n, numClasses_, device_);
  auto logits = run(input(x, n, h, w), true, "");
  auto loss = torch::nn::functional::cross_entropy(logits, lab);
  if (prof) clk.lap("forward", n);
  opt_->zero_grad();
  loss.backward();
  if (prof) clk.lap("backward", n);
  opt_->step();
  if (prof) clk.lap("optimiser", n);
  return score(logits.detach(), lab, loss.item<double>() * n);
}

StepResult Net::evalStep(const float* x, const int32_t* labels, int64_t n, int64_t h, int64_t w) {
  torch::NoGradGuard ng;
  auto lab = labelTensor(labels, n, numClasses_, device_);
  auto logits = run(input(x, n, h, w), false, "");
  auto loss = torch::nn::functional::cross_entropy(logits, lab,
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return score(logits, lab, loss.item<double>());
}

torch::Tensor Net::forwardTo(const float* x, int64_t n, int64_t h, int64_t w, const std::string& name) {
  const std::string& target = name.empty() ? output_ : name;
  if (!lastUse_.count(target) && target != output_) {
    bool known = false;
    for (const auto& op : ops_) known = known || op.out == target;
    if (!known) throw std::invalid_argument("no layer output named " + target);
  }
  torch::NoGradGuard ng;
  auto y = run(input(x, n, h, w), false, target);
  if (y.dim() == 4) y = y.permute({0, 2, 3, 1});  // NHWC like Keras
  return y.to(torch::kCPU).contiguous().reshape({n, -1});
}

std::string Net::saveOptimizer() {
  torch::serialize::OutputArchive ar;
  opt_->save(ar);
  std::ostringstream os;
  ar.save_to(os);
  return os.str();
}

void Net::loadOptimizer(const std::string& bytes) {
  torch::serialize::InputArchive ar;
  std::istringstream is(bytes);
  ar.load_from(is, device_);  // a checkpoint from another device continues here
  opt_->load(ar);
}

void Net::setLearningRate(double lr) {
  for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
}

}  // namespace cin
