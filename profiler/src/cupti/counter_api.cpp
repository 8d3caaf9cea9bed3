// The libcupti implementation of CounterApi (CUDA 13 range profiler: user ranges, user replay,
// one nesting level) and the host-only metric check (cuptiProfilerHost*, no GPU needed).
#include <cuda_runtime_api.h>
#include <cupti.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>

#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "llmcost/counter_profiler.h"
#include "llmcost/value.h"

namespace llmcost {

// counter_refusal_of_cupti_result() (pure C++) spells these CUptiResult values as numbers.
static_assert(CUPTI_ERROR_INVALID_DEVICE == 2 && CUPTI_ERROR_INVALID_CONTEXT == 3 && CUPTI_ERROR_NOT_INITIALIZED == 15);
static_assert(CUPTI_ERROR_INSUFFICIENT_PRIVILEGES == 35 && CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED == 33 &&
              CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES == 40);
static_assert(CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED == 43 && CUPTI_ERROR_HARDWARE_BUSY == 26 &&
              CUPTI_ERROR_OLD_PROFILER_API_INITIALIZED == 36 && CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED == 39);
static_assert(CUPTI_ERROR_NOT_SUPPORTED == 27 && CUPTI_ERROR_CONFIDENTIAL_COMPUTING_NOT_SUPPORTED == 41 &&
              CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED == 42 && CUPTI_ERROR_SLI_DEVICE_NOT_SUPPORTED == 44 &&
              CUPTI_ERROR_WSL_DEVICE_NOT_SUPPORTED == 45);

namespace {

// A CUPTI parameter struct: zeroed, with its structSize set.
template <class T>
T params(size_t struct_size) {
  T p;
  std::memset(&p, 0, sizeof(p));
  p.structSize = struct_size;
  return p;
}

std::string result_name(CUptiResult r) {
  const char* msg = nullptr;
  cuptiGetResultString(r, &msg);
  return msg ? msg : "CUPTI error " + std::to_string(static_cast<int>(r));
}

CounterStatus status_of(CUptiResult r, const char* call) {
  CounterStatus s;
  if (r == CUPTI_SUCCESS) return s;
  s.refusal = counter_refusal_of_cupti_result(static_cast<int>(r));
  s.detail = std::string(call) + ": " + result_name(r);
  return s;
}

// Mid-run failures (after the probe succeeded): one line naming the call.
void check(CUptiResult r, const char* call) {
  if (r != CUPTI_SUCCESS) throw Error(std::string("counters: ") + call + ": " + result_name(r), ErrorKind::DeviceUnavailable);
}

// libcupti dlopen()s libnvperf_host.so / libnvperf_target.so by bare name, which only works
// when the loader's search path has CUPTI's directory (ld.so.conf, LD_LIBRARY_PATH). Load them
// first from the directory libcupti itself was loaded from, so they are found wherever the
// toolkit lives; a later dlopen by the same name gets the loaded copy.
void preload_nvperf() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(&cuptiProfilerHostInitialize), &info) || !info.dli_fname) return;
    std::string dir = info.dli_fname;
    const size_t slash = dir.rfind('/');
    if (slash == std::string::npos) return;
    dir.resize(slash + 1);
    for (const char* lib : {"libnvperf_host.so", "libnvperf_target.so"}) dlopen((dir + lib).c_str(), RTLD_NOW | RTLD_GLOBAL);
  });
}

// The host side: a host object for chip, metrics validated one by one, the config image.
struct Host {
  CUpti_Profiler_Host_Object* obj = nullptr;
  std::string chip;
  std::vector<uint8_t> config;

