// NVTX range bookkeeping (name registration cache, decorator profiler); NVTX itself only via NvtxApi.
#include "llmcost/nvtx.h"

#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace llmcost {

#ifndef LLMCOST_WITH_CUPTI
// Built without CUDA: no NVTX headers to call.
std::unique_ptr<NvtxApi> make_nvtx_api() { return nullptr; }
#endif

struct NvtxRanges::Impl {
  std::unique_ptr<NvtxApi> api;
  mutable std::mutex mu;
  std::unordered_map<std::string, NvtxApi::Handle> names;
};

NvtxRanges::NvtxRanges(std::unique_ptr<NvtxApi> api) : impl_(std::make_unique<Impl>()) { impl_->api = std::move(api); }
NvtxRanges::~NvtxRanges() = default;

void NvtxRanges::push(std::string_view name) {
  if (!impl_->api) return;
  NvtxApi::Handle h = nullptr;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::string key(name);
    auto it = impl_->names.find(key);
    if (it == impl_->names.end()) it = impl_->names.emplace(key, impl_->api->register_name(key)).first;
    h = it->second;
  }
  impl_->api->push(h);  // NVTX stacks are per thread: no lock needed
}

void NvtxRanges::pop() {
  if (impl_->api) impl_->api->pop();
}

bool NvtxRanges::enabled() const { return impl_->api != nullptr; }

size_t NvtxRanges::registered_names() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->names.size();
}

NvtxProfiler::NvtxProfiler(std::unique_ptr<Profiler> inner, std::unique_ptr<NvtxApi> api)
    : inner_(std::move(inner)), nvtx_(std::move(api)) {
  if (!inner_) throw std::invalid_argument("NvtxProfiler: null inner profiler");
}
NvtxProfiler::~NvtxProfiler() = default;

void NvtxProfiler::push(std::string_view name, std::string_view category, double bytes, double flops) {
  inner_->push(name, category, bytes, flops);  // throws nothing a balanced caller provokes
  nvtx_.push(name);
}

void NvtxProfiler::pop() {
  inner_->pop();  // throws on an unbalanced pop before NVTX is touched
  nvtx_.pop();
}

}  // namespace llmcost
