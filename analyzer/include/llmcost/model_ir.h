// ModelIR: the single description of a model that the cost model and the runner both walk.
// Family builders (families.h) produce it from a config; nothing downstream looks at a
// family name again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmcost {

// Breakdown bucket of a weight (README "What the numbers mean"). Order is the report order.
enum class ParamGroup { Embedding, Attention, Mlp, ExpertsRouted, ExpertsShared, Router, Norm, LmHead, Other };
constexpr int kNumParamGroups = 9;
const char* param_group_name(ParamGroup g);  // "embedding", "attention", "mlp", ...

// How a tensor is used per token.
enum class TensorUse {
  Matmul,   // a linear weight: 2 FLOPs per element per token, quantizable
  Gather,   // a lookup table (token / position embedding): one row read per token
  Vector,   // norm scales, biases, sinks, router bias: elementwise, not quantized
};

// What a tensor is for, whatever a checkpoint calls it (llama.cpp's `llm_tensor` idea). Family
// files give every tensor a role; quantization, weight loading and the runner read roles, never
// checkpoint name strings. A role is one weight slot of its op; its bias (if any) is a second
// tensor of the same role with `Tensor::bias` set. Whether an Ffn* tensor is a dense MLP's, a
// routed expert's or a shared expert's is said by its op's kind.
enum class TensorRole {
  TokenEmbedding,     // [vocab, d_model] gathered table
  PositionEmbedding,  // [n_positions, d_model] learned absolute positions (gpt2)
  LmHead,             // [vocab, d_model] output projection
  Norm,               // a norm op's scale (bias: LayerNorm's shift)
  AttnQ, AttnK, AttnV,
  AttnQkv,            // fused q/k/v (phi3 qkv_proj, gpt2 c_attn)
  AttnOut,
  AttnQNorm, AttnKNorm,  // per-head or full-width q/k norm scales
  AttnSinks,          // learned per-head attention sinks (gpt-oss)
  AttnOutGate,        // separate sigmoid output-gate projection [n_heads x v_head_dim, d_model] (Kimi gated MLA g_proj)
  MlaQA, MlaQANorm, MlaQB,  // MLA query low-rank down-projection, its norm, up-projection
  MlaKvA,             // MLA kv down-projection (latent + decoupled rope key: kv_a_proj_with_mqa)
  MlaKvANorm,         // norm of the kv latent
  MlaKvB,             // MLA kv up-projection ([n_heads x (qk_nope + v_head), kv_lora_rank])
  // DeepSeek Sparse Attention lightning indexer (DeepSeek-V3.2, GLM-5): picks the index_topk
  // positions each query attends.
  IndexerQB,          // query up-projection from the q latent [index_n_heads x index_head_dim, q_lora_rank]
  IndexerK,           // single key head [index_head_dim, d_model]
  IndexerKNorm,       // LayerNorm of the key (weight + bias) [index_head_dim]
  IndexerWeightsProj, // per-head score weights [index_n_heads, d_model]
  FfnGate, FfnUp, FfnGateUp, FfnDown,
  FfnOutGate,         // scalar sigmoid gate on a shared expert's output ([1, d_model], qwen2_moe)
  Router,             // expert scoring linear [n_experts, d_model]
  RouterCorrectionBias,  // selection-only bias per expert (DeepSeek-V3 e_score_correction_bias)
  MtpEmbedNorm, MtpHiddenNorm,  // multi-token prediction: norms of the embedding / hidden input
  MtpProj,            // multi-token prediction: [d_model, 2 d_model] projection of both
  MtpHeadNorm,        // multi-token prediction: norm before the shared head
  // Attention Residuals (Kimi K3): each sublayer reads a softmax mix of block residuals, scored by a
  // [1, d_model] projection of their RMSNorm (the norm's scale is a Norm tensor of the same op).
  AttnResProj,
  // Recurrent token mixers (Gated DeltaNet, Kimi Delta Attention, Mamba-2).
  RecInProj,          // fused input projection (qwen3_next in_proj_qkvz, qwen3_5 in_proj_qkv, Mamba-2 in_proj)
  RecInProjBA,        // fused beta + decay-input projection (qwen3_next in_proj_ba)
  RecQ, RecK, RecV,   // separate q / k / v projections (KDA q_proj, k_proj, v_proj)
  RecConv,            // depthwise causal conv1d [conv_dim, 1, kernel] over the fused channels (bias: its bias)
  RecConvQ, RecConvK, RecConvV,  // one conv per q / k / v (KDA q_conv1d, k_conv1d, v_conv1d)
  RecGate,            // output gate projection (qwen3_5 in_proj_z, KDA full-rank g_proj)
  RecGateA, RecGateB, // low-rank output gate (KDA g_a_proj, g_b_proj)
  RecBeta,            // per-head beta (write strength) projection (qwen3_5 in_proj_b, KDA b_proj)
  RecDecay,           // per-head decay input projection (qwen3_5 in_proj_a)
  RecDecayA, RecDecayB,  // low-rank per-channel decay projection (KDA f_a_proj, f_b_proj)
  RecDtBias,          // time-step bias
  RecALog,            // per-head (or per-channel) log decay
  RecD,               // Mamba-2 skip D per head
  RecNorm,            // gated RMSNorm on the mixer output
  RecOutProj,         // output projection back to d_model
  // Latent MoE: the routed experts run in a narrower (latent) space; every token is projected down
  // before them and back up after them. Stored once, used by every token, not per-expert copies.
  // Nemotron-3 Super / Ultra: fc1/fc2_latent_proj on the Router op; Kimi K3:
  // routed_expert_down_proj / routed_expert_up_proj (and an RMSNorm of the weighted sum between).
  MoeLatentIn,        // [latent, d_model]
  MoeLatentOut,       // [d_model, latent]
  // Gemma 4 router: the router's input is RMS-normed (no weight), scaled by d^-0.5 and by a learned
  // per-dimension scale; the renormalized top-k weights are multiplied by a learned per-expert scale.
  RouterInputScale,   // [d_model]
  RouterExpertScale,  // [n_experts]
  // Per-layer embeddings (Gemma 3n / Gemma 4 PLE): a second token table holds a ple-wide input for
  // every layer; a projection of the token embedding is added to it; each layer gates its own slice
  // into the residual stream.
  PleEmbedding,       // [vocab_per_layer, n_layers x ple] gathered table
  PleModelProj,       // [n_layers x ple, d_model] projection of the token embedding
  PleGate,            // per layer: [ple, d_model] gate from the residual
  PleProj,            // per layer: [d_model, ple] projection back to the residual
  // A sublayer replaced by one [d_model, d_model] linear map, no attention and no activation
  // (DeciLM / Nemotron-NAS replace_with_linear: self_attn.linear_attn, mlp.linear_mlp).
  LinearReplacement,
  // DeepSeek-V4 (inference/model.py): one shared K=V head, grouped low-rank output, KV compressors,
  // hyper-connections, hash routing, MTP e/h projections.
  AttnKv,             // the single K=V head projection wkv [head_dim, d_model] (its RMSNorm: AttnKNorm)
  AttnOutA,           // grouped output wo_a [o_groups x o_lora_rank, n_heads x head_dim / o_groups]
  AttnOutB,           // output wo_b [d_model, o_groups x o_lora_rank]
  CompKv, CompGate,   // compressor wkv / wgate [coff x head_dim, d_model] (coff 2 with overlapping windows)
  CompPosBias,        // compressor ape [compress_ratio, coff x head_dim] (added to the gate scores)
  CompNorm,           // compressor RMSNorm [head_dim]
  IndexerCompKv, IndexerCompGate, IndexerCompPosBias, IndexerCompNorm,  // the indexer's own compressor
  HcFn,               // hyper-connection mix projection [(2 + hc) x hc or hc, hc x d_model]
  HcBase,             // its bias [(2 + hc) x hc or hc]
  HcScale,            // its 3 (or 1) scales
  RouterHashTable,    // hash routing tid2eid [vocab, top_k] expert ids per token id (gathered)
  MtpEProj, MtpHProj, // multi-token prediction: [d_model, d_model] projections of the embedding / hidden
};
const char* tensor_role_name(TensorRole r);  // "attn_q", "ffn_down", ...

