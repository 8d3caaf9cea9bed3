// Accelerator specs (configs/hardware/*.yaml) as typed structs: memory, bandwidth, dense peaks
// per dtype, interconnect, each number with its source, and optional calibrated measurements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/value.h"

namespace llmcost {

// Arithmetic a matmul runs in. Weight-only quantized schemes (int4, nf4, GGUF ...) compute in
// the activation dtype (bf16) after dequantizing.
enum class ComputeDtype { FP32, BF16, FP16, FP8, INT8, FP4 };
constexpr int kNumComputeDtypes = 6;
const char* compute_dtype_name(ComputeDtype d);  // "fp32", "bf16", ...
// "bf16" -> BF16 ...; nullopt for an unknown name.
std::optional<ComputeDtype> parse_compute_dtype(const std::string& name);

// A number read from a hardware YAML with the source it came from.
struct SourcedValue {
  double value = 0.0;
  std::string source;  // e.g. "S1,S2: 989 TFLOP/s dense (1,979 sparse)"
};

struct LinkSpec {
  std::string name;              // "NVLink4", "PCIe Gen4 x16"
  SourcedValue bw_bytes_per_s;   // bidirectional aggregate per device, as vendors quote it
  std::optional<SourcedValue> latency_s;  // per collective, when known
  // Bytes per second one device can send (half the bidirectional aggregate).
  double send_bw_bytes_per_s() const { return bw_bytes_per_s.value / 2.0; }
};

struct CalibratedSpec {
  std::optional<SourcedValue> read_bw_bytes_per_s;  // achievable memory read bandwidth
  std::optional<SourcedValue> gemm_flops_per_s[kNumComputeDtypes];  // achievable GEMM throughput by dtype
};

struct HardwareSpec {
  std::string name;         // "h100-sxm": what --hw takes
  std::string description;  // "NVIDIA H100 SXM5 80GB HBM3"
  std::string kind;         // "gpu" or "cpu"
  std::string source_file;  // the YAML it was read from
  SourcedValue memory_bytes;
  SourcedValue mem_bw_bytes_per_s;
  std::optional<SourcedValue> peak_flops_per_s[kNumComputeDtypes];  // dense; absent = no such unit
  std::optional<LinkSpec> interconnect;  // device-to-device link used by tp/ep/pp; absent = single device
  std::optional<LinkSpec> host_link;
  CalibratedSpec calibrated;

  const std::optional<SourcedValue>& peak(ComputeDtype d) const { return peak_flops_per_s[static_cast<int>(d)]; }
  bool is_calibrated() const;
};

// The rates a prediction uses: calibrated measurements where present, else datasheet peaks.
struct EffectiveRates {
  double mem_bw_bytes_per_s = 0.0;
  bool bw_calibrated = false;
  // Per requested dtype: the FLOP/s used and the dtype whose peak it is (a device without FP8
  // units runs FP8 weights upcast to BF16, and says so).
  double flops_per_s[kNumComputeDtypes] = {};
  ComputeDtype used_dtype[kNumComputeDtypes] = {};
  bool flops_calibrated[kNumComputeDtypes] = {};
};
EffectiveRates effective_rates(const HardwareSpec& hw);

// Parse a hardware document. `file` names it in errors. Throws ConfigError.
HardwareSpec parse_hardware(const Value& doc, const std::string& file);

// <config_dir>/hardware/*.yaml, parsed, sorted by name.
std::vector<HardwareSpec> list_hardware(const std::string& config_dir);

// A path to a hardware YAML, or a bundled name (file stem or `name:`). Unknown names throw an
// Error that lists the known ones.
HardwareSpec load_hardware(const std::string& spec, const std::string& config_dir);

}  // namespace llmcost