  Host(const std::string& chip_name, const uint8_t* availability) : chip(chip_name) {
    preload_nvperf();
    auto p = params<CUpti_Profiler_Host_Initialize_Params>(CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE);
    p.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
    p.pChipName = chip.c_str();
    p.pCounterAvailabilityImage = availability;
    CUptiResult r = cuptiProfilerHostInitialize(&p);
    if (r != CUPTI_SUCCESS)
      throw Error("counters: unknown chip '" + chip + "' (cuptiProfilerHostInitialize: " + result_name(r) + ")",
                  ErrorKind::Unsupported);
    obj = p.pHostObject;
  }
  ~Host() {
    if (!obj) return;
    auto p = params<CUpti_Profiler_Host_Deinitialize_Params>(CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE);
    p.pHostObject = obj;
    cuptiProfilerHostDeinitialize(&p);
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Adds the metrics (each checked first, so a bad one is named) and returns the passes.
  int configure(const std::vector<std::string>& metrics) {
    std::vector<const char*> names;
    for (const auto& m : metrics) {
      auto q = params<CUpti_Profiler_Host_GetMetricProperties_Params>(CUpti_Profiler_Host_GetMetricProperties_Params_STRUCT_SIZE);
      q.pHostObject = obj;
      q.pMetricName = m.c_str();
      CUptiResult r = cuptiProfilerHostGetMetricProperties(&q);
      if (r != CUPTI_SUCCESS)
        throw Error("counters: metric '" + m + "' is not valid for chip " + chip + " (" + result_name(r) + ")",
                    ErrorKind::BadInput);
      names.push_back(m.c_str());
    }
    auto a = params<CUpti_Profiler_Host_ConfigAddMetrics_Params>(CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE);
    a.pHostObject = obj;
    a.ppMetricNames = names.data();
    a.numMetrics = names.size();
    check(cuptiProfilerHostConfigAddMetrics(&a), "cuptiProfilerHostConfigAddMetrics");
    auto s = params<CUpti_Profiler_Host_GetConfigImageSize_Params>(CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE);
    s.pHostObject = obj;
    check(cuptiProfilerHostGetConfigImageSize(&s), "cuptiProfilerHostGetConfigImageSize");
    config.assign(s.configImageSize, 0);
    auto g = params<CUpti_Profiler_Host_GetConfigImage_Params>(CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE);
    g.pHostObject = obj;
    g.configImageSize = config.size();
    g.pConfigImage = config.data();
    check(cuptiProfilerHostGetConfigImage(&g), "cuptiProfilerHostGetConfigImage");
    auto n = params<CUpti_Profiler_Host_GetNumOfPasses_Params>(CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE);
    n.configImageSize = config.size();
    n.pConfigImage = config.data();
    check(cuptiProfilerHostGetNumOfPasses(&n), "cuptiProfilerHostGetNumOfPasses");
    return static_cast<int>(n.numOfPasses);
  }
};

class LibCounters final : public CounterApi {
 public:
  ~LibCounters() override { shutdown(); }

