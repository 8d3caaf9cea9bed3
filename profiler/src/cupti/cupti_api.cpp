// The libcupti implementation of CuptiApi (built only with CUDA): activity buffers, external
// correlation, and the join of kernel/copy records to the profiler's range ids.
#include <cuda_runtime_api.h>
#include <cupti.h>

#include <cstdlib>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "llmcost/cupti_profiler.h"
#include "llmcost/value.h"

// Unrecoverable CUPTI failures mid-run: throw with file, line and the call text.
#define LLMCOST_CUPTI_CHECK(call)                                                                      \
  do {                                                                                                 \
    CUptiResult status_ = (call);                                                                      \
    if (status_ != CUPTI_SUCCESS) {                                                                    \
      const char* msg_ = nullptr;                                                                      \
      cuptiGetResultString(status_, &msg_);                                                            \
      throw ::llmcost::Error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #call ": " + \
                             (msg_ ? msg_ : "unknown CUPTI error"));                                    \
    }                                                                                                  \
  } while (0)

namespace llmcost {

namespace {

constexpr size_t kBufferBytes = 8u << 20;
constexpr CUpti_ExternalCorrelationKind kExtKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;

// CUPTI's buffer callbacks are global C functions; they hand records to the one live wrapper.
// buffer_completed runs on a CUPTI worker thread (or inside cuptiActivityFlushAll on the
// caller's), hence the mutex.
struct Collected {
  std::mutex mu;
  bool live = false;                             // a LibCupti is started (one per process)
  uint64_t dropped = 0;                          // cumulative: CUPTI resets its count per query
  std::vector<DeviceActivity> activities;        // external_id still unresolved (0)
  std::vector<uint32_t> correlation;             // per activity: its CUDA correlation id
  std::unordered_map<uint32_t, uint64_t> ext_of; // CUDA correlation id -> our external id
};
Collected g_collected;

const char* copy_kind_name(uint8_t k) {
  switch (k) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD: return "memcpy HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH: return "memcpy DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD: return "memcpy DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP: return "memcpy PtoP";
    default: return "memcpy";
  }
}

// Buffers must be 8-byte aligned (CUPTI's requirement); aligned_alloc needs a size that is a
// multiple of the alignment, which 8 MiB is. A null buffer makes CUPTI drop records (counted).
void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  std::lock_guard<std::mutex> lock(g_collected.mu);
  CUpti_Activity* rec = nullptr;
  while (buffer && cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
    DeviceActivity a;
    uint32_t corr = 0;
    switch (rec->kind) {
      case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
      case CUPTI_ACTIVITY_KIND_KERNEL: {
        auto* k = reinterpret_cast<CUpti_ActivityKernel10*>(rec);
        a.kind = DeviceActivity::Kind::Kernel;
        a.name = k->name ? k->name : "kernel";
        a.start_ns = static_cast<int64_t>(k->start);
        a.end_ns = static_cast<int64_t>(k->end);
        a.device_id = k->deviceId;
        a.stream_id = k->streamId;
        corr = k->correlationId;
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMCPY: {
        auto* m = reinterpret_cast<CUpti_ActivityMemcpy6*>(rec);
        a.kind = DeviceActivity::Kind::Memcpy;
        a.name = copy_kind_name(m->copyKind);
        a.start_ns = static_cast<int64_t>(m->start);
        a.end_ns = static_cast<int64_t>(m->end);
        a.device_id = m->deviceId;
        a.stream_id = m->streamId;
        a.bytes = m->bytes;
        corr = m->correlationId;
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMSET: {
        auto* m = reinterpret_cast<CUpti_ActivityMemset4*>(rec);
        a.kind = DeviceActivity::Kind::Memset;
        a.name = "memset";
        a.start_ns = static_cast<int64_t>(m->start);
        a.end_ns = static_cast<int64_t>(m->end);
        a.device_id = m->deviceId;
        a.stream_id = m->streamId;
        a.bytes = m->bytes;
        corr = m->correlationId;
        break;
      }
      case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
        auto* x = reinterpret_cast<CUpti_ActivityExternalCorrelation*>(rec);
        if (x->externalKind == kExtKind) g_collected.ext_of[x->correlationId] = x->externalId;
        continue;
      }
      default:
        continue;
    }
    g_collected.activities.push_back(std::move(a));
    g_collected.correlation.push_back(corr);
  }
  std::free(buffer);
}

std::string result_text(CUptiResult r) {
  const char* msg = nullptr;
  cuptiGetResultString(r, &msg);
  std::string why = msg ? msg : "unknown CUPTI error";
  if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED) why += " (another CUPTI client, e.g. Nsight, is attached)";
  return why;
}