// How one tensor is stored in a checkpoint: its element type, how elements are packed, and the
// scales / zero points / per-tensor scalars stored beside it. `stored_bytes` (analyzer/cost/quant.cpp)
// is the one formula turning a format and a [rows, row_len] shape into bytes; the what-if schemes
// (quant.h) and the formats a checkpoint ships (analyzer/ir/shipped_quant.cpp) are both written as
// StoredFormats. rows = out features, row_len = in features for nn.Linear.
enum class StoredElem : uint8_t { F32, BF16, F16, FP8E4M3, Int, E2M1, NF4, FP4 };
enum class StoredScale : uint8_t { None, F32, F16, BF16, FP8E4M3, E8M0, U8 };
// The axis elements are packed along: along a row (the input features), across rows (AWQ packs the
// output features), or over the flattened tensor (bitsandbytes).
enum class StoredPack : uint8_t { Row, Col, Flat };
enum class StoredCompute : uint8_t { BF16, FP32, FP8, INT8, FP4 };  // arithmetic the matmul runs in

struct StoredFormat {
  StoredElem elem = StoredElem::BF16;
  uint8_t bits = 16;                        // bits per element
  StoredPack pack = StoredPack::Row;
  uint8_t word_bits = 8;                    // packing word: 8 (uint8) or 32 (int32)
  bool pad_to_block = false;                // a row's elements fill whole scale blocks (MXFP4 / NVFP4 blocks)
  int32_t block_rows = 0, block_cols = 0;   // one scale per block_rows x block_cols (0: the whole axis);
                                            //   Flat: one scale per block_cols elements
  StoredScale scale = StoredScale::None;
  uint8_t zero_bits = 0;                    // zero point per scale (0: none)
  StoredPack zero_pack = StoredPack::Col;   // Col: packed across the rows of the scale grid; Flat: over all
  uint8_t zero_word_bits = 32;
  int32_t nested_block = 0;                 // Flat: scales quantized again, one fp32 per nested_block scales
  uint8_t index_bytes_per_col = 0;          // per input feature (GPTQ g_idx: int32)
  int32_t fixed_bytes = 0;                  // per tensor: global / input scales, quant maps, stored shape
  StoredCompute compute = StoredCompute::BF16;
};
bool operator==(const StoredFormat& a, const StoredFormat& b);

