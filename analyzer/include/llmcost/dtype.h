// The element types the runner stores matmul weights in, with their names and sizes: shared by the
// runner's backend interface, its kernels (any backend) and the CLI, so none of them depends on
// one backend's kernel header.
#pragma once

#include <cstdint>

namespace llmcost {

enum class WeightDtype { FP32, BF16 };

inline const char* weight_dtype_name(WeightDtype d) { return d == WeightDtype::BF16 ? "bf16" : "fp32"; }
inline int64_t weight_dtype_bytes(WeightDtype d) { return d == WeightDtype::BF16 ? 2 : 4; }

}  // namespace llmcost