// Adds CUPTI's dropped-record count (reset by each query) to the cumulative one.
void collect_dropped() {
  size_t dropped = 0;
  if (cuptiActivityGetNumDroppedRecords(nullptr, 0, &dropped) == CUPTI_SUCCESS && dropped > 0) {
    std::lock_guard<std::mutex> lock(g_collected.mu);
    g_collected.dropped += dropped;
  }
}

constexpr CUpti_ActivityKind kKinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,
                                         CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION};

class LibCupti final : public CuptiApi {
 public:
  ~LibCupti() override {
    if (started_) stop();
  }
  std::string probe() override {
    {
      std::lock_guard<std::mutex> lock(g_collected.mu);
      if (g_collected.live) return "another CuptiProfiler is active in this process (CUPTI activity buffers are per process)";
    }
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    // Any error means "no usable GPU": without a driver this is "driver version is insufficient".
    if (e != cudaSuccess) return std::string("no CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(e) + ")";
    if (n == 0) return "no CUDA device";
    CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
    if (r != CUPTI_SUCCESS) return "cuptiActivityRegisterCallbacks: " + result_text(r);
    return "";
  }
  void start() override {
    {
      std::lock_guard<std::mutex> lock(g_collected.mu);
      if (g_collected.live)
        throw Error("another CuptiProfiler is active in this process (CUPTI activity buffers are per process)",
                    ErrorKind::DeviceUnavailable);
      g_collected.live = true;  // claimed now, released below on failure or in stop()
    }
    // CONCURRENT_KERNEL rather than KERNEL: KERNEL serializes kernels and changes the timings.
    // All or nothing: a kind that cannot be enabled (e.g. Nsight attached) disables the others.
    for (size_t i = 0; i < sizeof(kKinds) / sizeof(kKinds[0]); ++i) {
      CUptiResult r = cuptiActivityEnable(kKinds[i]);
      if (r != CUPTI_SUCCESS) {
        for (size_t j = 0; j < i; ++j) cuptiActivityDisable(kKinds[j]);
        std::lock_guard<std::mutex> lock(g_collected.mu);
        g_collected.live = false;
        throw Error("cuptiActivityEnable: " + result_text(r), ErrorKind::DeviceUnavailable);
      }
    }
    std::lock_guard<std::mutex> lock(g_collected.mu);
    g_collected.dropped = 0;
    g_collected.activities.clear();
    g_collected.correlation.clear();
    g_collected.ext_of.clear();
    started_ = true;
  }
  void stop() override {
    if (!started_) return;
    cudaDeviceSynchronize();
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    for (CUpti_ActivityKind k : kKinds) cuptiActivityDisable(k);
    std::lock_guard<std::mutex> lock(g_collected.mu);
    g_collected.ext_of.clear();
    g_collected.activities.clear();
    g_collected.correlation.clear();
    g_collected.live = false;
    started_ = false;
  }
  void push_external_id(uint64_t id) override { LLMCOST_CUPTI_CHECK(cuptiActivityPushExternalCorrelationId(kExtKind, id)); }
  void pop_external_id() override {
    uint64_t last = 0;
    LLMCOST_CUPTI_CHECK(cuptiActivityPopExternalCorrelationId(kExtKind, &last));
  }
  std::vector<DeviceActivity> flush() override {
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) throw Error(std::string("cudaDeviceSynchronize: ") + cudaGetErrorString(e));
    // FORCED: also the buffers that are not full yet (the default flushes only completed ones).
    LLMCOST_CUPTI_CHECK(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
    collect_dropped();
    std::lock_guard<std::mutex> lock(g_collected.mu);
    std::vector<DeviceActivity> out = std::move(g_collected.activities);
    uint32_t max_corr = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const uint32_t corr = g_collected.correlation[i];
      auto it = g_collected.ext_of.find(corr);
      if (it != g_collected.ext_of.end()) out[i].external_id = it->second;
      if (corr > max_corr) max_corr = corr;
    }
    g_collected.activities.clear();
    g_collected.correlation.clear();
    // Correlation ids grow with every API call. After the synchronize + forced flush every
    // launch up to max_corr has delivered its activity (a graph launch delivers several with
    // one id), so their entries go; later ones may still be in flight from other threads.
    for (auto it = g_collected.ext_of.begin(); it != g_collected.ext_of.end();)
      it = it->first <= max_corr ? g_collected.ext_of.erase(it) : std::next(it);
    return out;
  }
  uint64_t dropped_records() override {
    collect_dropped();
    std::lock_guard<std::mutex> lock(g_collected.mu);
    return g_collected.dropped;
  }
  int64_t timestamp_ns() override {
    uint64_t t = 0;
    LLMCOST_CUPTI_CHECK(cuptiGetTimestamp(&t));
    return static_cast<int64_t>(t);
  }

 private:
  bool started_ = false;
};

}  // namespace

std::unique_ptr<CuptiApi> make_cupti_api() { return std::make_unique<LibCupti>(); }

}  // namespace llmcost
