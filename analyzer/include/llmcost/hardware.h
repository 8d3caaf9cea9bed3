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

// The scale-out network between nodes (InfiniBand / RoCE), per GPU: collectives whose group spans
// more devices than one node holds run over it instead of the interconnect.
struct NetworkSpec {
  std::string name;                       // "InfiniBand NDR 400G"
  SourcedValue bw_bytes_per_s;            // per GPU, per direction (400 Gb/s = 50e9 B/s)
  std::optional<SourcedValue> latency_s;  // per collective across nodes
  SourcedValue devices_per_node;          // GPUs one node connects by the interconnect
};

// What engines reach of the datasheet figures, per device class (docs/HARDWARE.md, "Efficiency
// model"). Each figure is optional and sourced; a derated prediction uses those present.
struct EfficiencySpec {
  std::optional<SourcedValue> mem_bw_fraction;  // achievable share of memory bandwidth (0, 1]
  std::optional<SourcedValue> tensor_fraction;  // achievable share of the tensor peak for a large GEMM (0, 1]
  // Tokens through a weight per step (the GEMM's M) at which a GEMM reaches half of
  // tensor_fraction: eff(M) = tensor_fraction x M / (M + gemm_m_half).
  std::optional<SourcedValue> gemm_m_half;
  std::optional<SourcedValue> step_overhead_s;  // fixed time per forward pass (launches, scheduling, sampling)
  // Time of one collective (all-reduce, all-to-all, stage send) before its bytes move, within a
  // node; the larger of this and the interconnect's latency_s is used.
  std::optional<SourcedValue> collective_latency_s;
  bool any() const { return mem_bw_fraction || tensor_fraction || gemm_m_half || step_overhead_s || collective_latency_s; }
};

// What one device costs, from a public price page (configs/hardware/*.yaml `price:`). Prices are
// dated: they change month to month, and a figure without its date cannot be checked.
struct DatedPrice {
  double value = 0.0;
  std::string source;  // the page and what it lists ("Lambda on-demand list, 8x H100 SXM $2.99/GPU-h")
  std::string date;    // when the page said so, YYYY-MM-DD or YYYY-MM
};
struct PriceSpec {
  std::optional<DatedPrice> usd_per_device_hour;  // cloud on-demand, US dollars per device-hour
  std::optional<DatedPrice> usd_purchase;         // one device bought outright, US dollars
};

// A named set of efficiency figures fit to one engine's measurements on this hardware
// (`llmcost calibrate --from`), chosen with `predict --profile NAME`: its figures replace the
// efficiency block's, figure by figure.
struct EfficiencyProfile {
  std::string name;     // "vllm": what --profile takes
  std::string engine;   // "vllm-0.11", as the measurements name it
  std::string fitted_on;  // what it was fit to, for people to read
  EfficiencySpec efficiency;
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
  std::optional<NetworkSpec> network;  // between nodes; absent = every layout is one node
  EfficiencySpec efficiency;
  std::vector<EfficiencyProfile> profiles;  // `profiles:` (optional), in file order
  CalibratedSpec calibrated;
  PriceSpec price;
  std::vector<std::string> aliases;  // other names --hw takes (matched without regard to case)
  // Set by load_hardware when the name given was an alias or differed in case: which part was
  // chosen for it ("h100 -> h100-sxm (NVIDIA H100 SXM5 80GB HBM3)"); empty otherwise.
  std::string resolved_note;

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

// Which figures a prediction uses. Datasheet: the pure roofline (calibrated measurements where the
// YAML has them, else peaks; no efficiency factors, no step overhead). Derated (the default): the
// efficiency block's factors on top, where the YAML has one.
enum class EfficiencyMode { Derated, Datasheet };
const char* efficiency_mode_name(EfficiencyMode m);  // "derated", "datasheet"
std::optional<EfficiencyMode> parse_efficiency_mode(const std::string& name);

// The efficiency factors one prediction applies (all 1 / 0 for a pure roofline) and what they are.
struct AppliedEfficiency {
  std::string label;  // "datasheet", "derated", "calibrated" or "calibrated+derated"
  double mem_bw_fraction = 1.0;  // applied to the datasheet bandwidth only (a calibrated one is achieved already)
  double tensor_fraction = 1.0;  // applied to datasheet peaks only
  double gemm_m_half = 0.0;      // 0: no small-M falloff
  double step_overhead_s = 0.0;
  double collective_latency_s = 0.0;  // 0: the interconnect's latency_s alone
  std::vector<std::string> figures;  // "mem_bw_fraction 0.8 (source)", ...
  // FLOP/s of a GEMM with `m` rows through the weight at `rate` (a calibrated rate skips tensor_fraction).
  double gemm_rate(double rate, double m, bool calibrated) const;
};
AppliedEfficiency applied_efficiency(const HardwareSpec& hw, EfficiencyMode mode);

// `hw` with profile `name`'s figures in place of its efficiency block's; an empty name returns hw.
// Throws Error naming the file and the profiles it has when there is no such profile.
HardwareSpec apply_profile(const HardwareSpec& hw, const std::string& name);

// Parse a hardware document. `file` names it in errors. Throws ConfigError.
HardwareSpec parse_hardware(const Value& doc, const std::string& file);

// <config_dir>/hardware/*.yaml, parsed, sorted by name.
std::vector<HardwareSpec> list_hardware(const std::string& config_dir);

// A path to a hardware YAML, or a bundled name (file stem, `name:` or one of `aliases:`, any case;
// resolved_note says which part an alias chose). Unknown names throw an Error that suggests the
// closest bundled names and lists the known ones.
HardwareSpec load_hardware(const std::string& spec, const std::string& config_dir);

}  // namespace llmcost
