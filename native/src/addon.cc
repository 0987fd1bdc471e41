// N-API surface of the training engine. Steps run on libuv worker threads (AsyncWorker) so the
// TypeScript input pipeline keeps decoding the next batch while LibTorch computes this one.
#include <dlfcn.h>
#include <malloc.h>
#include <sys/mman.h>
#include <napi.h>

#include <ATen/Parallel.h>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

// LibTorch 2.3 made Allocator::allocate non-const and added copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define CIN_ALLOCATE_CONST
#define CIN_ALLOCATOR_COPY_DATA 1
#else
#define CIN_ALLOCATE_CONST const
#endif

#include "kernel_check.h"
#include "net.h"

namespace {

bool g_mallopt = false;
bool g_caching = false;

// Freed activation buffers go back into a per-size pool instead of to the OS: every step asks for
// the same sizes, and glibc would otherwise mmap/munmap (and zero-fill) hundreds of MB per step.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) CIN_ALLOCATE_CONST override {
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> g(mu());
      auto it = pool().find(n);
      if (it != pool().end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
      }
    }
    if (!p) {
      // posix_memalign(0) may return null; keep every block distinct and non-null.
      if (n >= kHuge && hugePages()) {
        // Activations are hundreds of MB and swept whole by memory-bound kernels: 2 MB pages cut
        // TLB misses and first-touch faults (512x fewer).
        if (posix_memalign(&p, kHuge, n) != 0) throw std::bad_alloc();
        madvise(p, n, MADV_HUGEPAGE);
      } else if (posix_memalign(&p, 64, n > 0 ? n : 64) != 0) {
        throw std::bad_alloc();
      }
    }
    {
      std::lock_guard<std::mutex> g(mu());
      sizes()[p] = n;
    }
    // LibTorch requires data == context for raw_allocate users.
    return {p, p, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }
#ifdef CIN_ALLOCATOR_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    if (count) std::memcpy(dest, src, count);
  }
#endif

 private:
  static constexpr size_t kHuge = size_t(2) << 20;
  static bool hugePages() {
    static const bool on = [] {
      const char* v = std::getenv("CYTOIMAGENET_TRAIN_HUGEPAGES");
      return !(v && std::string(v) == "0");
    }();
    return on;
  }
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::unordered_map<size_t, std::vector<void*>>& pool() {
    static auto* p = new std::unordered_map<size_t, std::vector<void*>>();
    return *p;
  }
  static std::unordered_map<void*, size_t>& sizes() {
    static auto* s = new std::unordered_map<void*, size_t>();
    return *s;
  }
  static void release(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> g(mu());
    auto it = sizes().find(p);
    if (it == sizes().end()) {
      std::free(p);
      return;
    }
    pool()[it->second].push_back(p);
    sizes().erase(it);
  }
};

CachingCpuAllocator g_allocator;

void keepFreedMemory() {
  if (const char* m = std::getenv("CYTOIMAGENET_TRAIN_MKLDNN")) at::globalContext().setUserEnabledMkldnn(std::string(m) != "0");
  const char* v = std::getenv("CYTOIMAGENET_TRAIN_ALLOCATOR");
  std::string mode = v ? v : "caching";
  if (mode == "system") return;
  // glibc: never give the heap top back, and serve big blocks from the heap rather than mmap.
  g_mallopt = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 && mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 &&
              mallopt(M_TOP_PAD, 64 << 20) == 1;
  if (mode == "caching") {
    c10::SetCPUAllocator(&g_allocator, /*priority=*/10);
    g_caching = true;
  }
}

std::string errorText(const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
  return e.what();
}

// at::set_num_threads is per OS thread under OpenMP, so it must run on the thread doing the work.
void useThreads(int n) {
  at::init_num_threads();
  if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
}