struct Tensor {
  TensorRole role = TensorRole::Norm;
  bool bias = false;           // the role's bias vector rather than its weight
  // Full name in the checkpoint, e.g. "model.layers.3.self_attn.q_proj.weight". Routed experts
  // stored one module per expert carry the placeholder "{e}" for the expert index
  // (expert_checkpoint_name fills it in); stacked experts name the one [n_experts, ...] tensor.
  std::string checkpoint_name;
  std::vector<int64_t> shape;  // as stored in the checkpoint ([out, in] for nn.Linear)
  TensorUse use = TensorUse::Matmul;
  ParamGroup group = ParamGroup::Other;
  // True for the lm_head when embeddings are tied: multiplied every token but stored once
  // (under the embedding), so it adds no parameters.
  bool tied = false;
  int64_t numel = 0;  // product of shape (checked for overflow when built)
  // For Matmul tensors: the reduction (input) dimension and the output dimension.
  int64_t in_features = 0;
  int64_t out_features = 0;
  // As the checkpoint stores it (set by the loader from quantization_config / hf_quant_config.json
  // and the config's dtype; bf16 until then).
  StoredFormat stored;
};

enum class OpKind {
  TokenEmbedding,     // gather rows of [vocab, d_model]
  PositionEmbedding,  // learned absolute positions (gpt2)
  Norm,               // RMSNorm / LayerNorm on the residual stream
  Attention,          // projections + core attention (MHA/GQA/MQA or MLA)
  Mlp,                // dense MLP (gated or not)
  Router,             // expert scoring linear (+ bias / correction bias)
  RoutedExperts,      // n_experts experts of which top_k run per token; tensors are ONE expert's
  SharedExperts,      // always-on expert(s) (+ optional sigmoid gate)
  LmHead,             // final projection to the vocabulary
  // Recurrent token mixer: linear attention (Gated DeltaNet, KDA) or a Mamba-2 SSM. Keeps a
  // constant-size state per sequence (conv state + recurrent state) instead of a KV cache.
  Recurrent,
};
const char* op_kind_name(OpKind k);

