// Version string of the runner module (keeps the library non-empty before its sources land).
namespace llmcost {
const char* runner_module_version() { return "0.1"; }
}  // namespace llmcost