// OpenBLAS (pthread build) serves LibTorch's few small matrix products here (the dense layer, the
// squeeze-and-excitation MLPs). Its own threads spin in sched_yield between calls and took about
// 7 % of a step from the OpenMP threads that run everything else; one thread ends that. A user's
// OPENBLAS_NUM_THREADS wins.
bool g_blasOneThread = false;
void quietBlas() {
  if (std::getenv("OPENBLAS_NUM_THREADS")) return;
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    f(1);
    g_blasOneThread = true;
  }
}

// bfloat16 dot products in hardware (AVX512-BF16, also on AMX machines): where mixed precision pays.
bool nativeBf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// What LibTorch 1.13's oneDNN needs for bfloat16 convolutions at all (it emulates the dot products
// without AVX512-BF16, slower than float32).
bool bf16Supported() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

cin::Layout parseLayout(const std::string& s) {
  if (s == "conv") return cin::Layout::Conv;
  if (s == "depthwise") return cin::Layout::Depthwise;
  if (s == "dense") return cin::Layout::Dense;
  if (s == "flat") return cin::Layout::Flat;
  throw std::invalid_argument("unknown weight layout " + s);
}

std::vector<std::string> strings(const Napi::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

double num(const Napi::Object& o, const char* k, double d) {
  auto v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : d;
}

cin::Graph parseGraph(const Napi::Object& g) {
  cin::Graph graph;
  auto ws = g.Get("weights").As<Napi::Array>();
  for (uint32_t i = 0; i < ws.Length(); ++i) {
    auto o = ws.Get(i).As<Napi::Object>();
    cin::Weight w;
    w.name = o.Get("name").As<Napi::String>().Utf8Value();
    auto sh = o.Get("shape").As<Napi::Array>();
    for (uint32_t j = 0; j < sh.Length(); ++j) w.kerasShape.push_back(sh.Get(j).As<Napi::Number>().Int64Value());
    w.layout = parseLayout(o.Get("layout").As<Napi::String>().Utf8Value());
    w.trainable = o.Get("trainable").ToBoolean().Value();
    graph.weights.push_back(std::move(w));
  }
  auto ops = g.Get("ops").As<Napi::Array>();
  for (uint32_t i = 0; i < ops.Length(); ++i) {
    auto o = ops.Get(i).As<Napi::Object>();
    cin::Op op;
    op.kind = o.Get("kind").As<Napi::String>().Utf8Value();
    op.in = strings(o.Get("in"));
    op.out = o.Get("out").As<Napi::String>().Utf8Value();
    op.w = strings(o.Get("w"));
    op.stride = static_cast<int64_t>(num(o, "stride", 1));
    op.groups = static_cast<int64_t>(num(o, "groups", 1));
    op.kernel = static_cast<int64_t>(num(o, "kernel", 1));
    op.pad = static_cast<int64_t>(num(o, "pad", 0));
    op.eps = num(o, "eps", 1e-3);
    op.momentum = num(o, "momentum", 0.99);
    op.rate = num(o, "rate", 0);
    op.scale = num(o, "scale", 1);
    op.offset = num(o, "offset", 0);
    auto fn = o.Get("fn");
    if (fn.IsString()) op.fn = fn.As<Napi::String>().Utf8Value();
    op.keepdims = o.Get("keepdims").ToBoolean().Value();
    auto pads = o.Get("pads");
    if (pads.IsArray()) {
      auto a = pads.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); ++j) op.pads.push_back(a.Get(j).As<Napi::Number>().Int64Value());
    }
    if (op.kind == "pad" && op.pads.size() != 4) throw std::invalid_argument("pad op " + op.out + " needs 4 pads");
    graph.ops.push_back(std::move(op));
  }
  graph.output = g.Get("output").As<Napi::String>().Utf8Value();
  return graph;
}

class Model;

