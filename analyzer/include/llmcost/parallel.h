// Tensor / expert / pipeline parallelism: validating a layout against a model and a device,
// and how each op's work, weights and KV divide among the devices.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llmcost/hardware.h"
#include "llmcost/model_ir.h"

namespace llmcost {

struct ParallelConfig {
  int64_t tp = 1;  // tensor parallel: heads, MLP columns and the vocabulary split tp ways
  int64_t ep = 1;  // expert parallel: routed experts split ep ways (whole experts per device group)
  int64_t pp = 1;  // pipeline parallel: contiguous layer ranges, one per stage
};

// The layout used throughout (documented so the numbers can be checked by hand):
// - A pipeline stage has D = max(tp, ep) devices; the smaller of tp and ep divides the larger.
//   Devices in total = pp x D.
// - Attention (KV cache: kv_shards ways), dense MLPs, shared experts, embeddings and lm_head are split tp ways and, when
//   ep > tp, replicated D / tp times (data-parallel attention); each replica serves
//   ceil(B / replicas) of the B sequences.
// - Routed experts: E / ep whole experts per expert group, each expert split D / ep ways, so
//   every device holds 1 / D of the expert weights and does 1 / D of the expert work.
// - Stages run one after another for a decode step (no micro-batch overlap), so pp divides
//   memory, not step latency.
struct ParallelLayout {
  ParallelConfig cfg;
  int64_t devices = 1;            // pp x devices_per_stage
  int64_t devices_per_stage = 1;  // max(tp, ep)
  int64_t attention_replicas = 1; // devices_per_stage / tp
  std::vector<int> stage_of_layer;  // decoder layer index -> pipeline stage
  // Sequences one attention replica serves out of `batch` (ceil(batch / replicas)).
  int64_t sequences_per_replica(int64_t batch) const {
    return (batch + attention_replicas - 1) / attention_replicas;
  }
};

// A layout in words, as serving engines name it: "tp 8", "tp 4 x pp 2", "dp-attention 8 x ep 8"
// (tp 1, ep 8: attention replicated, each replica its own sequences; experts split 8 ways),
// "dp-attention 2 x tp 4, ep 8", "tp 8 + ep 8" (attention split by heads, experts by expert).
std::string layout_label(const ParallelConfig& c);

// Ways one attention layer's KV cache splits over tp ranks: min(tp, n_kv_heads) for standard
// attention (tp > n_kv_heads replicates KV heads, as vLLM does); 1 for MLA, whose latent cache
// is per token and kept whole on every rank.
int64_t kv_shards(const AttentionSpec& a, int64_t tp);

// Validates `cfg` for this model on this device and lays it out. Throws Error with one line
// naming the flag and the model dimension it conflicts with (tp not dividing the heads, tp
// neither dividing nor a multiple of the KV heads, ep
// without experts, pp > layers, several devices without an interconnect ...).
ParallelLayout make_parallel_layout(const ModelIR& ir, const HardwareSpec& hw, const ParallelConfig& cfg);

}  // namespace llmcost