enum class NormType { RMSNorm, LayerNorm, L2Norm };
// SwiGLUClamped: gpt-oss. ReLU2: squared ReLU, relu(x)^2 (Nemotron-H's "relu2"). SiTU: Kimi K3's
// gate beta*tanh(g/beta)*sigmoid(g) times up capped at linear_beta*tanh(u/linear_beta).
enum class Activation { SiLU, GeLU, GeLUTanh, ReLU, SwiGLUClamped, ReLU2, SiTU };
const char* activation_name(Activation a);

enum class AttentionType { Standard, MLA };

struct AttentionSpec {
  AttentionType type = AttentionType::Standard;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // Standard: KV heads (MHA == n_heads, MQA == 1). MLA: n_heads.
  int64_t head_dim = 0;    // Standard: q/k/v head dim. MLA: qk_nope + qk_rope.
  int64_t v_head_dim = 0;  // value head dim (== head_dim for Standard)
  // MLA
  int64_t q_lora_rank = 0;  // 0: no q compression (q_proj directly)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  // Locality: 0 = full causal attention.
  int64_t sliding_window = 0;   // attends to the last `sliding_window` tokens
  int64_t chunk_size = 0;       // Llama 4 chunked attention: attends within fixed chunks
  bool use_rope = true;         // false for Llama 4 NoPE layers
  bool qk_norm = false;         // per-head RMSNorm (qwen3/gemma3) or L2 (llama4) or full-width (olmo2)
  bool sinks = false;           // gpt-oss learned attention sinks
  bool output_gate = false;     // a sigmoid gate on the output (qwen3_next: from q_proj; Kimi MLA: a separate g_proj, role AttnOutGate)
  double logit_softcap = 0.0;   // gemma2
  double rope_theta = 10000.0;
  double partial_rotary_factor = 1.0;
  double scale = 0.0;  // softmax scale; 0 = 1/sqrt(head_dim)
  // DeepSeek Sparse Attention: each query attends at most `index_topk` positions (0 = all),
  // chosen by a lightning indexer of index_n_heads heads of index_head_dim over all positions.
  int64_t index_topk = 0;
  int64_t index_n_heads = 0;
  int64_t index_head_dim = 0;
  // KV sharing (Gemma 3n / Gemma 4 num_kv_shared_layers): this layer attends the keys and values
  // cached by layer `kv_shared_from` and stores none of its own (no k/v projections, no cache);
  // -1: its own cache.
  int64_t kv_shared_from = -1;
  bool v_norm = false;  // parameter-free RMSNorm of the values per head (Gemma 4)
  // IndexCache (GLM-5.2 indexer_types "shared"): this layer has no indexer of its own (index_n_heads
  // 0, no indexer weights, no indexer key cache) and attends the index_topk positions picked by the
  // indexer of layer `index_source_layer`. -1: the layer runs its own indexer (or has none).
  int64_t index_source_layer = -1;
  // Compressed attention (DeepSeek-V4): besides the raw sliding window of `sliding_window` tokens,
  // the layer caches one compressed entry per `compress_ratio` tokens (0: none) and attends all of
  // them, or the index_topk its indexer picks. The indexer (index_n_heads > 0) keeps its own
  // compressed keys, one per compress_ratio tokens.
  int64_t compress_ratio = 0;
  bool compress_overlap = false;  // overlapping windows (ratio 4): the compressor state holds 2 windows
  // K and V are one cached vector of head_dim per KV head (DeepSeek-V4 MQA: n_kv_heads 1, head_dim 512).
  bool shared_kv = false;
};

