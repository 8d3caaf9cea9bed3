// Version string of the profiler module (keeps the library non-empty before its sources land).
namespace llmcost {
const char* profiler_module_version() { return "0.1"; }
}  // namespace llmcost
