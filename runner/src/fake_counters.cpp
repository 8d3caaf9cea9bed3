// The stand-in counter profiler of `llmcost run --counters fake` (CounterMode::Fake): host timing
// as the CPU profiler, and each range's bytes annotation (what the executor says the op moved)
// reported as DRAM bytes read, 0 written. It lets the counter pass, the run file's DRAM fields and
// the gpu-check summary run end to end without a device; its figures measure nothing.
#include <memory>

#include "llmcost/run.h"

namespace llmcost {

namespace {

class FakeCounterProfiler final : public Profiler {
 public:
  const char* backend() const override { return "fake"; }
  void push(std::string_view name, std::string_view category, double bytes, double flops) override {
    inner_.push(name, category, bytes, flops);
  }
  void pop() override { inner_.pop(); }
  void annotate(double bytes, double flops) override { inner_.annotate(bytes, flops); }
  std::vector<RangeRecord> records() const override {
    std::vector<RangeRecord> recs = inner_.records();
    for (RangeRecord& r : recs) {
      r.dram_read_bytes = r.bytes;
      r.dram_write_bytes = 0;
    }
    return recs;
  }
  void clear() override { inner_.clear(); }

 private:
  CpuProfiler inner_;
};

}  // namespace

std::unique_ptr<Profiler> make_fake_counter_profiler() { return std::make_unique<FakeCounterProfiler>(); }

std::optional<CounterMode> parse_counter_mode(const std::string& text) {
  if (text == "auto") return CounterMode::Auto;
  if (text == "off") return CounterMode::Off;
  if (text == "fake") return CounterMode::Fake;
  return std::nullopt;
}

}  // namespace llmcost