enum class RecurrentType { GatedDeltaNet, KimiDelta, Mamba2 };
const char* recurrent_type_name(RecurrentType t);  // "gated_deltanet", "kimi_delta", "mamba2"

// A recurrent mixer's shape. Each of n_heads heads keeps a k_head_dim x v_head_dim state matrix
// (DeltaNet / KDA: key dim x value dim; Mamba-2: d_state x head_dim); a depthwise causal conv over
// conv_dim channels keeps its last conv_kernel - 1 inputs.
struct RecurrentSpec {
  RecurrentType type = RecurrentType::GatedDeltaNet;
  int64_t n_heads = 0;     // value heads (DeltaNet, KDA) / SSM heads (Mamba-2)
  int64_t n_k_heads = 0;   // key heads (DeltaNet: shared by n_heads / n_k_heads value heads) / B,C groups (Mamba-2)
  int64_t k_head_dim = 0;  // key head dim / Mamba-2 ssm_state_size (N)
  int64_t v_head_dim = 0;  // value head dim / Mamba-2 head_dim (P)
  int64_t conv_dim = 0;    // channels of the causal conv (0: none)
  int64_t conv_kernel = 0;
  int state_bits = 16;       // element size of the recurrent state (config: mamba_ssm_cache_dtype ...)
  int conv_state_bits = 16;  // element size of the conv state (the model dtype)
};

struct MlpSpec {
  int64_t d_ff = 0;  // intermediate size of one MLP / one expert
  bool gated = true; // gate * up (SwiGLU/GeGLU); false: up -> act -> down (gpt2)
  Activation act = Activation::SiLU;
  double swiglu_limit = 0.0;  // gpt-oss clamp
};

enum class ScoringFunc { Softmax, Sigmoid, SqrtSoftplus };  // SqrtSoftplus: sqrt(softplus(x)) (DeepSeek-V4)

struct MoeSpec {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  ScoringFunc scoring = ScoringFunc::Softmax;
  bool norm_topk_prob = false;      // renormalize the selected weights to sum to 1
  bool softmax_after_topk = false;  // gpt-oss / llama4 style: top-k on logits, then softmax/sigmoid over the k
  int64_t n_group = 1;              // group-limited routing (DeepSeek)
  int64_t topk_group = 1;
  bool correction_bias = false;     // DeepSeek-V3 e_score_correction_bias used for selection
  double routed_scaling_factor = 1.0;
  int64_t n_shared_experts = 0;     // informational; shared experts live in their own op
  bool hash_routed = false;         // experts picked by token id from a table (DeepSeek-V4 tid2eid), not by score
};

struct Op {
  std::string name;  // IR op name, also the profiler range name: "layers.3.self_attn"
  OpKind kind = OpKind::Norm;
  int layer = -1;    // decoder layer index; -1 for embedding / final norm / lm_head
  std::vector<Tensor> tensors;  // RoutedExperts: the tensors of ONE expert
  NormType norm = NormType::RMSNorm;
  AttentionSpec attn;  // kind == Attention
  RecurrentSpec rec;   // kind == Recurrent
  MlpSpec mlp;         // Mlp, RoutedExperts, SharedExperts
  MoeSpec moe;         // Router, RoutedExperts
  double eps = 1e-6;   // Norm
  bool norm_bias = false;   // Norm: LayerNorm with a bias
  // Residual structure for executing a layer: ops with the same `sublayer` read the
  // residual stream (after any pre-norm), their outputs are summed (router + experts +
  // shared experts share one input), an optional post-norm (`post_norm`) is applied, and
  // the result is added to the residual. 0 = attention block, 1 = feed-forward block.
  int sublayer = 0;
  bool post_norm = false;       // Norm applied to the sublayer's output (gemma2/3, olmo2)
  bool experts_stacked = false; // RoutedExperts stored as one [n_experts, ...] tensor per name