// One batch on a worker thread. Holds references to the JS arrays so they outlive the step.
class StepWorker : public Napi::AsyncWorker {
 public:
  enum Kind { Train, Eval, Forward };
  StepWorker(Napi::Env env, Model* m, Kind kind, Napi::Float32Array x, Napi::Int32Array labels, int64_t n, int64_t h,
             int64_t w, uint64_t seed, std::string stopAt);
  ~StepWorker() override;
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;
  Napi::Promise promise() { return deferred_.Promise(); }

 private:
  Model* m_;
  Kind kind_;
  Napi::Reference<Napi::Float32Array> xRef_;
  Napi::Reference<Napi::Int32Array> labRef_;
  Napi::ObjectReference selfRef_;
  const float* x_;
  const int32_t* lab_;
  int64_t n_, h_, w_;
  uint64_t seed_;
  std::string stopAt_;
  cin::StepResult r_;
  int threadsUsed_ = 0;
  torch::Tensor out_;
  Napi::Promise::Deferred deferred_;
};

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("weightNames", &Model::WeightNames), InstanceMethod("getWeight", &Model::GetWeight),
                        InstanceMethod("setWeight", &Model::SetWeight), InstanceMethod("trainStep", &Model::TrainStep),
                        InstanceMethod("evalStep", &Model::EvalStep), InstanceMethod("forward", &Model::Forward),
                        InstanceMethod("saveOptimizer", &Model::SaveOptimizer),
                        InstanceMethod("loadOptimizer", &Model::LoadOptimizer),
                        InstanceMethod("setLearningRate", &Model::SetLearningRate),
                        InstanceAccessor("numClasses", &Model::NumClasses, nullptr),
                        InstanceAccessor("device", &Model::Device, nullptr),
                        InstanceAccessor("kernels", &Model::Kernels, nullptr),
                        InstanceAccessor("precision", &Model::Precision, nullptr)});
  }

  Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    auto env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "Model(graph, {lr, threads})");
    double lr = 1e-3;
    std::string device = "cpu";
    bool ownKernels = true, mixedBf16 = false;
    if (info.Length() > 1 && info[1].IsObject()) {
      auto o = info[1].As<Napi::Object>();
      lr = num(o, "lr", 1e-3);
      threads = static_cast<int>(num(o, "threads", 0));
      if (o.Get("device").IsString()) device = o.Get("device").As<Napi::String>().Utf8Value();
      if (o.Get("kernels").IsString()) {
        auto k = o.Get("kernels").As<Napi::String>().Utf8Value();
        if (k != "own" && k != "libtorch") throw Napi::TypeError::New(env, "kernels must be \"own\" or \"libtorch\"");
        ownKernels = k == "own";
      }
      if (o.Get("precision").IsString()) {
        auto p = o.Get("precision").As<Napi::String>().Utf8Value();
        if (p != "float32" && p != "mixed_bfloat16")
          throw Napi::TypeError::New(env, "precision must be \"float32\" or \"mixed_bfloat16\"");
        mixedBf16 = p == "mixed_bfloat16";
      }
    }
    if (mixedBf16 && device == "cpu" && !bf16Supported())
      throw Napi::Error::New(env, "precision mixed_bfloat16 needs a CPU with AVX-512 (BW, VL, DQ) for oneDNN's bfloat16 "
                                  "convolutions, and this one has none: use float32");
    try {
      net = std::make_unique<cin::Net>(parseGraph(info[0].As<Napi::Object>()), lr, device, ownKernels, mixedBf16);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, errorText(e));
    }
  }

  std::unique_ptr<cin::Net> net;
  int threads = 0;
  std::atomic<bool> busy{false};

 private:
  void claim(Napi::Env env) {
    bool expected = false;
    if (!busy.compare_exchange_strong(expected, true))
      throw Napi::Error::New(env, "the model is busy: await the previous step first");
  }

  Napi::Value Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), net->deviceName()); }
  Napi::Value Kernels(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), net->ownKernels() ? "own" : "libtorch");
  }
  Napi::Value Precision(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), net->mixedBf16() ? "mixed_bfloat16" : "float32");
  }

  Napi::Value NumClasses(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(net->numClasses()));
  }

  Napi::Value WeightNames(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto arr = Napi::Array::New(env);
    uint32_t i = 0;
    for (auto& w : net->weights()) {
      auto o = Napi::Object::New(env);
      o.Set("name", w->name);
      auto sh = Napi::Array::New(env);
      for (uint32_t j = 0; j < w->kerasShape.size(); ++j) sh.Set(j, Napi::Number::New(env, w->kerasShape[j]));
      o.Set("shape", sh);
      o.Set("trainable", w->trainable);
      arr.Set(i++, o);
    }
    return arr;
  }

  Napi::Value GetWeight(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (busy) throw Napi::Error::New(env, "the model is busy: await the previous step first");
    try {
      auto v = net->getWeight(info[0].As<Napi::String>().Utf8Value());
      auto out = Napi::Float32Array::New(env, v.size());
      std::memcpy(out.Data(), v.data(), v.size() * sizeof(float));
      return out;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, errorText(e));
    }
  }

  Napi::Value SetWeight(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (busy) throw Napi::Error::New(env, "the model is busy: await the previous step first");
    if (info.Length() < 2 || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "setWeight(name, Float32Array)");
    auto a = info[1].As<Napi::Float32Array>();
    try {
      net->setWeight(info[0].As<Napi::String>().Utf8Value(), a.Data(), a.ElementLength());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, errorText(e));
    }
    return env.Undefined();
  }

  Napi::Value step(const Napi::CallbackInfo& info, StepWorker::Kind kind) {
    auto env = info.Env();
    // (x, labels, n, h, w, seed) | (x, n, h, w, name)
    bool withLabels = kind != StepWorker::Forward;
    size_t base = withLabels ? 2 : 1;
    if (info.Length() < base + 3 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "bad step arguments");
    auto x = info[0].As<Napi::Float32Array>();
    Napi::Int32Array labels;
    int64_t n = info[base].As<Napi::Number>().Int64Value();
    int64_t h = info[base + 1].As<Napi::Number>().Int64Value();
    int64_t w = info[base + 2].As<Napi::Number>().Int64Value();
    if (static_cast<int64_t>(x.ElementLength()) != n * h * w * 3)
      throw Napi::RangeError::New(env, "batch must hold n*h*w*3 floats (NHWC, 3 channels)");
    if (withLabels) {
      labels = info[1].As<Napi::Int32Array>();
      if (static_cast<int64_t>(labels.ElementLength()) != n) throw Napi::RangeError::New(env, "labels must hold n ints");
    }
    uint64_t seed = 0;
    std::string stopAt;
    if (kind == StepWorker::Train && info.Length() > base + 3) seed = static_cast<uint64_t>(info[base + 3].As<Napi::Number>().Int64Value());
    if (kind == StepWorker::Forward && info.Length() > base + 3 && info[base + 3].IsString())
      stopAt = info[base + 3].As<Napi::String>().Utf8Value();
    claim(env);
    auto* wk = new StepWorker(env, this, kind, x, labels, n, h, w, seed, stopAt);
    auto p = wk->promise();
    wk->Queue();
    return p;
  }

  Napi::Value TrainStep(const Napi::CallbackInfo& info) { return step(info, StepWorker::Train); }
  Napi::Value EvalStep(const Napi::CallbackInfo& info) { return step(info, StepWorker::Eval); }
  Napi::Value Forward(const Napi::CallbackInfo& info) { return step(info, StepWorker::Forward); }

  Napi::Value SaveOptimizer(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (busy) throw Napi::Error::New(env, "the model is busy: await the previous step first");
    try {
      auto s = net->saveOptimizer();
      return Napi::Buffer<char>::Copy(env, s.data(), s.size());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, errorText(e));
    }
  }

  Napi::Value LoadOptimizer(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    if (busy) throw Napi::Error::New(env, "the model is busy: await the previous step first");
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "loadOptimizer(Buffer)");
    auto b = info[0].As<Napi::Buffer<char>>();
    try {
      net->loadOptimizer(std::string(b.Data(), b.Length()));
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, errorText(e));
    }
    return env.Undefined();
  }

  Napi::Value SetLearningRate(const Napi::CallbackInfo& info) {
    net->setLearningRate(info[0].As<Napi::Number>().DoubleValue());
    return info.Env().Undefined();
  }
};