  CounterStatus probe() override {
    CounterStatus s;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
      s.refusal = CounterRefusal::NoDevice;
      s.detail = e != cudaSuccess ? std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e) : "0 devices";
      return s;
    }
    int dev = 0;
    cudaGetDevice(&dev);
    cudaFree(nullptr);  // makes the primary context current
    using GetCurrent = int (*)(CUcontext*);
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &fn, 12000, cudaEnableDefault, &q) != cudaSuccess || !fn ||
        reinterpret_cast<GetCurrent>(fn)(&ctx_) != 0 || !ctx_) {
      s.refusal = CounterRefusal::NoDevice;
      s.detail = "no current CUDA context";
      return s;
    }
    preload_nvperf();
    auto ip = params<CUpti_Profiler_Initialize_Params>(CUpti_Profiler_Initialize_Params_STRUCT_SIZE);
    if (CUptiResult r = cuptiProfilerInitialize(&ip); r != CUPTI_SUCCESS) return status_of(r, "cuptiProfilerInitialize");
    initialized_ = true;

    auto ds = params<CUpti_Profiler_DeviceSupported_Params>(CUpti_Profiler_DeviceSupported_Params_STRUCT_SIZE);
    ds.cuDevice = dev;
    ds.api = CUPTI_PROFILER_RANGE_PROFILING;
    if (CUptiResult r = cuptiProfilerDeviceSupported(&ds); r != CUPTI_SUCCESS)
      return status_of(r, "cuptiProfilerDeviceSupported");
    if (ds.isSupported != CUPTI_PROFILER_CONFIGURATION_SUPPORTED) {
      s.refusal = ds.vGpu != CUPTI_PROFILER_CONFIGURATION_SUPPORTED ? CounterRefusal::VirtualGpu : CounterRefusal::Unsupported;
      s.detail = "cuptiProfilerDeviceSupported:";
      auto add = [&](const char* what, CUpti_Profiler_Support_Level l) {
        if (l != CUPTI_PROFILER_CONFIGURATION_SUPPORTED) s.detail += std::string(" ") + what;
      };
      add("architecture", ds.architecture);
      add("sli", ds.sli);
      add("vgpu", ds.vGpu);
      add("confidential-compute", ds.confidentialCompute);
      add("cmp", ds.cmp);
      add("wsl", ds.wsl);
      s.detail += " not supported";
      return s;
    }
    auto cn = params<CUpti_Device_GetChipName_Params>(CUpti_Device_GetChipName_Params_STRUCT_SIZE);
    cn.deviceIndex = static_cast<size_t>(dev);
    if (CUptiResult r = cuptiDeviceGetChipName(&cn); r != CUPTI_SUCCESS) return status_of(r, "cuptiDeviceGetChipName");
    chip_ = cn.pChipName ? cn.pChipName : "";

    // Counter availability: where missing privileges usually show (size query, then fill).
    auto ca = params<CUpti_Profiler_GetCounterAvailability_Params>(CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE);
    ca.ctx = ctx_;
    if (CUptiResult r = cuptiProfilerGetCounterAvailability(&ca); r != CUPTI_SUCCESS)
      return status_of(r, "cuptiProfilerGetCounterAvailability");
    availability_.assign(ca.counterAvailabilityImageSize, 0);
    ca.pCounterAvailabilityImage = availability_.data();
    if (CUptiResult r = cuptiProfilerGetCounterAvailability(&ca); r != CUPTI_SUCCESS)
      return status_of(r, "cuptiProfilerGetCounterAvailability");

    auto en = params<CUpti_RangeProfiler_Enable_Params>(CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE);
    en.ctx = ctx_;
    if (CUptiResult r = cuptiRangeProfilerEnable(&en); r != CUPTI_SUCCESS) return status_of(r, "cuptiRangeProfilerEnable");
    obj_ = en.pRangeProfilerObject;
    return s;
  }

  std::string chip() override { return chip_; }

  int configure(const std::vector<std::string>& metrics, size_t max_ranges) override {
    host_ = std::make_unique<Host>(chip_, availability_.empty() ? nullptr : availability_.data());
    const int passes = host_->configure(metrics);
    metrics_ = metrics;
    max_ranges_ = max_ranges;
    for (const auto& m : metrics_) metric_ptrs_.push_back(m.c_str());
    auto sz = params<CUpti_RangeProfiler_GetCounterDataSize_Params>(CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE);
    sz.pRangeProfilerObject = obj_;
    sz.pMetricNames = metric_ptrs_.data();
    sz.numMetrics = metric_ptrs_.size();
    sz.maxNumOfRanges = max_ranges;
    sz.maxNumRangeTreeNodes = static_cast<uint32_t>(max_ranges);
    check(cuptiRangeProfilerGetCounterDataSize(&sz), "cuptiRangeProfilerGetCounterDataSize");
    data_.assign(sz.counterDataSize, 0);
    reset_counter_data();
    return passes;
  }

  CounterStatus start_pass() override {
    auto p = params<CUpti_RangeProfiler_Start_Params>(CUpti_RangeProfiler_Start_Params_STRUCT_SIZE);
    p.pRangeProfilerObject = obj_;
    return status_of(cuptiRangeProfilerStart(&p), "cuptiRangeProfilerStart");
  }
  void push_range(const std::string& name) override {
    auto p = params<CUpti_RangeProfiler_PushRange_Params>(CUpti_RangeProfiler_PushRange_Params_STRUCT_SIZE);
    p.pRangeProfilerObject = obj_;
    p.pRangeName = name.c_str();
    check(cuptiRangeProfilerPushRange(&p), "cuptiRangeProfilerPushRange");
  }
  void pop_range() override {
    auto p = params<CUpti_RangeProfiler_PopRange_Params>(CUpti_RangeProfiler_PopRange_Params_STRUCT_SIZE);
    p.pRangeProfilerObject = obj_;
    check(cuptiRangeProfilerPopRange(&p), "cuptiRangeProfilerPopRange");
  }
  bool end_pass() override {
    auto p = params<CUpti_RangeProfiler_Stop_Params>(CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE);
    p.pRangeProfilerObject = obj_;
    check(cuptiRangeProfilerStop(&p), "cuptiRangeProfilerStop");
    return p.isAllPassSubmitted != 0;
  }
  std::vector<CounterRange> decode(size_t* dropped) override {
    cudaDeviceSynchronize();
    auto d = params<CUpti_RangeProfiler_DecodeData_Params>(CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE);
    d.pRangeProfilerObject = obj_;
    check(cuptiRangeProfilerDecodeData(&d), "cuptiRangeProfilerDecodeData");
    if (dropped) *dropped = d.numOfRangeDropped;
    auto info = params<CUpti_RangeProfiler_GetCounterDataInfo_Params>(CUpti_RangeProfiler_GetCounterDataInfo_Params_STRUCT_SIZE);
    info.pCounterDataImage = data_.data();
    info.counterDataImageSize = data_.size();
    check(cuptiRangeProfilerGetCounterDataInfo(&info), "cuptiRangeProfilerGetCounterDataInfo");
    std::vector<CounterRange> out(info.numTotalRanges);
    for (size_t i = 0; i < out.size(); ++i) {
      auto ri = params<CUpti_RangeProfiler_CounterData_GetRangeInfo_Params>(CUpti_RangeProfiler_CounterData_GetRangeInfo_Params_STRUCT_SIZE);
      ri.pCounterDataImage = data_.data();
      ri.counterDataImageSize = data_.size();
      ri.rangeIndex = i;
      ri.rangeDelimiter = "/";
      check(cuptiRangeProfilerCounterDataGetRangeInfo(&ri), "cuptiRangeProfilerCounterDataGetRangeInfo");
      out[i].name = ri.rangeName ? ri.rangeName : "";
      out[i].values.assign(metric_ptrs_.size(), 0.0);
      auto ev = params<CUpti_Profiler_Host_EvaluateToGpuValues_Params>(CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE);
      ev.pHostObject = host_->obj;
      ev.pCounterDataImage = data_.data();
      ev.counterDataImageSize = data_.size();
      ev.rangeIndex = i;
      ev.ppMetricNames = metric_ptrs_.data();
      ev.numMetrics = metric_ptrs_.size();
      ev.pMetricValues = out[i].values.data();
      check(cuptiProfilerHostEvaluateToGpuValues(&ev), "cuptiProfilerHostEvaluateToGpuValues");
    }
    reset_counter_data();
    return out;
  }

  void shutdown() noexcept override {
    if (obj_) {
      auto p = params<CUpti_RangeProfiler_Disable_Params>(CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE);
      p.pRangeProfilerObject = obj_;
      cuptiRangeProfilerDisable(&p);
      obj_ = nullptr;
    }
    host_.reset();
    if (initialized_) {
      auto p = params<CUpti_Profiler_DeInitialize_Params>(CUpti_Profiler_DeInitialize_Params_STRUCT_SIZE);
      cuptiProfilerDeInitialize(&p);
      initialized_ = false;
    }
  }

 private:
  // (Re-)initializes the counter data image and hands it to the range profiler: user ranges,
  // user replay, one nesting level.
  void reset_counter_data() {
    auto in = params<CUpti_RangeProfiler_CounterDataImage_Initialize_Params>(CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE);
    in.pRangeProfilerObject = obj_;
    in.counterDataSize = data_.size();
    in.pCounterData = data_.data();
    check(cuptiRangeProfilerCounterDataImageInitialize(&in), "cuptiRangeProfilerCounterDataImageInitialize");
    auto sc = params<CUpti_RangeProfiler_SetConfig_Params>(CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE);
    sc.pRangeProfilerObject = obj_;
    sc.configSize = host_->config.size();
    sc.pConfig = host_->config.data();
    sc.counterDataImageSize = data_.size();
    sc.pCounterDataImage = data_.data();
    sc.range = CUPTI_UserRange;
    sc.replayMode = CUPTI_UserReplay;
    sc.maxRangesPerPass = max_ranges_;
    sc.numNestingLevels = 1;
    sc.minNestingLevel = 1;
    sc.passIndex = 0;
    sc.targetNestingLevel = 1;
    check(cuptiRangeProfilerSetConfig(&sc), "cuptiRangeProfilerSetConfig");
  }

  CUcontext ctx_ = nullptr;
  bool initialized_ = false;
  CUpti_RangeProfiler_Object* obj_ = nullptr;
  std::string chip_;
  std::vector<uint8_t> availability_;
  std::unique_ptr<Host> host_;
  std::vector<std::string> metrics_;
  std::vector<const char*> metric_ptrs_;
  size_t max_ranges_ = 0;
  std::vector<uint8_t> data_;
};

}  // namespace

std::unique_ptr<CounterApi> make_counter_api() { return std::make_unique<LibCounters>(); }

int counter_metric_passes(const std::string& chip, const std::vector<std::string>& metrics) {
  Host host(chip, nullptr);
  return host.configure(metrics);
}

}  // namespace llmcost