  // Number of copies of `tensors` stored (n_experts for RoutedExperts, else 1).
  int64_t copies() const { return kind == OpKind::RoutedExperts ? moe.n_experts : 1; }
  // Number of copies used per token (top_k for RoutedExperts, else 1).
  int64_t active_copies() const { return kind == OpKind::RoutedExperts ? moe.top_k : 1; }
};

struct Layer {
  int index = 0;
  bool is_moe = false;
  std::vector<Op> ops;  // in execution order
};

// The quantization a checkpoint ships with (config.json quantization_config, or a ModelOpt
// hf_quant_config.json beside it), as read by analyzer/ir/shipped_quant.cpp. Each tensor's own
// format is in Tensor::stored; this says where it came from, for reports.
struct ShippedQuant {
  std::string method;       // "fp8", "mxfp4", "compressed-tensors", "gptq", "awq", "bitsandbytes", "modelopt"
  std::string source;       // the file read: ".../config.json" or ".../hf_quant_config.json"
  std::string description;  // "fp8 block 128x128 (modules_to_not_convert: lm_head, ...)"
  std::vector<int64_t> weight_block_size;  // fp8 block: {128, 128}
  std::vector<std::string> modules_to_not_convert;  // or ignore / exclude_modules, as written
  // False for a quant_method llmcost does not read: tensors are left in the config's dtype and
  // as-shipped figures refuse, naming the method.
  bool understood = true;
};

struct ModelIR {
  std::string name;          // display name (HF id when known, else file stem)
  std::string source_file;   // the config it was read from
  std::string architecture;  // family builder used: "llama", "deepseek_v3", ...
  std::string model_type;    // as written in the config
  int64_t d_model = 0;
  int64_t vocab_size = 0;
  int64_t n_layers = 0;
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  std::string torch_dtype;   // "bfloat16", ...
  double norm_eps = 1e-6;
  double final_logit_softcap = 0.0;
  double embedding_multiplier = 1.0;  // gemma scales embeddings by sqrt(d_model)
  double norm_weight_offset = 0.0;    // RMSNorm scales by (offset + w): gemma's norms use 1 + w

  std::vector<Op> pre;       // embeddings
  std::vector<Layer> layers;
  std::vector<Op> post;      // final norm, lm_head

  // Multi-token-prediction modules (DeepSeek-V3): not in `layers`, counted separately.
  int64_t n_mtp_layers = 0;
  std::vector<Layer> mtp_layers;  // each: the extra projections + a full decoder layer

  std::optional<ShippedQuant> shipped_quant;
  std::vector<std::string> notes;  // e.g. "vision tower present, not counted"
};

// Checked int64 arithmetic for sizes built from untrusted configs; throws Error on overflow.
int64_t checked_mul(int64_t a, int64_t b);
int64_t checked_add(int64_t a, int64_t b);

// Builds a Tensor, computing numel/in/out. Matmul tensors take shape [out, in] unless
// `in_axis` says which axis is the reduction axis (gpt2 Conv1D stores [in, out]).
Tensor make_tensor(TensorRole role, std::string checkpoint_name, std::vector<int64_t> shape, TensorUse use,
                   ParamGroup group, int in_axis = -1);

// The checkpoint name of expert `expert`'s copy of `t` ("{e}" replaced); other tensors' names as they are.
std::string expert_checkpoint_name(const Tensor& t, int64_t expert);

// The op's tensor of `role` (its weight, or its bias when `bias`); nullptr when the op has none.
const Tensor* find_role(const Op& op, TensorRole role, bool bias = false);

}  // namespace llmcost