StepWorker::StepWorker(Napi::Env env, Model* m, Kind kind, Napi::Float32Array x, Napi::Int32Array labels, int64_t n,
                       int64_t h, int64_t w, uint64_t seed, std::string stopAt)
    : Napi::AsyncWorker(env, "cytoimagenet-step"),
      m_(m),
      kind_(kind),
      x_(x.Data()),
      lab_(labels.IsEmpty() ? nullptr : labels.Data()),
      n_(n),
      h_(h),
      w_(w),
      seed_(seed),
      stopAt_(std::move(stopAt)),
      deferred_(Napi::Promise::Deferred::New(env)) {
  xRef_ = Napi::Reference<Napi::Float32Array>::New(x, 1);
  if (!labels.IsEmpty()) labRef_ = Napi::Reference<Napi::Int32Array>::New(labels, 1);
  selfRef_ = Napi::ObjectReference::New(m->Value(), 1);
}

StepWorker::~StepWorker() = default;

void StepWorker::Execute() {
  try {
    useThreads(m_->threads);
    threadsUsed_ = at::get_num_threads();
    if (kind_ == Train) r_ = m_->net->trainStep(x_, lab_, n_, h_, w_, seed_);
    else if (kind_ == Eval) r_ = m_->net->evalStep(x_, lab_, n_, h_, w_);
    else out_ = m_->net->forwardTo(x_, n_, h_, w_, stopAt_);
  } catch (const std::exception& e) {
    SetError(errorText(e));
  }
}

