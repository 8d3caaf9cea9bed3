// minimax_m2 (MiniMax-M2 / M2.1 / M2.5; transformers modeling_minimax_m2.py): Mixtral-style decoder
// (input/post-attention RMSNorm, every layer MoE of num_local_experts experts of
// intermediate_size, checkpoint names block_sparse_moe.experts.<e>.w1/w3/w2, no shared expert)
// with bias-free GQA attention whose q_norm / k_norm span the full projection width
// ([n_heads*head_dim] / [n_kv_heads*head_dim]), and a sigmoid router whose top-k are
// renormalized and picked with a selection-only e_score_correction_bias [num_local_experts]
// registered on the MoE block. The reference builds no multi-token-prediction modules, so
// use_mtp / num_mtp_modules are not counted (said in a note).
#include "../llama_like.h"

namespace llmcost {

Family family_minimax_m2() {
  LlamaLike f;
  f.arch = "minimax_m2";
  f.attn_opts = [](const ConfigReader&) { return StdAttnOpts{false, false, false, false, false, QkNorm::Full}; };
  f.experts_key = "num_local_experts";
  f.block_sparse = true;
  f.norm_topk_default = true;
  f.scoring = ScoringFunc::Sigmoid;
  f.block_correction_bias = true;
  f.note = "MTP modules (use_mtp / num_mtp_modules) are not counted: modeling_minimax_m2.py builds none";
  return llama_like_family(f, {"minimax_m2"}, {"MiniMaxM2ForCausalLM"});
}

}  // namespace llmcost
