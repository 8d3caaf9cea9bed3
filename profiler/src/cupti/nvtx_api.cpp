// The nvtx3 implementation of NvtxApi: one "llmcost" domain, registered strings, push/pop.
#include <nvtx3/nvToolsExt.h>

#include "llmcost/nvtx.h"

namespace llmcost {

namespace {

class Nvtx3 final : public NvtxApi {
 public:
  // Domains live for the process (NVTX has no handle ownership to speak of): created once.
  Nvtx3() : domain_(domain()) {}
  Handle register_name(const std::string& name) override { return nvtxDomainRegisterStringA(domain_, name.c_str()); }
  void push(Handle name) override {
    nvtxEventAttributes_t a = {};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
    a.message.registered = static_cast<nvtxStringHandle_t>(const_cast<void*>(name));
    nvtxDomainRangePushEx(domain_, &a);
  }
  void pop() override { nvtxDomainRangePop(domain_); }

 private:
  static nvtxDomainHandle_t domain() {
    static nvtxDomainHandle_t d = nvtxDomainCreateA(kNvtxDomain);
    return d;
  }
  nvtxDomainHandle_t domain_;
};

}  // namespace

std::unique_ptr<NvtxApi> make_nvtx_api() { return std::make_unique<Nvtx3>(); }

}  // namespace llmcost