void StepWorker::OnOK() {
  auto env = Env();
  m_->busy = false;
  if (kind_ == Forward) {
    auto a = Napi::Float32Array::New(env, out_.numel());
    std::memcpy(a.Data(), out_.data_ptr<float>(), out_.numel() * sizeof(float));
    out_ = torch::Tensor();
    deferred_.Resolve(a);
    return;
  }
  auto o = Napi::Object::New(env);
  o.Set("lossSum", r_.lossSum);
  o.Set("top1", static_cast<double>(r_.top1));
  o.Set("top7", static_cast<double>(r_.top7));
  o.Set("n", static_cast<double>(r_.n));
  o.Set("threads", threadsUsed_);
  deferred_.Resolve(o);
}

void StepWorker::OnError(const Napi::Error& e) {
  m_->busy = false;
  deferred_.Reject(e.Value());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("mkldnn", at::hasMKLDNN());
  o.Set("openmp", at::hasOpenMP());
  o.Set("mallopt", g_mallopt);
  o.Set("cachingAllocator", g_caching);
  o.Set("blasOneThread", g_blasOneThread);
  o.Set("nativeBf16", nativeBf16());
  o.Set("bf16Supported", bf16Supported());
  o.Set("parallelInfo", at::get_parallel_info());
  o.Set("cuda", torch::cuda::is_available());
  o.Set("cudaDevices", static_cast<double>(torch::cuda::device_count()));
  return o;
}

Napi::Value CheckKernels(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  try {
    auto o = Napi::Object::New(env);
    for (const auto& [k, v] : cin::checkKernels(bf16Supported())) o.Set(k, v);
    return o;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, errorText(e));
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  keepFreedMemory();
  quietBlas();
  exports.Set("Model", Model::Define(env));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("checkKernels", Napi::Function::New(env, CheckKernels));
  return exports;
}

}  // namespace

NODE_API_MODULE(cytoimagenet_train, Init)
