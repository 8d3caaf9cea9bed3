// LLMCOST_HD: `__host__ __device__` inline under nvcc, plain `inline` under the host compiler, for
// the few functions both the CPU code and the CUDA kernels call (synthetic.h, cuda/kernel_math.h).
#pragma once

#if defined(__CUDACC__)
#define LLMCOST_HD __host__ __device__ __forceinline__
#else
#define LLMCOST_HD inline
#endif
